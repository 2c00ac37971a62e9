"""Intakes: one per person per consultation, their answers, and the stored screening result."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.auth.models import StaffUser
from practice.booking.models import Consultation
from practice.crypto import EncryptedJSON, EncryptedText
from practice.db import Base, UTCDateTime

# Queue order: the most pressing first. "urgent" is a safety flag; the rest are pattern levels.
LEVEL_RANK = {"urgent": 0, "high": 1, "elevated": 2, "none": 3, "pending": 4}


class Intake(Base):
    """One person's intake for one consultation (a couple has two, answered privately)."""

    __tablename__ = "practice_intake"
    __table_args__ = (UniqueConstraint("consultation_id", "respondent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    # Changing the nonce revokes every link issued so far.
    link_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_urlsafe(16))
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("practice_consultation.id", ondelete="CASCADE"), index=True
    )
    respondent: Mapped[str] = mapped_column(String(16))  # "client" or "partner"
    respondent_name: Mapped[str] = mapped_column(String(120))
    form_id: Mapped[str] = mapped_column(String(64))
    # The version answered: editing the form file later never changes this intake's result.
    form_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="not_started")  # in_progress, submitted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # Filled at submission from the pure scorer, so the queue sorts without rescoring. The result
    # (scores, flagged items) is encrypted; the queue sorts on queue_level/urgent, kept plain.
    result: Mapped[dict | None] = mapped_column(EncryptedJSON, nullable=True)
    queue_level: Mapped[str] = mapped_column(String(24), default="pending")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    safety_unanswered: Mapped[bool] = mapped_column(Boolean, default=False)

    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("practice_staff_user.id", ondelete="SET NULL"), nullable=True
    )
    clinician_note: Mapped[str] = mapped_column(EncryptedText, default="")

    consultation: Mapped[Consultation] = relationship(lazy="joined")
    reviewed_by: Mapped[StaffUser | None] = relationship()
    answers: Mapped[list[IntakeAnswer]] = relationship(
        back_populates="intake", cascade="all, delete-orphan"
    )

    @property
    def submitted(self) -> bool:
        return self.status == "submitted"

    def answer_map(self) -> dict[str, str]:
        return {a.item_id: a.value for a in self.answers}


class IntakeAnswer(Base):
    """One answer; the primary key makes a second answer to the same item impossible."""

    __tablename__ = "practice_intake_answer"

    intake_id: Mapped[int] = mapped_column(
        ForeignKey("practice_intake.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(EncryptedText)

    intake: Mapped[Intake] = relationship(back_populates="answers")
