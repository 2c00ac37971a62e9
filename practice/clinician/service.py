"""A therapist's own settings and the practice's roster, changed in single transactions."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from practice import timefmt
from practice.auth.models import StaffUser
from practice.auth.service import create_staff_user
from practice.booking.models import (
    AvailabilityWindow,
    Consultation,
    Therapist,
    TimeOffPeriod,
)


def therapist_for(session: Session, user: StaffUser) -> Therapist | None:
    return (
        session.scalars(select(Therapist).where(Therapist.user_id == user.id))
        .unique()
        .one_or_none()
    )


def save_availability(
    session: Session, therapist: Therapist, settings: dict, windows: list[tuple[int, time, time]]
) -> None:
    """Replace the rules and the weekly windows together: a half-saved week never shows."""
    for key, value in settings.items():
        setattr(therapist, key, value)
    therapist.windows = [
        AvailabilityWindow(weekday=d, start_time=s, end_time=e) for d, s, e in windows
    ]
    session.commit()


def add_time_off(session: Session, therapist: Therapist, first_day: date, last_day: date) -> None:
    therapist.time_off.append(TimeOffPeriod(first_day=first_day, last_day=last_day))
    session.commit()


def remove_time_off(session: Session, therapist: Therapist, period_id: int) -> bool:
    period = session.get(TimeOffPeriod, period_id)
    if period is None or period.therapist_id != therapist.id:
        return False
    session.delete(period)
    session.commit()
    return True


def local_midnight(now: datetime, zone: str) -> datetime:
    """The start of today in `zone`, as a UTC time."""
    tzinfo = timefmt.zone_or_none(zone) or UTC
    return datetime.combine(now.astimezone(tzinfo).date(), time(0), tzinfo).astimezone(UTC)


def upcoming(session: Session, now: datetime, therapist: Therapist | None) -> list[Consultation]:
    """Booked consultations from today on (and recent ones still to be marked).

    "Today" is the therapist's own: it starts at midnight where they work, not in UTC. The
    whole practice's schedule (therapist None) uses each therapist's own today.
    """
    if therapist is not None:
        zones = [(therapist.id, therapist.timezone)]
    else:
        zones = list(session.execute(select(Therapist.id, Therapist.timezone)))
    if not zones:
        return []
    from_today = or_(
        *(
            and_(
                Consultation.therapist_id == therapist_id,
                Consultation.ends_at >= local_midnight(now, zone),
            )
            for therapist_id, zone in zones
        )
    )
    stmt = (
        select(Consultation)
        .where(from_today, Consultation.status != "cancelled")
        .order_by(Consultation.starts_at)
        .limit(500)
    )
    return list(session.scalars(stmt).unique())


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "therapist"


def unique_slug(session: Session, name: str) -> str:
    base = slugify(name)[:70]
    slug, n = base, 2
    while session.scalars(select(Therapist.id).where(Therapist.slug == slug)).first() is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def add_therapist(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    timezone: str,
    credentials: str = "",
    bio: str = "",
    role: str = "therapist",
) -> Therapist:
    """A staff account and its bookable profile, created together."""
    user = create_staff_user(session, email, name, role, password)
    therapist = Therapist(
        user=user,
        slug=unique_slug(session, name),
        display_name=name.strip(),
        credentials=credentials,
        bio=bio,
        timezone=timezone,
    )
    session.add(therapist)
    session.commit()
    return therapist
