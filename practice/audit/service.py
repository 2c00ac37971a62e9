"""Writing audit events, in the same transaction as whatever the view does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from practice.audit import chain
from practice.audit.models import AuditEvent


def _lock_the_chain(session: Session) -> None:
    """Serialise appends until this transaction ends, so two writers never link to one row.

    PostgreSQL: a transaction-scoped advisory lock (READ COMMITTED then sees the other writer's
    row once it is granted). SQLite: a write that matches nothing still takes the database's
    write lock; a transaction whose snapshot is stale is refused rather than allowed to fork.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": chain.PG_LOCK_KEY})
    else:
        session.execute(text(f"DELETE FROM {chain.TABLE} WHERE 0 = 1"))


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    at: datetime,
) -> AuditEvent:
    """Append an event, chained to the last one; the caller commits (a failed view leaves none).

    The row is flushed here, under the chain lock, so the next writer links to it.
    """
    _lock_the_chain(session)
    # Rows this session added but has not flushed yet come first.
    session.flush()
    prev = session.scalar(select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        at=at,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        prev_hash=prev or chain.GENESIS,
    )
    event.row_hash = chain.row_hash(
        prev_hash=event.prev_hash,
        at=at,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=event.subject_id,
    )
    session.add(event)
    session.flush()
    return event


def record_views(session: Session, events: list[dict], at: datetime) -> None:
    """Audit something a view only read, in a write transaction of its own, and commit.

    The view's reads ran in a deferred transaction; on SQLite, turning that into a write after
    another request has written is refused outright (a stale snapshot) instead of waiting. So
    the reads are closed first (objects stay loaded) and the append takes the write lock up
    front, queueing behind other writers for the busy timeout like any booking does."""
    from practice.db import write_transaction

    session.commit()
    write_transaction(session)
    for event in events:
        record(session, at=at, **event)
    session.commit()
