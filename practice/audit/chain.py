"""The audit log's hash chain: each row's hash covers its fields and the previous row's hash.

Changing, removing or reordering a row breaks the chain at that row, and `verify` names it. The
head hash (`practice audit verify` prints it) can be written down elsewhere: a chain rewritten
wholesale from some row on then no longer ends in the hash that was recorded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

GENESIS = "0" * 64
TABLE = "practice_audit_event"
# pg_advisory_xact_lock key serialising appends on PostgreSQL (any constant of our own).
PG_LOCK_KEY = 0x7072616374696365 & 0x7FFFFFFFFFFFFFFF  # "practice"


def canonical_at(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite hands back naive UTC through raw SQL
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(
    *,
    prev_hash: str,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str,
) -> str:
    """sha256 over the row's canonical fields and the previous row's hash."""
    fields = [prev_hash, canonical_at(at), actor_id, action, subject_type, subject_id]
    payload = json.dumps(fields, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    # SQLite's raw SQL gives the stored text, e.g. "2030-01-07 06:00:00.000000".
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class Break:
    """One row where the chain does not hold, and why."""

    id: int
    reason: str


@dataclass(frozen=True)
class Verification:
    rows: int
    head: str
    breaks: tuple[Break, ...]

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(connection: Any) -> Verification:
    """Walk the whole log in id order; report every row whose hash or link is wrong."""
    result = connection.execute(
        text(
            "SELECT id, at, actor_id, action, subject_type, subject_id, prev_hash, row_hash "
            f"FROM {TABLE} ORDER BY id"
        )
    )
    breaks: list[Break] = []
    expected_prev = GENESIS
    count = 0
    for row in result:
        count += 1
        if row.prev_hash != expected_prev:
            breaks.append(Break(row.id, "does not follow the row before it"))
        computed = row_hash(
            prev_hash=row.prev_hash,
            at=_as_datetime(row.at),
            actor_id=row.actor_id,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
        )
        if computed != row.row_hash:
            breaks.append(Break(row.id, "its content does not match its hash"))
        expected_prev = row.row_hash
    return Verification(rows=count, head=expected_prev, breaks=tuple(breaks))


def chain_existing(connection: Any) -> int:
    """Give rows written before the chain existed their hashes (migration 0004 only)."""
    rows = connection.execute(
        text(f"SELECT id, at, actor_id, action, subject_type, subject_id FROM {TABLE} ORDER BY id")
    ).all()
    prev = GENESIS
    for row in rows:
        digest = row_hash(
            prev_hash=prev,
            at=_as_datetime(row.at),
            actor_id=row.actor_id,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
        )
        connection.execute(
            text(f"UPDATE {TABLE} SET prev_hash = :p, row_hash = :h WHERE id = :id"),
            {"p": prev, "h": digest, "id": row.id},
        )
        prev = digest
    return len(rows)
