"""Server-side staff sign-ins: a random id per sign-in in the (signed) session cookie, its hash
in practice_staff_session. Flask's own session is a cookie the browser keeps, so without this
row a copied cookie would keep working after sign-out; with it, ending the row ends the sign-in.

Each device has its own row: signing out on one leaves the others; deactivating an account or
changing its password ends them all."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import g, session
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from practice.auth.models import StaffSession, StaffUser

SESSION_KEY = "_practice_sid"
IDLE_LIMIT = timedelta(minutes=30)
ABSOLUTE_LIMIT = timedelta(hours=12)
# last_seen is written at most this often: a staff page is a read, not a write, most of the time.
TOUCH_EVERY = timedelta(seconds=60)
# Ended or expired rows are kept this long (for "signed out after inactivity"), then removed.
KEEP_ENDED = timedelta(days=30)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def start(db: Session, user: StaffUser, now: datetime) -> str:
    """A new sign-in for `user` (the caller commits); returns the id for the cookie."""
    sid = secrets.token_urlsafe(32)
    db.add(
        StaffSession(
            id_hash=_hash(sid), user_id=user.id, created_at=now, last_seen_at=now, ended_at=None
        )
    )
    # Housekeeping for this account only: old finished sign-ins are of no further use.
    db.execute(
        delete(StaffSession).where(
            StaffSession.user_id == user.id, StaffSession.last_seen_at < now - KEEP_ENDED
        )
    )
    return sid


def expired(row: StaffSession, now: datetime) -> bool:
    return now - row.last_seen_at > IDLE_LIMIT or now - row.created_at > ABSOLUTE_LIMIT


def check(db: Session, user_id: int, sid: object, now: datetime) -> bool:
    """Is `sid` a live sign-in of this user? Refreshes its last_seen; ends it once it expired."""
    if not isinstance(sid, str) or not sid:
        return False
    row = db.scalars(
        select(StaffSession).where(
            StaffSession.id_hash == _hash(sid), StaffSession.user_id == user_id
        )
    ).one_or_none()
    if row is None or row.ended_at is not None:
        return False
    if expired(row, now):
        row.ended_at = now
        db.commit()
        g._practice_session_timed_out = True
        return False
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return True


def end(db: Session, sid: object, now: datetime) -> None:
    """End one sign-in (the caller commits)."""
    if isinstance(sid, str) and sid:
        db.execute(
            update(StaffSession)
            .where(StaffSession.id_hash == _hash(sid), StaffSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def end_all(db: Session, user_id: int, now: datetime, keep: object = None) -> int:
    """End every sign-in of a user, except the one `keep` names (the caller commits)."""
    query = update(StaffSession).where(
        StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)
    )
    if isinstance(keep, str) and keep:
        query = query.where(StaffSession.id_hash != _hash(keep))
    return db.execute(query.values(ended_at=now)).rowcount or 0


def live_count(db: Session, user_id: int, now: datetime) -> int:
    rows = db.scalars(
        select(StaffSession).where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
    )
    return sum(1 for row in rows if not expired(row, now))


def current_sid() -> object:
    return session.get(SESSION_KEY)


def timed_out() -> bool:
    """Did this request's sign-in just run out (idle or too long)? For a kind message."""
    return bool(g.get("_practice_session_timed_out"))
