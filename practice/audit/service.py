"""Writing audit events, in the same transaction as whatever the view does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from practice.audit.models import AuditEvent


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    at: datetime,
) -> AuditEvent:
    """Add an event to the session; the caller commits (so a failed view leaves no event)."""
    event = AuditEvent(
        at=at,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
    )
    session.add(event)
    return event
