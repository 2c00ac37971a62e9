"""Booking operations: open slots, book, reschedule and cancel, each in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from practice.booking import slots
from practice.booking.models import (
    AvailabilityWindow,
    Consultation,
    Therapist,
    TimeOffPeriod,
    _new_nonce,
    rules_from,
)
from practice.db import single_read, write_transaction

# Called inside the transaction so the emails are written with the change they announce.
Notify = Callable[[Session, Consultation, str], None]


@dataclass(frozen=True)
class ClientDetails:
    name: str
    email: str
    timezone: str
    phone: str = ""
    kind: str = "individual"
    partner_name: str = ""
    partner_email: str = ""
    note: str = ""


class SlotTaken(Exception):
    """The time is no longer open; `nearest` holds the closest open slots to offer instead.

    `booked_by_someone` says why, so the client is told the truth: another booking holds it,
    or it is simply not (or no longer) one of the therapist's times (notice, hours, horizon)."""

    def __init__(self, nearest: list[slots.Slot], booked_by_someone: bool = True) -> None:
        super().__init__("that time is no longer open")
        self.nearest = nearest
        self.booked_by_someone = booked_by_someone


def _refusal(rules: slots.AvailabilityRules, busy, now: datetime, start: datetime) -> SlotTaken:  # noqa: ANN001
    return SlotTaken(
        slots.nearest_open(rules, busy, now, start),
        booked_by_someone=slots.is_open(rules, (), now, start),
    )


class NotBookable(Exception):
    """The therapist does not exist or is not accepting new clients."""


class AlreadyStarted(Exception):
    """A client tried to cancel a consultation at or after its start: too late to free it."""


class KeyReused(Exception):
    """An idempotency key already used for a different booking (therapist, time or email)."""


@dataclass(frozen=True)
class Booking:
    consultation: Consultation
    created: bool  # False when an idempotency key matched an earlier request


def busy_intervals(
    session: Session, therapist_id: int, within: slots.Interval, ignore_id: int | None = None
) -> list[slots.Interval]:
    """Held time that overlaps `within`: an index range scan, whatever the history's size."""
    stmt = select(Consultation.blocked_start, Consultation.blocked_end).where(
        Consultation.therapist_id == therapist_id,
        Consultation.blocked_end > within.start,
        Consultation.blocked_start < within.end,
        Consultation.status != "cancelled",
    )
    if ignore_id is not None:
        stmt = stmt.where(Consultation.id != ignore_id)
    return [slots.Interval(start, end) for start, end in session.execute(stmt)]


_THERAPIST = Therapist.__table__
_WINDOW = AvailabilityWindow.__table__
_TIME_OFF = TimeOffPeriod.__table__
# Built once: on the busiest page, building a statement costs more than running it.
_PAGE_ROW = select(_THERAPIST).where(_THERAPIST.c.slug == bindparam("slug"))
_WINDOWS = select(_WINDOW.c.weekday, _WINDOW.c.start_time, _WINDOW.c.end_time).where(
    _WINDOW.c.therapist_id == bindparam("therapist_id")
)
_DAYS_OFF = select(_TIME_OFF.c.first_day, _TIME_OFF.c.last_day).where(
    _TIME_OFF.c.therapist_id == bindparam("therapist_id")
)


def therapist_page(session: Session, slug: str) -> Row | None:
    """What the public slot page shows of a therapist: their row as plain values, in one small
    read. With the minute and the visitor's view it decides the whole page (the row carries
    schedule_version), so the row is the page's cache key."""
    with single_read(session) as reader:
        return reader.execute(_PAGE_ROW, {"slug": slug}).first()


def page_rules(session: Session, page: Row) -> slots.AvailabilityRules:
    """The availability rules behind a page: read only when its slot list must be rendered."""
    windows = session.execute(_WINDOWS, {"therapist_id": page.id}).all()
    time_off = session.execute(_DAYS_OFF, {"therapist_id": page.id}).all()
    return rules_from(page, windows, time_off)


