"""A therapist's own settings and the practice's roster, changed in single transactions."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def upcoming(session: Session, now: datetime, therapist: Therapist | None) -> list[Consultation]:
    """Booked consultations from today on (and recent ones still to be marked)."""
    stmt = (
        select(Consultation)
        .where(
            Consultation.ends_at >= now.replace(hour=0, minute=0, second=0, microsecond=0),
            Consultation.status != "cancelled",
        )
        .order_by(Consultation.starts_at)
        .limit(500)
    )
    if therapist is not None:
        stmt = stmt.where(Consultation.therapist_id == therapist.id)
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
