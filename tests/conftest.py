"""Fixtures: an app on each reachable database, a client, a fixed clock, staff and therapists."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import create_engine, text

from practice import create_app
from practice.db import get_session
from practice.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "PRACTICE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "correct horse battery staple"
# A fixed Fernet key for the test apps (the encrypted columns need one; see practice.crypto).
DATA_KEY = "dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTAwMDA="
# A Monday, far enough ahead that the real clock never reaches it during a test run.
MONDAY = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)


def _postgres_reachable() -> bool:
    if os.environ.get("PRACTICE_TEST_BACKENDS", "sqlite,postgresql").find("postgresql") < 0:
        return False
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


POSTGRES = _postgres_reachable()
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES else [])


def pytest_report_header(config):  # noqa: ANN001, ANN201
    if POSTGRES:
        return f"database backends: {', '.join(BACKENDS)} (PostgreSQL at {PG_ADMIN_URL})"
    return "database backends: sqlite only (no PostgreSQL reachable; its tests did not run)"


def pytest_terminal_summary(terminalreporter):  # noqa: ANN001, ANN201
    terminalreporter.write_line(f"database backends exercised: {', '.join(BACKENDS)}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:  # noqa: ANN001
    """One migrated SQLite file, copied for each test: migrations run once, tests stay apart."""
    path = tmp_path_factory.mktemp("template") / "practice.sqlite3"
    from practice.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def postgres_url():  # noqa: ANN201
    """A database of its own for this run, migrated once, dropped at the end."""
    if not POSTGRES:
        pytest.skip("PostgreSQL not reachable")
    name = f"practice_test_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN_URL)
    from practice.db import make_engine

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "select tablename from pg_tables where schemaname='public' "
                    "and tablename like 'practice_%' and tablename <> 'practice_alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@dataclass
class Clock:
    """A clock a test can move; the app reads it through PRACTICE_CLOCK."""

    now: datetime = MONDAY
    history: list[datetime] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, sqlite_template) -> str:  # noqa: ANN001
    if request.param == "sqlite":
        path = tmp_path / "practice.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


def make_test_app(database_url: str, folder, clock):  # noqa: ANN001, ANN201
    """A test app on `database_url`, its mail and instance folder under `folder`."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "PRACTICE_DATA_KEYS": [DATA_KEY],
            "PRACTICE_DATABASE_URL": database_url,
            "PRACTICE_MAIL_DIR": str(folder / "mail"),
            "PRACTICE_CLOCK": clock,
            "PRACTICE_RATELIMIT_ENABLED": False,
        }
    )
    app.instance_path = str(folder / "instance")
    return app


@pytest.fixture
def app(database_url, tmp_path, clock):  # noqa: ANN001, ANN201
    app = make_test_app(database_url, tmp_path, clock)
    yield app
    app.extensions["practice"].engine.dispose()


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


@pytest.fixture
def runner(app):  # noqa: ANN001, ANN201
    return app.test_cli_runner()


def add_therapist(app, name="Maya Chen", email=None, timezone="UTC", hours=None, **settings):  # noqa: ANN001, ANN003, ANN201
    """A therapist with weekday hours (default 09:00–12:00 every day) and given rules."""
    from practice.clinician.service import add_therapist as create
    from practice.clinician.service import save_availability

    email = email or f"{name.split()[0].lower()}@example.org"
    hours = hours if hours is not None else [(d, time(9), time(12)) for d in range(7)]
    rules = {"minimum_notice_hours": 0, "buffer_after_minutes": 0, "consultation_minutes": 30}
    rules.update(settings)
    with app.app_context():
        session = get_session()
        therapist = create(session, email=email, name=name, password=PASSWORD, timezone=timezone)
        save_availability(session, therapist, rules, hours)
        return therapist.id, therapist.slug


@pytest.fixture
def therapist(app):  # noqa: ANN001, ANN201
    """Maya, in UTC, open 09:00–12:00 every day, 30-minute consultations, no buffers."""
    return add_therapist(app)


class Auth:
    def __init__(self, client) -> None:  # noqa: ANN001
        self.client = client

    def login(self, email: str, password: str = PASSWORD):  # noqa: ANN201
        page = self.client.get("/staff/login")
        token = csrf_from(page.get_data(as_text=True))
        return self.client.post(
            "/staff/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):  # noqa: ANN201
        page = self.client.get("/staff/")
        return self.client.post(
            "/staff/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
        )


@pytest.fixture
def auth(client):  # noqa: ANN001, ANN201
    return Auth(client)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'id="{name}"[^>]*value="([^"]*)"', html
    )
    assert match, f"page has no field {name}"
    return match.group(1)
