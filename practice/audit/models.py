"""One row per view of health data or personalised print: who, when, what, never the content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from practice.db import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "practice_audit_event"
    __table_args__ = (Index("ix_practice_audit_event_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("practice_staff_user.id", ondelete="SET NULL"), nullable=True
    )
    # A short verb such as "intake.view", "couple.view", "intake.export", "worksheet.print".
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(80))
