"""Deliver the outbox: SMTP when configured, .eml files otherwise; retries with backoff."""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from practice.booking.models import Consultation
from practice.db import write_transaction
from practice.mail.models import OutboxMessage

log = logging.getLogger("practice.mail")

# How long a claimed message is left alone by other senders while this one works on it.
LEASE = timedelta(minutes=5)


def queue(
    session: Session,
    *,
    kind: str,
    recipient: str,
    subject: str,
    body_text: str,
    now: datetime,
    calendar: str | None = None,
    calendar_method: str | None = None,
    consultation_id: int | None = None,
) -> OutboxMessage:
    """Add a message to the caller's transaction; it is sent only if that transaction commits."""
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        calendar=calendar,
        calendar_method=calendar_method,
        consultation_id=consultation_id,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(message)
    return message


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, capped at an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    # Refused for good, or still failing after PRACTICE_MAIL_MAX_ATTEMPTS.
    gave_up: int = 0
    # No longer true when its turn came (consultation moved, cancelled or started): not sent.
    dropped: int = 0


class PermanentFailure(Exception):
    """The server refused the message for good: retrying would not help."""


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
    # A stable Message-ID: a retried send of the same row is recognisably the same email.
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain=domain)
    email.set_content(message.body_text)
    if message.calendar:
        email.add_attachment(
            message.calendar.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename="consultation.ics",
            params={"method": message.calendar_method or "REQUEST"},
        )
    return email


class SMTPTransport:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def send_all(self, emails: list[EmailMessage]) -> Iterable[Exception | None]:
        """Send over one connection; yields None or the error for each email in turn."""
        c = self.config
        try:
            if c["PRACTICE_SMTP_SSL"]:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    c["PRACTICE_SMTP_HOST"],
                    int(c["PRACTICE_SMTP_PORT"]),
                    timeout=c["PRACTICE_SMTP_TIMEOUT"],
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(
                    c["PRACTICE_SMTP_HOST"],
                    int(c["PRACTICE_SMTP_PORT"]),
                    timeout=c["PRACTICE_SMTP_TIMEOUT"],
                )
        except (OSError, smtplib.SMTPException) as exc:
            for _ in emails:
                yield exc
            return
        try:
            if c["PRACTICE_SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if c["PRACTICE_SMTP_USERNAME"]:
                smtp.login(c["PRACTICE_SMTP_USERNAME"], c["PRACTICE_SMTP_PASSWORD"])
            for email in emails:
                try:
                    smtp.send_message(email)
                    yield None
                except smtplib.SMTPRecipientsRefused as exc:
                    yield PermanentFailure(_describe(exc))
                except smtplib.SMTPResponseException as exc:
                    yield PermanentFailure(_describe(exc)) if exc.smtp_code >= 500 else exc
                except (OSError, smtplib.SMTPException) as exc:
                    yield exc
        except (OSError, smtplib.SMTPException) as exc:
            for _ in emails:
                yield exc
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


class DirectoryTransport:
    """The demo's mailbox: each message becomes an .eml file a person can open."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def send_all(self, emails: list[EmailMessage]) -> Iterable[Exception | None]:
        os.makedirs(self.directory, exist_ok=True)
        for email in emails:
            name = email["Message-ID"].strip("<>").replace("/", "_").split("@")[0]
            try:
                with open(os.path.join(self.directory, f"{name}.eml"), "wb") as f:
                    f.write(bytes(email))
                yield None
            except OSError as exc:
                yield exc


def transport_for(
    config: Mapping[str, Any], instance_path: str
) -> SMTPTransport | DirectoryTransport:
    if config["PRACTICE_SMTP_HOST"]:
        return SMTPTransport(config)
    return DirectoryTransport(config["PRACTICE_MAIL_DIR"] or os.path.join(instance_path, "mail"))


def _describe(exc: BaseException) -> str:
    # Only the error's kind and code: a server's reply can echo addresses back.
    code = getattr(exc, "smtp_code", None) or getattr(exc, "errno", None)
    return f"{type(exc).__name__}{f' {code}' if code else ''}"[:200]


def deliver_due(
    session: Session,
    config: Mapping[str, Any],
    instance_path: str,
    now: datetime,
    only_ids: Iterable[int] | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Claim due messages, send them, and record each outcome; safe to run from many places."""
    max_attempts = max(int(config["PRACTICE_MAIL_MAX_ATTEMPTS"]), 1)
    report = DeliveryReport()
    claimed = _claim(session, now, only_ids, limit, max_attempts, report)
    if not claimed:
        return report
    transport = transport_for(config, instance_path)
    emails = [build_email(m, config["PRACTICE_MAIL_SENDER"]) for m in claimed]
    outcomes = list(transport.send_all(emails))
    write_transaction(session)
    for message, error in zip(claimed, outcomes, strict=True):
        row = session.get(OutboxMessage, message.id, populate_existing=True)
        if row is None:
            continue
        if error is None:
            row.sent_at = now
            row.last_error = ""
            report.sent += 1
        elif isinstance(error, PermanentFailure):
            row.gave_up_at = now
            row.last_error = str(error)
            report.gave_up += 1
            log.warning("outbox message %s refused for good: %s", row.id, error)
        elif row.attempts >= max_attempts:
            # An outage this long: stop, rather than deliver whenever the server comes back.
            row.gave_up_at = now
            row.last_error = f"{_describe(error)}; gave up after {row.attempts} attempts"[:200]
            report.gave_up += 1
            log.warning("outbox message %s given up: %s", row.id, row.last_error)
        else:
            row.next_attempt_at = now + backoff(row.attempts)
            row.last_error = _describe(error)
            report.failed += 1
            log.warning("outbox message %s not sent yet (%s); will retry", row.id, row.last_error)
    session.commit()
    return report


def _claim(
    session: Session,
    now: datetime,
    only_ids: Iterable[int] | None,
    limit: int,
    max_attempts: int,
    report: DeliveryReport,
) -> list[OutboxMessage]:
    """Take due messages for this sender; those no longer worth sending are closed instead."""
    write_transaction(session)
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.gave_up_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if only_ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(list(only_ids)))
    if session.get_bind().dialect.name == "postgresql":
        # Two senders never take the same row; neither waits for the other.
        stmt = stmt.with_for_update(skip_locked=True)
    messages = list(session.scalars(stmt))
    stale = _stale_reasons(session, messages, now)
    claimed = []
    for message in messages:
        reason = stale.get(message.id)
        if reason is not None:
            report.dropped += 1
        elif message.attempts >= max_attempts:
            # A sender claimed it for the last time and never recorded how that went.
            reason = f"gave up after {message.attempts} attempts (no outcome recorded)"
            report.gave_up += 1
        if reason is not None:
            message.gave_up_at = now
            message.last_error = reason
            # The id and kind only: the log never learns whom the message was for.
            log.info("outbox message %s (%s) not sent: %s", message.id, message.kind, reason)
            continue
        message.attempts += 1
        message.next_attempt_at = now + LEASE
        claimed.append(message)
    session.commit()
    return claimed


