"""Therapists, their availability rules, and the consultations clients book."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.auth.models import StaffUser
from practice.booking.slots import AvailabilityRules, Interval, TimeOff, WeeklyWindow
from practice.crypto import EncryptedText
from practice.db import Base, UTCDateTime, utcnow

# A consultation in any of these states holds its time; only a cancelled one frees it.
HOLDING_STATUSES = ("booked", "completed", "no_show")
STATUSES = (*HOLDING_STATUSES, "cancelled")


class Therapist(Base):
    __tablename__ = "practice_therapist"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("practice_staff_user.id"), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    credentials: Mapped[str] = mapped_column(String(120), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    consultation_minutes: Mapped[int] = mapped_column(Integer, default=30)
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=10)
    minimum_notice_hours: Mapped[int] = mapped_column(Integer, default=24)
    horizon_days: Mapped[int] = mapped_column(Integer, default=28)
    accepting_new_clients: Mapped[bool] = mapped_column(Boolean, default=True)
    # Moved by database triggers whenever windows, days off or held time change (migration
    # 0007): the public slot page reuses what it rendered until this number moves.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[StaffUser] = relationship(lazy="joined")
    windows: Mapped[list[AvailabilityWindow]] = relationship(
        back_populates="therapist",
        cascade="all, delete-orphan",
        order_by="(AvailabilityWindow.weekday, AvailabilityWindow.start_time)",
    )
    time_off: Mapped[list[TimeOffPeriod]] = relationship(
        back_populates="therapist",
        cascade="all, delete-orphan",
        order_by="TimeOffPeriod.first_day",
    )

    def rules(self) -> AvailabilityRules:
        """The pure availability rules the slot computation works from."""
        return rules_from(
            self,
            [(w.weekday, w.start_time, w.end_time) for w in self.windows],
            [(t.first_day, t.last_day) for t in self.time_off],
        )


def rules_from(therapist, windows, time_off) -> AvailabilityRules:  # noqa: ANN001
    """Rules from a therapist's settings (a model or a plain row) and its windows and days off."""
    return AvailabilityRules(
        timezone=therapist.timezone,
        windows=tuple(WeeklyWindow(day, start, end) for day, start, end in windows),
        time_off=tuple(TimeOff(first, last) for first, last in time_off),
        length=timedelta(minutes=therapist.consultation_minutes),
        buffer_before=timedelta(minutes=therapist.buffer_before_minutes),
        buffer_after=timedelta(minutes=therapist.buffer_after_minutes),
        minimum_notice=timedelta(hours=therapist.minimum_notice_hours),
        horizon=timedelta(days=therapist.horizon_days),
        accepting_new_clients=therapist.accepting_new_clients,
    )


class AvailabilityWindow(Base):
    """A weekly window in the therapist's own wall-clock time (so DST never moves it)."""

    __tablename__ = "practice_availability_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("practice_therapist.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)

    therapist: Mapped[Therapist] = relationship(back_populates="windows")


class TimeOffPeriod(Base):
    """Whole days off, inclusive, in the therapist's time zone."""

    __tablename__ = "practice_time_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        ForeignKey("practice_therapist.id", ondelete="CASCADE"), index=True
    )
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)

    therapist: Mapped[Therapist] = relationship(back_populates="time_off")


def _new_public_id() -> str:
    return str(uuid.uuid4())


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)


class Consultation(Base):
    """A free first consultation. The database refuses two that hold overlapping time."""

    __tablename__ = "practice_consultation"
    __table_args__ = (
        # Open-slot queries look only at consultations ending after "now": this index keeps
        # their cost independent of how much history the practice has.
        Index("ix_practice_consultation_therapist_blocked_end", "therapist_id", "blocked_end"),
        Index("ix_practice_consultation_reminder_due", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=_new_public_id)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("practice_therapist.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The consultation plus its buffers: what no other consultation may overlap.
    blocked_start: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="booked")

    client_name: Mapped[str] = mapped_column(String(120))
    client_email: Mapped[str] = mapped_column(String(254))
    client_phone: Mapped[str] = mapped_column(String(40), default="")
    client_timezone: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="individual")  # or "couple"
    partner_name: Mapped[str] = mapped_column(String(120), default="")
    partner_email: Mapped[str] = mapped_column(String(254), default="")
    # The client's own words: shown to their therapist only, never put in an email; encrypted.
    note: Mapped[str] = mapped_column(EncryptedText, default="")

    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    manage_nonce: Mapped[str] = mapped_column(String(32), default=_new_nonce)
    calendar_sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    therapist: Mapped[Therapist] = relationship(lazy="joined")

    @property
    def blocked(self) -> Interval:
        return Interval(self.blocked_start, self.blocked_end)

    @property
    def is_couple(self) -> bool:
        return self.kind == "couple"
