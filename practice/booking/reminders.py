"""One reminder a day ahead of each consultation, sent exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from practice.booking.models import Consultation
from practice.booking.service import Notify
from practice.db import write_transaction


def queue_reminders(session: Session, now: datetime, hours_before: int, notify: Notify) -> int:
    """Queue reminders now due; the conditional update makes a second runner skip each one."""
    lead = timedelta(hours=hours_before)
    rows = session.execute(
        select(Consultation.id, Consultation.updated_at, Consultation.starts_at).where(
            Consultation.status == "booked",
            Consultation.reminder_sent_at.is_(None),
            Consultation.starts_at > now,
            Consultation.starts_at <= now + lead,
        )
    ).all()
    # Booked, or moved (a reschedule sets updated_at and clears reminder_sent_at), less than a
    # day ahead: that confirmation already was the reminder. created_at would let a move to
    # an hour from now bring a second reminder after the one for the old time.
    due_ids = [pk for pk, set_at, starts_at in rows if set_at <= starts_at - lead]
    session.rollback()
    queued = 0
    for consultation_id in due_ids:
        write_transaction(session)
        claimed = session.execute(
            update(Consultation)
            .where(
                Consultation.id == consultation_id,
                Consultation.reminder_sent_at.is_(None),
                Consultation.status == "booked",
            )
            .values(reminder_sent_at=now)
        ).rowcount
        if claimed == 1:
            consultation = session.get(Consultation, consultation_id, populate_existing=True)
            notify(session, consultation, "reminder")
            queued += 1
        session.commit()
    return queued
