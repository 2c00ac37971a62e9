"""The outbox: emails written in the same transaction as what they announce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from practice.db import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    __tablename__ = "practice_outbox_message"
    __table_args__ = (Index("ix_practice_outbox_message_due", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    # A calendar attachment, when the message carries one, and its METHOD.
    calendar: Mapped[str | None] = mapped_column(Text, nullable=True)
    calendar_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("practice_consultation.id"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when the server refused the message for good (unknown mailbox): no more retries.
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The SMTP error class and code only: never the message body.
    last_error: Mapped[str] = mapped_column(String(200), default="")
