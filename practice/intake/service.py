"""Intake operations: open intakes for a booking, save answers as they come, submit once,
and the review queue. Scoring itself is the pure `practice.intake.scoring`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from practice.auth.models import StaffUser
from practice.booking.models import Consultation, Therapist
from practice.db import write_transaction
from practice.intake.models import Intake, IntakeAnswer
from practice.intake.questionnaire import Catalog, Questionnaire
from practice.intake.scoring import NOT_SCORABLE, ScreenResult, safety_screen, score

# Queue order: safety first, then how strongly a pattern showed, then unanswered intakes.
QUEUE_RANK = {
    "urgent": 0,
    "safety_words": 1,
    "safety_unanswered": 1,
    "high": 2,
    "elevated": 3,
    "none": 4,
    "not_scorable": 4,
    "pending": 5,
}
QUEUE_FILTERS = (
    "urgent",
    "safety_words",
    "safety_unanswered",
    "high",
    "elevated",
    "not_scorable",
    "none",
    "pending",
)


class AlreadySubmitted(Exception):
    """The intake was submitted before; its answers can no longer be seen or changed."""


def open_intakes(
    session: Session, consultation: Consultation, form: Questionnaire, now: datetime
) -> list[Intake]:
    """One intake for the client and, for a couple, one for the partner, in the booking's
    transaction so a booking never exists without them."""
    people = [("client", consultation.client_name)]
    if consultation.is_couple and consultation.partner_name:
        people.append(("partner", consultation.partner_name))
    intakes = [
        Intake(
            consultation=consultation,
            respondent=role,
            respondent_name=name,
            form_id=form.id,
            form_version=form.version,
            created_at=now,
            updated_at=now,
        )
        for role, name in people
    ]
    session.add_all(intakes)
    session.flush()
    return intakes


def intakes_for(session: Session, consultation_id: int) -> list[Intake]:
    stmt = (
        select(Intake)
        .where(Intake.consultation_id == consultation_id)
        .order_by(Intake.respondent)  # "client" before "partner"
    )
    return list(session.scalars(stmt).unique())


def answers_of(session: Session, intake: Intake) -> dict[str, str]:
    """One intake's answers as plain values, for display: no ORM objects to build and track."""
    stmt = select(IntakeAnswer.item_id, IntakeAnswer.value).where(
        IntakeAnswer.intake_id == intake.id
    )
    return {item_id: value for item_id, value in session.execute(stmt)}


def by_public_id(session: Session, public_id: str) -> Intake | None:
    return session.scalars(select(Intake).where(Intake.public_id == public_id)).unique().first()


def _lock(session: Session, intake_id: int) -> Intake:
    """Serialise writers on one intake: a save racing a submit, or two submits."""
    write_transaction(session)
    stmt = select(Intake).where(Intake.id == intake_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Intake)
    return session.scalars(stmt.execution_options(populate_existing=True)).unique().one()


def _store_answers(session: Session, intake: Intake, answers: Mapping[str, str]) -> None:
    """Replace the given items' answers; an emptied field removes its answer."""
    items = list(answers)
    if not items:
        return
    session.execute(
        delete(IntakeAnswer).where(
            IntakeAnswer.intake_id == intake.id, IntakeAnswer.item_id.in_(items)
        )
    )
    session.add_all(
        IntakeAnswer(intake_id=intake.id, item_id=item, value=value)
        for item, value in answers.items()
        if value != ""
    )
    session.flush()
    session.expire(intake, ["answers"])


def save_progress(
    session: Session,
    intake: Intake,
    answers: Mapping[str, str],
    now: datetime,
    form: Questionnaire,
    on_urgent: Callable[[Session, Intake], None],
) -> bool:
    """Keep what the client has typed so far; they can come back to it from their link.

    A safety item answered "yes" is acted on now, not at sending: someone may never press
    Send. The therapist is alerted once, and the result says whether to show crisis help."""
    intake = _lock(session, intake.id)
    if intake.submitted:
        session.rollback()
        raise AlreadySubmitted
    _store_answers(session, intake, answers)
    intake.status = "in_progress"
    intake.updated_at = now
    endorsed = bool(safety_screen(form, intake.answer_map()).endorsed)
    if endorsed and not intake.urgent:
        intake.urgent = True
        intake.queue_level = "urgent"
        on_urgent(session, intake)  # in the same transaction as the answer that raised it
    session.commit()
    return endorsed


@dataclass(frozen=True)
class Submission:
    intake: Intake
    result: ScreenResult | None
    first_time: bool


