"""Sending the outbox from inside the app: right after a commit, or from the command line."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from practice import clock
from practice.db import get_session
from practice.mail import outbox
from practice.mail.models import OutboxMessage

log = logging.getLogger("practice.mail")


def send_due() -> outbox.DeliveryReport:
    app = current_app
    return outbox.deliver_due(get_session(), app.config, app.instance_path, clock.now())


def send_after_commit(consultation_id: int) -> None:
    """When configured, try a booking's emails at once; the outbox still holds any that fail."""
    if not current_app.config["PRACTICE_MAIL_SEND_AFTER_COMMIT"]:
        return
    session = get_session()
    ids = session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.consultation_id == consultation_id, OutboxMessage.sent_at.is_(None)
        )
    ).all()
    session.rollback()
    try:
        outbox.deliver_due(
            session, current_app.config, current_app.instance_path, clock.now(), only_ids=ids
        )
    except Exception as exc:  # the booking stands whatever the mail server does
        session.rollback()
        log.warning(
            "sending right after commit failed (%s); the outbox keeps the emails",
            type(exc).__name__,
        )
