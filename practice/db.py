"""The plugin's own SQLAlchemy engine and sessions, kept apart from any host's database setup."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every table of the plugin; names start with practice_ so a host's tables never clash."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone, so we store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


IMMEDIATE = {"practice_sqlite_begin": "IMMEDIATE"}


# Our engines log under this name. A host (or a test) setting the root logger to DEBUG would
# otherwise have SQLAlchemy log every statement's parameters and every row it reads: clients'
# names, emails and answers. Statements are logged only with PRACTICE_DATABASE_ECHO, and then
# without their parameters; rows never.
ENGINE_LOGGING_NAME = "practice"
QUIET_LOGS: dict[str, Any] = {"hide_parameters": True, "logging_name": ENGINE_LOGGING_NAME}
logging.getLogger(f"sqlalchemy.engine.Engine.{ENGINE_LOGGING_NAME}").setLevel(logging.WARNING)


def make_engine(url: str, echo: bool = False, wait_seconds: float = 15) -> Engine:
    """An engine; on SQLite, with transactions we control so a booking can BEGIN IMMEDIATE.

    `wait_seconds` bounds how long a request waits for a lock or a connection: past it the
    request fails cleanly (a 503 asking to retry) instead of hanging."""
    wait_ms = int(wait_seconds * 1000)
    if url.startswith("postgresql"):
        return create_engine(
            url,
            echo=echo,
            **QUIET_LOGS,
            pool_pre_ping=True,
            pool_timeout=wait_seconds,
            connect_args={
                "connect_timeout": max(1, int(wait_seconds)),
                "options": f"-c lock_timeout={wait_ms}",
            },
        )
    if not url.startswith("sqlite"):
        return create_engine(
            url, echo=echo, **QUIET_LOGS, pool_pre_ping=True, pool_timeout=wait_seconds
        )
    engine = create_engine(
        url,
        echo=echo,
        **QUIET_LOGS,
        connect_args={"timeout": wait_seconds, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; take it over (SQLAlchemy docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
        if ":memory:" not in url and "mode=memory" not in url:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A booking asks for IMMEDIATE: it takes the write lock before it reads, so two
        # bookings queue one behind the other instead of both passing the check.
        mode = conn.get_execution_options().get("practice_sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


def get_session() -> Session:
    """The request's (or CLI command's) session, opened on first use, closed at teardown."""
    session = g.get("_practice_session")
    if session is None:
        session = current_app.extensions["practice"].sessionmaker()
        g._practice_session = session
    return session


@contextmanager
def single_read(session: Session) -> Iterator[Session | Connection]:
    """Somewhere to run one self-contained read.

    On PostgreSQL, outside a transaction: one round trip instead of BEGIN, the query and
    ROLLBACK, which is most of the cost of the busiest page. Elsewhere, or when the request's
    session is already in a transaction (whose snapshot the read should share), the session.
    """
    engine = session.get_bind()
    if engine.dialect.name != "postgresql" or session.in_transaction():
        yield session
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("_practice_session", None)
    if session is not None:
        session.close()


def write_transaction(session: Session) -> None:
    """Start a transaction that holds the write lock from its first statement (SQLite)."""
    if session.in_transaction():
        session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options=IMMEDIATE)
    else:
        session.connection()
