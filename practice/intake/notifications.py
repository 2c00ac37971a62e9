"""Intake emails: the partner's own link, and the therapist's alert. Nothing clinical in either."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from sqlalchemy.orm import Session

from practice import clock
from practice.booking.models import Consultation
from practice.intake.links import intake_url
from practice.intake.models import Intake
from practice.mail import outbox


def catalog():  # noqa: ANN201
    return current_app.extensions["practice"].questionnaires


def open_for_booking(session: Session, consultation: Consultation) -> list[Intake]:
    """Called inside the booking's transaction: the intakes exist exactly when the booking does."""
    from practice.intake.service import open_intakes

    form = catalog().get(current_app.config["PRACTICE_INTAKE_FORM"])
    return open_intakes(session, consultation, form, clock.now())


def queue_partner_invitation(session: Session, consultation: Consultation, intake: Intake) -> None:
    """The partner's private link goes to the partner's own inbox, never via the client."""
    outbox.queue(
        session,
        kind="partner_intake",
        recipient=consultation.partner_email,
        subject="Your private questions before your consultation",
        body_text=render_template(
            "practice/email/partner_intake.txt",
            c=consultation,
            therapist=consultation.therapist,
            intake_url=intake_url(intake),
        ),
        consultation_id=consultation.id,
        now=clock.now(),
    )


def queue_urgent_alert(session: Session, intake: Intake) -> None:
    """Says only that an intake needs attention, and where: the detail stays behind the login."""
    from practice.booking.notifications import link_context

    consultation = intake.consultation
    with link_context():
        link = url_for("practice.intake.review", public_id=intake.public_id, _external=True)
        body = render_template("practice/email/intake_alert.txt", link=link)
    outbox.queue(
        session,
        kind="intake_alert",
        recipient=consultation.therapist.user.email,
        subject="An intake needs your attention",
        body_text=body,
        consultation_id=consultation.id,
        now=clock.now(),
    )
