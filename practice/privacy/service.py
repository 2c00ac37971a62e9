"""Erasing a client: everything that names them or holds their words goes; an audit line stays.

What goes, for every consultation the email booked (as the client or as the partner):
- booked as the client: the consultation's client and partner fields and the note, every intake
  of the consultation with its answers, and every outbox message of the consultation;
- named only as the partner: the partner fields, the partner's intake and answers, and the
  outbox messages addressed to the partner or naming them.
The consultation row itself stays, anonymous, so the therapist's history and counts hold; a
future one is cancelled, which frees its time. Manage and intake links stop working.

The audit line says who erased, when, and an opaque erasure id: never the name or email.
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from practice.audit import record
from practice.booking.models import Consultation
from practice.booking.service import hold_therapist_row
from practice.db import write_transaction
from practice.intake.models import Intake
from practice.mail.models import OutboxMessage

log = logging.getLogger("practice.privacy")

ERASED_NAME = "Erased client"
ERASED_PARTNER = "Erased partner"


@dataclass
class ErasurePlan:
    """What erasing an email would touch (shown to the admin before they confirm)."""

    email: str
    as_client: list[Consultation] = field(default_factory=list)
    as_partner: list[Consultation] = field(default_factory=list)

    @property
    def consultations(self) -> list[Consultation]:
        return [*self.as_client, *self.as_partner]

    @property
    def empty(self) -> bool:
        return not self.as_client and not self.as_partner


@dataclass(frozen=True)
class ErasureReport:
    erasure_id: str
    consultations: int
    intakes: int
    messages: int


def _normalise(email: str) -> str:
    return email.strip().lower()


def plan_erasure(session: Session, email: str) -> ErasurePlan:
    wanted = _normalise(email)
    plan = ErasurePlan(email=wanted)
    if not wanted:
        return plan
    rows = session.scalars(
        select(Consultation)
        .where(
            or_(
                func.lower(Consultation.client_email) == wanted,
                func.lower(Consultation.partner_email) == wanted,
            )
        )
        .order_by(Consultation.starts_at)
    ).unique()
    for consultation in rows:
        if _normalise(consultation.client_email) == wanted:
            plan.as_client.append(consultation)
        else:
            plan.as_partner.append(consultation)
    return plan


def _mentions(message: OutboxMessage, needles: list[str]) -> bool:
    haystack = " ".join(
        part
        for part in (message.recipient, message.subject, message.body_text, message.calendar)
        if part
    ).lower()
    return any(n and n.lower() in haystack for n in needles)


def erase_client(
    session: Session, email: str, *, actor_id: int | None, now: datetime
) -> ErasureReport | None:
    """Erase everything held about `email`, in one transaction; None when nothing matched."""
    write_transaction(session)
    plan = plan_erasure(session, email)
    if plan.empty:
        session.rollback()
        return None
    # Freeing a booked time moves its therapist's schedule version: hold those rows first, in
    # id order, as bookings do (see booking.service.hold_therapist_row).
    for therapist_id in sorted({c.therapist_id for c in plan.as_client}):
        hold_therapist_row(session, therapist_id)
    erasure_id = str(uuid.uuid4())
    intakes = messages = 0
    mail_needles: list[str] = [plan.email]

    for consultation in plan.as_client:
        mail_needles += [consultation.client_name, consultation.partner_name]
        mail_needles.append(consultation.partner_email)
        intakes += _delete_intakes(session, consultation.id, respondent=None)
        messages += _delete_messages(session, consultation.id, needles=None)
        consultation.client_name = ERASED_NAME
        consultation.client_email = ""
        consultation.client_phone = ""
        consultation.client_timezone = "UTC"
        consultation.partner_name = ERASED_PARTNER if consultation.is_couple else ""
        consultation.partner_email = ""
        consultation.note = ""
        _close(consultation, now)

    for consultation in plan.as_partner:
        needles = [consultation.partner_name, consultation.partner_email]
        mail_needles += needles
        intakes += _delete_intakes(session, consultation.id, respondent="partner")
        messages += _delete_messages(session, consultation.id, needles=needles)
        consultation.partner_name = ERASED_PARTNER
        consultation.partner_email = ""
        consultation.manage_nonce = secrets.token_urlsafe(16)
        consultation.updated_at = now

    record(
        session,
        actor_id=actor_id,
        action="client.erase",
        subject_type="erasure",
        subject_id=erasure_id,
        at=now,
    )
    report = ErasureReport(
        erasure_id=erasure_id,
        consultations=len(plan.consultations),
        intakes=intakes,
        messages=messages,
    )
    session.commit()
    _forget_outside_the_database([n for n in mail_needles if n])
    # Counts and the opaque id only: the log never learns whom this was about.
    log.info(
        "erasure %s: %d consultations, %d intakes, %d messages",
        erasure_id,
        report.consultations,
        report.intakes,
        report.messages,
    )
    return report


def _close(consultation: Consultation, now: datetime) -> None:
    """Anonymous from now on: links revoked, a future booking cancelled (its time freed)."""
    consultation.manage_nonce = secrets.token_urlsafe(16)
    # The idempotency key came from the client's browser or API call: replace it too.
    consultation.idempotency_key = f"erased-{uuid.uuid4().hex}"
    if consultation.status == "booked" and consultation.starts_at > now:
        consultation.status = "cancelled"
    consultation.updated_at = now


def _delete_intakes(session: Session, consultation_id: int, respondent: str | None) -> int:
    query = select(Intake).where(Intake.consultation_id == consultation_id)
    if respondent is not None:
        query = query.where(Intake.respondent == respondent)
    found = list(session.scalars(query).unique())
    for intake in found:
        session.delete(intake)  # its answers go with it (cascade)
    session.flush()
    return len(found)


def _delete_messages(session: Session, consultation_id: int, needles: list[str] | None) -> int:
    query = select(OutboxMessage).where(OutboxMessage.consultation_id == consultation_id)
    rows = list(session.scalars(query))
    doomed = [m.id for m in rows if needles is None or _mentions(m, needles)]
    if doomed:
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(doomed)))
    return len(doomed)


def _forget_outside_the_database(needles: list[str]) -> None:
    """Copies the app keeps outside the database: finished PDFs in memory (they name both
    partners) and, with no SMTP server configured, the .eml files of the mail folder."""
    if not has_app_context():
        return
    worksheets = current_app.extensions.get("practice_worksheets")
    if worksheets is not None:
        worksheets.printer.cache.clear()
    if current_app.config["PRACTICE_SMTP_HOST"]:
        return
    mail_dir = current_app.config["PRACTICE_MAIL_DIR"] or os.path.join(
        current_app.instance_path, "mail"
    )
    if not os.path.isdir(mail_dir):
        return
    lowered = [n.lower() for n in needles]
    for name in os.listdir(mail_dir):
        path = os.path.join(mail_dir, name)
        if not name.endswith(".eml") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            content = f.read().lower()
        if any(n in content for n in lowered):
            os.remove(path)
