"""Auditing what the signed-in staff member is shown, from a view."""

from __future__ import annotations

from collections.abc import Iterable

from practice import clock
from practice.audit.service import record_views
from practice.auth.access import current_staff
from practice.db import get_session


def audit_staff_views(action: str, subject_type: str, subject_ids: Iterable[str]) -> None:
    """One event per subject this staff member was shown, in a transaction of its own."""
    staff = current_staff()
    events = [
        {
            "actor_id": staff.id if staff else None,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
        }
        for subject_id in subject_ids
    ]
    if events:
        record_views(get_session(), events, clock.now())