def submit(
    session: Session,
    intake: Intake,
    answers: Mapping[str, str],
    form: Questionnaire,
    now: datetime,
    on_urgent: Callable[[Session, Intake], None],
) -> Submission:
    """Score and close the intake. A second submit (double click, retry) changes nothing."""
    intake = _lock(session, intake.id)
    if intake.submitted:
        session.rollback()
        return Submission(intake, None, first_time=False)
    _store_answers(session, intake, answers)
    result = score(form, intake.answer_map())
    alerted = intake.urgent  # a "yes" saved earlier already alerted the therapist
    intake.result = result.to_json()
    # Once raised, urgent stays: a "yes" changed to "no" before sending still needs a look.
    intake.urgent = result.safety.urgent or alerted
    intake.safety_unanswered = bool(result.safety.unanswered)
    intake.queue_level = "urgent" if intake.urgent else queue_level(result)
    intake.status = "submitted"
    intake.submitted_at = now
    intake.updated_at = now
    if intake.urgent and not alerted:
        on_urgent(session, intake)  # the therapist's alert goes in the same transaction
    session.commit()
    return Submission(intake, result, first_time=True)


def queue_level(result: ScreenResult) -> str:
    if result.safety.urgent:
        return "urgent"
    if result.safety.mentioned_in:  # words of harm in their own answers: read these soon
        return "safety_words"
    if result.safety.unanswered:
        return "safety_unanswered"
    highest = result.highest_level
    # Too many skipped to score is not the same as nothing found: the therapist should know.
    if highest == "none" and any(f.level == NOT_SCORABLE for f in result.flags.values()):
        return NOT_SCORABLE
    return highest


def visible_to(staff: StaffUser, intake: Intake) -> bool:
    """Only the consultation's own therapist, and practice admins, may open an intake."""
    return staff.is_admin or intake.consultation.therapist.user_id == staff.id


def review_queue(
    session: Session,
    staff: StaffUser,
    level: str | None = None,
    reviewed: bool | None = None,
) -> list[Intake]:
    """Intakes this person may see: urgent first, then by strength, then by consultation time."""
    stmt = select(Intake).join(Intake.consultation).where(Consultation.status != "cancelled")
    if not staff.is_admin:
        stmt = stmt.join(Consultation.therapist).where(Therapist.user_id == staff.id)
    if level in QUEUE_FILTERS:
        stmt = stmt.where(Intake.queue_level == level)
    if reviewed is True:
        stmt = stmt.where(Intake.reviewed_at.is_not(None))
    elif reviewed is False:
        stmt = stmt.where(Intake.reviewed_at.is_(None))
    intakes = list(session.scalars(stmt).unique())
    intakes.sort(
        key=lambda i: (QUEUE_RANK.get(i.queue_level, 9), i.consultation.starts_at, i.respondent)
    )
    return intakes


def mark_reviewed(
    session: Session, intake: Intake, staff: StaffUser, note: str, now: datetime
) -> None:
    intake.clinician_note = note
    if intake.reviewed_at is None:
        intake.reviewed_at = now
        intake.reviewed_by_id = staff.id
    session.commit()


def form_for(catalog: Catalog, intake: Intake) -> Questionnaire:
    """The exact version this intake answers, even if the form file has moved on since."""
    return catalog.get(intake.form_id, intake.form_version)


FLAGGED = ("elevated", "high")


def stored_level(intake: Intake, pattern_id: str) -> str | None:
    """A pattern's level as scored at submission (None before submission)."""
    if not intake.result:
        return None
    return intake.result.get("flags", {}).get(pattern_id, {}).get("level")


def pursue_withdraw_between(a: Intake, b: Intake) -> bool:
    """One partner leaning codependent while the other leans hyper-independent: the
    anxious-avoidant, pursue-withdraw cycle clinicians describe."""

    def leans(intake: Intake, pattern_id: str) -> bool:
        return stored_level(intake, pattern_id) in FLAGGED

    return (leans(a, "codependent") and leans(b, "hyper_independent")) or (
        leans(b, "codependent") and leans(a, "hyper_independent")
    )


def pattern_flags(session: Session, consultation: Consultation) -> set[str]:
    """The patterns flagged (elevated or high) in this consultation's submitted intakes, and
    "pursue_withdraw" when a couple's two profiles show the cycle. Never anything about safety."""
    intakes = [i for i in intakes_for(session, consultation.id) if i.submitted]
    flags = {
        pattern
        for intake in intakes
        for pattern in ("codependent", "hyper_independent")
        if stored_level(intake, pattern) in FLAGGED
    }
    if len(intakes) == 2 and pursue_withdraw_between(*intakes):
        flags.add("pursue_withdraw")
    return flags