_SEQUENCE = re.compile(r"^SEQUENCE:(\d+)\r?$", re.MULTILINE)
# What the client's email says about the consultation: wrong once it has moved or been cancelled.
_CLIENT_DETAILS = ("client_booked", "client_rescheduled", "client_reminder")


def _stale_reasons(
    session: Session, messages: list[OutboxMessage], now: datetime
) -> dict[int, str]:
    """Messages that would now mislead their reader, by id, with why they are not sent.

    Cancellation notices, the therapist's emails and intake alerts always go: each is true
    when read, whatever happened since. A client's confirmation, move notice or reminder is
    superseded once the consultation has moved or been cancelled (its calendar file's SEQUENCE
    is older than the consultation's; the newer notice is queued too), and a reminder once the
    consultation has started. The timestamps cannot tell this: created_at is the real clock.
    """
    ids = {m.consultation_id for m in messages if m.consultation_id is not None}
    if not ids:
        return {}
    # Columns only: loading the whole row would decrypt the client's note for nothing.
    rows = session.execute(
        select(
            Consultation.id,
            Consultation.status,
            Consultation.starts_at,
            Consultation.calendar_sequence,
        ).where(Consultation.id.in_(ids))
    ).all()
    current = {row.id: row for row in rows}
    reasons: dict[int, str] = {}
    for message in messages:
        consultation = current.get(message.consultation_id)
        if consultation is None:
            continue
        if message.kind == "partner_intake":
            # The partner hears of no cancellation: an invitation to prepare would mislead.
            if consultation.status == "cancelled":
                reasons[message.id] = "dropped: consultation cancelled since queued"
            continue
        if message.kind not in _CLIENT_DETAILS:
            continue
        match = _SEQUENCE.search(message.calendar or "")
        if consultation.status == "cancelled":
            reasons[message.id] = "dropped: consultation cancelled since queued"
        elif match and int(match.group(1)) < consultation.calendar_sequence:
            reasons[message.id] = "dropped: consultation moved since queued"
        elif message.kind == "client_reminder" and (
            consultation.status != "booked" or consultation.starts_at <= now
        ):
            reasons[message.id] = "dropped: consultation already started"
    return reasons


def pending(session: Session) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.gave_up_at.is_(None)
    )
    return list(session.scalars(stmt))


__all__ = ["DeliveryReport", "backoff", "deliver_due", "pending", "queue"]
