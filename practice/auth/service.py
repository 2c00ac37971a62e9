"""Staff accounts: create, authenticate, load."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from practice import clock
from practice.auth import sessions
from practice.auth.models import ROLES, StaffUser
from practice.db import get_session


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked when the email is unknown, so a wrong email costs as long as a wrong password.
    return generate_password_hash(secrets.token_urlsafe(16))


MIN_PASSWORD_LENGTH = 12
PASSWORD_TOO_SHORT = (
    f"Passwords need at least {MIN_PASSWORD_LENGTH} characters: a short phrase of a few words"
    " is easy to remember and hard to guess."
)


class AccountError(ValueError):
    """A clear reason an account could not be created."""


def find_by_email(session: Session, email: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower())
    ).one_or_none()


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    user = find_by_email(session, email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def create_staff_user(
    session: Session, email: str, name: str, role: str, password: str
) -> StaffUser:
    """Add a staff account (the caller commits)."""
    email = email.strip()
    if role not in ROLES:
        raise AccountError(f"role must be one of: {', '.join(ROLES)}")
    if "@" not in email or len(email) > 254:
        raise AccountError("please give a valid email address")
    if not name.strip():
        raise AccountError("please give a name")
    check_password_length(password)
    if find_by_email(session, email) is not None:
        raise AccountError("an account with that email already exists")
    user = StaffUser(email=email, name=name.strip(), role=role)
    user.set_password(password)
    session.add(user)
    return user


def load_staff_user(user_id: str) -> StaffUser | None:
    """Flask-Login's loader for ids of the form practice-staff:<id>."""
    try:
        pk = int(user_id.split(":", 1)[1])
    except (IndexError, ValueError):
        return None
    db = get_session()
    user = db.get(StaffUser, pk)
    if user is None or not user.active:
        return None
    # The cookie alone is not enough: its sign-in must still be live on the server.
    if not sessions.check(db, user.id, sessions.current_sid(), clock.now()):
        return None
    return user


def deactivate(db: Session, user: StaffUser, now: datetime) -> None:
    """Close an account: every sign-in on every device ends at once (the caller commits)."""
    user.active = False
    sessions.end_all(db, user.id, now)


def change_password(
    db: Session, user: StaffUser, new_password: str, now: datetime, keep_sid: object = None
) -> None:
    """Set a new password and end the account's other sign-ins (the caller commits)."""
    check_password_length(new_password)
    user.set_password(new_password)
    sessions.end_all(db, user.id, now, keep=keep_sid)


def check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(PASSWORD_TOO_SHORT)