def open_slots(
    session: Session,
    therapist: Therapist,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[slots.Slot]:
    rules = therapist.rules()
    busy = busy_intervals(session, therapist.id, slots.lookup_range(rules, now))
    return slots.open_slots(rules, busy, now, start=start, end=end)


def rules_for_move(therapist: Therapist) -> slots.AvailabilityRules:
    """A client already booked may move even when the therapist takes no new clients."""
    return replace(therapist.rules(), accepting_new_clients=True)


def slots_for_move(
    session: Session, consultation: Consultation, now: datetime, start: datetime, end: datetime
) -> list[slots.Slot]:
    """Where a booked consultation could move to: its own time counts as free."""
    rules = rules_for_move(consultation.therapist)
    busy = busy_intervals(
        session, consultation.therapist_id, slots.lookup_range(rules, now), consultation.id
    )
    return slots.open_slots(rules, busy, now, start=start, end=end)


def bookable_therapists(session: Session) -> list[Therapist]:
    stmt = (
        select(Therapist)
        .where(Therapist.accepting_new_clients.is_(True))
        .order_by(Therapist.display_name)
    )
    return list(session.scalars(stmt).unique())


def first_available(
    session: Session, now: datetime, count: int = 12
) -> list[tuple[slots.Slot, Therapist]]:
    """The soonest open slots across every therapist taking new clients."""
    found = [
        (slot, therapist)
        for therapist in bookable_therapists(session)
        for slot in open_slots(session, therapist, now)[:count]
    ]
    found.sort(key=lambda pair: (pair[0].start, pair[1].display_name))
    return found[:count]


def _lock_therapist(session: Session, therapist_id: int) -> Therapist | None:
    """Open the write transaction and hold the therapist's row: rival bookings queue here."""
    write_transaction(session)
    return hold_therapist_row(session, therapist_id)


def hold_therapist_row(session: Session, therapist_id: int) -> Therapist | None:
    """Lock the therapist's row (PostgreSQL; SQLite's write lock already covers it).

    Every writer that changes held time takes this row before the consultation's: the schedule
    version trigger (migration 0007) updates it too, and one order means no deadlock.
    """
    stmt = select(Therapist).where(Therapist.id == therapist_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Therapist)
    return session.scalars(stmt.execution_options(populate_existing=True)).unique().one_or_none()


def find_by_idempotency_key(session: Session, key: str) -> Consultation | None:
    return session.scalars(
        select(Consultation).where(Consultation.idempotency_key == key)
    ).one_or_none()


def _repeat_of(
    session: Session, key: str, therapist_id: int, start: datetime, email: str
) -> Consultation | None:
    """The booking this key made, if this is the same request again; KeyReused if the key
    made a different one: a key alone must never hand out someone else's booking (and link)."""
    earlier = find_by_idempotency_key(session, key)
    if earlier is None:
        return None
    if (
        earlier.therapist_id != therapist_id
        or earlier.starts_at != start
        or earlier.client_email.casefold() != email.casefold()
    ):
        session.rollback()
        raise KeyReused
    return earlier


def book(
    session: Session,
    therapist_id: int,
    start: datetime,
    client: ClientDetails,
    idempotency_key: str,
    now: datetime,
    notify: Notify,
) -> Booking:
    """Book `start` if it is still open; a repeated request (same key, therapist, time and
    email) returns the first booking unchanged; the key with other details is KeyReused."""
    earlier = _repeat_of(session, idempotency_key, therapist_id, start, client.email)
    if earlier is not None:
        return Booking(earlier, created=False)

    therapist = _lock_therapist(session, therapist_id)
    if therapist is None or not therapist.accepting_new_clients:
        session.rollback()
        raise NotBookable
    # Checked again under the lock: a rival may have committed since this client saw the page.
    earlier = _repeat_of(session, idempotency_key, therapist_id, start, client.email)
    if earlier is not None:
        session.rollback()
        return Booking(earlier, created=False)
    rules = therapist.rules()
    busy = busy_intervals(session, therapist.id, slots.lookup_range(rules, now))
    if not slots.is_open(rules, busy, now, start):
        session.rollback()
        raise _refusal(rules, busy, now, start)

    blocked = slots.blocked_interval(rules, start)
    consultation = Consultation(
        therapist_id=therapist.id,
        starts_at=start,
        ends_at=start + rules.length,
        blocked_start=blocked.start,
        blocked_end=blocked.end,
        status="booked",
        client_name=client.name,
        client_email=client.email,
        client_phone=client.phone,
        client_timezone=client.timezone,
        kind=client.kind,
        partner_name=client.partner_name if client.kind == "couple" else "",
        partner_email=client.partner_email if client.kind == "couple" else "",
        note=client.note,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
    )
    session.add(consultation)
    try:
        session.flush()
        notify(session, consultation, "booked")
        session.commit()
    except IntegrityError:
        # The database's own guard (exclusion constraint or trigger, or the unique key) fired.
        session.rollback()
        earlier = _repeat_of(session, idempotency_key, therapist_id, start, client.email)
        if earlier is not None:
            return Booking(earlier, created=False)
        raise SlotTaken(nearest_for(session, therapist_id, now, start)) from None
    return Booking(consultation, created=True)


def nearest_for(
    session: Session, therapist_id: int, now: datetime, target: datetime
) -> list[slots.Slot]:
    therapist = session.get(Therapist, therapist_id)
    if therapist is None:
        return []
    rules = therapist.rules()
    busy = busy_intervals(session, therapist_id, slots.lookup_range(rules, now))
    return slots.nearest_open(rules, busy, now, target)


def reschedule(
    session: Session, consultation_id: int, new_start: datetime, now: datetime, notify: Notify
) -> Consultation:
    """Move a booking to `new_start` in one transaction: it never holds both times or neither."""
    current = session.get(Consultation, consultation_id)
    if current is None or current.status != "booked":
        raise NotBookable
    therapist = _lock_therapist(session, current.therapist_id)
    consultation = session.get(Consultation, consultation_id, populate_existing=True)
    if therapist is None or consultation is None or consultation.status != "booked":
        session.rollback()
        raise NotBookable
    rules = rules_for_move(therapist)
    busy = busy_intervals(
        session, therapist.id, slots.lookup_range(rules, now), ignore_id=consultation.id
    )
    if not slots.is_open(rules, busy, now, new_start):
        session.rollback()
        raise _refusal(rules, busy, now, new_start)
    blocked = slots.blocked_interval(rules, new_start)
    consultation.starts_at = new_start
    consultation.ends_at = new_start + rules.length
    consultation.blocked_start = blocked.start
    consultation.blocked_end = blocked.end
    consultation.calendar_sequence += 1
    consultation.manage_nonce = _new_nonce()  # the old email's link now points nowhere
    consultation.reminder_sent_at = None
    consultation.updated_at = now
    try:
        session.flush()
        notify(session, consultation, "rescheduled")
        session.commit()
    except IntegrityError:
        session.rollback()
        raise SlotTaken(nearest_for(session, therapist.id, now, new_start)) from None
    return consultation


def cancel(
    session: Session, consultation_id: int, now: datetime, notify: Notify, by: str = "client"
) -> Consultation:
    """Cancel and free the time; cancelling twice is harmless and sends nothing new.

    A client can't cancel once the consultation has started (AlreadyStarted): the time is no
    longer someone else's to book, and the therapist records what happened instead."""
    write_transaction(session)
    therapist_id = session.scalar(
        select(Consultation.therapist_id).where(Consultation.id == consultation_id)
    )
    # Hold the therapist's row, then read the consultation under it: a rival cancel or
    # reschedule that committed meanwhile is seen (PostgreSQL reads take no lock).
    if therapist_id is not None:
        hold_therapist_row(session, therapist_id)
    consultation = session.get(Consultation, consultation_id, populate_existing=True)
    if consultation is None:
        session.rollback()
        raise NotBookable
    if consultation.status == "cancelled":
        session.rollback()
        return consultation
    # Read under the lock: a reschedule may just have moved the start.
    if by == "client" and consultation.starts_at <= now:
        session.rollback()
        raise AlreadyStarted
    consultation.status = "cancelled"
    consultation.calendar_sequence += 1
    consultation.updated_at = now
    session.flush()
    notify(session, consultation, f"cancelled_by_{by}")
    session.commit()
    return consultation


def set_outcome(session: Session, consultation_id: int, status: str, now: datetime) -> Consultation:
    """The therapist records what happened: completed or no-show."""
    if status not in ("completed", "no_show", "booked"):
        raise ValueError(status)
    write_transaction(session)
    consultation = session.get(Consultation, consultation_id, populate_existing=True)
    if consultation is None or consultation.status == "cancelled":
        session.rollback()
        raise NotBookable
    consultation.status = status
    consultation.updated_at = now
    session.commit()
    return consultation
