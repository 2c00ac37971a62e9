"""Staff accounts: therapists and practice admins who log in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from practice.crypto import EncryptedText
from practice.db import Base, UTCDateTime, utcnow

ROLES = ("therapist", "admin")


class StaffUser(Base):
    __tablename__ = "practice_staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default="therapist")
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optional TOTP two-factor: the secret is kept from enrolment; it counts only once confirmed.
    # Encrypted like intake answers: with the secret, anyone could mint this person's codes.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The last time step whose code was accepted: a code seen once is never accepted again.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)

    # Flask-Login's protocol. Ids carry a prefix so a host's own user ids never collide.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"practice-staff:{self.id}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class StaffSession(Base):
    """One sign-in on one device. The cookie holds a random id; only its hash is kept here, so
    a copy of this table can't be used to sign in. Ending the row ends that sign-in for good,
    even if someone replays the cookie afterwards."""

    __tablename__ = "practice_staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("practice_staff_user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
