"""The emails a booking sends, written into the outbox inside the booking's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, url_for
from sqlalchemy.orm import Session

from practice.booking.calendar import consultation_calendar
from practice.booking.models import Consultation
from practice.booking.tokens import make_manage_token
from practice.db import utcnow
from practice.mail import outbox

SUBJECTS = {
    "booked": "Your free consultation is booked",
    "rescheduled": "Your free consultation has moved",
    "cancelled_by_client": "Your free consultation is cancelled",
    "cancelled_by_therapist": "Your free consultation is cancelled",
    "reminder": "Reminder: your free consultation tomorrow",
}
THERAPIST_SUBJECTS = {
    "booked": "New free consultation booked",
    "rescheduled": "A free consultation has moved",
    "cancelled_by_client": "A free consultation was cancelled",
}


def manage_token(consultation: Consultation) -> str:
    return make_manage_token(
        current_app.config["SECRET_KEY"], consultation.public_id, consultation.manage_nonce
    )


@contextmanager
def link_context() -> Iterator[None]:
    """Absolute links need a request; outside one (CLI, workers) use PRACTICE_BASE_URL."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context(base_url=current_app.config["PRACTICE_BASE_URL"]):
        yield


def calendar_for(consultation: Consultation, manage_url: str) -> str:
    config = current_app.config
    therapist = consultation.therapist
    sender = config["PRACTICE_MAIL_SENDER"]
    organizer_email = sender.rsplit("<", 1)[-1].strip(" >")
    domain = urlsplit(config["PRACTICE_BASE_URL"]).hostname or "localhost"
    return consultation_calendar(
        public_id=consultation.public_id,
        domain=domain,
        sequence=consultation.calendar_sequence,
        starts_at=consultation.starts_at,
        ends_at=consultation.ends_at,
        summary=f"Free consultation with {therapist.display_name} ({config['PRACTICE_NAME']})",
        description=f"Manage or cancel your booking: {manage_url}",
        organizer_name=config["PRACTICE_NAME"],
        organizer_email=organizer_email,
        attendee_email=consultation.client_email,
        stamp=utcnow(),
        cancelled=consultation.status == "cancelled",
    )


def _intake_links(session: Session, consultation: Consultation, event: str) -> str | None:
    """Open the intakes with a new booking; the client's link while theirs is unanswered."""
    from practice.intake import notifications as intake_mail
    from practice.intake.links import intake_url
    from practice.intake.service import intakes_for

    if event == "booked":
        intakes = intake_mail.open_for_booking(session, consultation)
        for intake in intakes:
            if intake.respondent == "partner" and consultation.partner_email:
                intake_mail.queue_partner_invitation(session, consultation, intake)
    else:
        intakes = intakes_for(session, consultation.id)
    mine = next((i for i in intakes if i.respondent == "client"), None)
    if mine is None or mine.submitted or consultation.status == "cancelled":
        return None
    return intake_url(mine)


def notify(session: Session, consultation: Consultation, event: str) -> None:
    """Queue the client's email (with its calendar file) and the therapist's; with a new
    booking, open the intakes (and send the partner theirs) in the same transaction."""
    now = utcnow()
    with link_context():
        manage_url = url_for(
            "practice.booking.manage", token=manage_token(consultation), _external=True
        )
        context = {
            "c": consultation,
            "therapist": consultation.therapist,
            "manage_url": manage_url,
            "event": event,
            "intake_url": _intake_links(session, consultation, event),
        }
        calendar = calendar_for(consultation, manage_url)
        outbox.queue(
            session,
            kind=f"client_{event}",
            recipient=consultation.client_email,
            subject=SUBJECTS[event],
            body_text=render_template("practice/email/client.txt", **context),
            calendar=calendar,
            calendar_method="CANCEL" if consultation.status == "cancelled" else "REQUEST",
            consultation_id=consultation.id,
            now=now,
        )
        if event in THERAPIST_SUBJECTS:
            schedule_url = url_for("practice.clinician.schedule", _external=True)
            outbox.queue(
                session,
                kind=f"therapist_{event}",
                recipient=consultation.therapist.user.email,
                subject=THERAPIST_SUBJECTS[event],
                body_text=render_template(
                    "practice/email/therapist.txt", schedule_url=schedule_url, **context
                ),
                consultation_id=consultation.id,
                now=now,
            )
