"""One row per view of health data or personalised print: who, when, what, never the content.

Append-only: triggers refuse UPDATE and DELETE, and each row carries a hash chained to the row
before it (practice.audit.chain), so a changed or missing row shows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from practice.db import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "practice_audit_event"
    __table_args__ = (Index("ix_practice_audit_event_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    # A staff user's id, deliberately without a foreign key: deleting an account must not
    # rewrite the log (ON DELETE SET NULL would be an UPDATE, which the log refuses).
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A short verb such as "intake.view", "couple.view", "intake.export", "worksheet.print".
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(80))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
