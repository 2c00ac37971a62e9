"""When the database is locked or gone, or the server dies mid-booking: a clear answer to
retry, never a 500, never a half-written row."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time as clock
from datetime import UTC, datetime, timedelta

import pytest
import requests
from conftest import DATA_KEY, add_therapist
from helpers import CLIENT, booking_form
from sqlalchemy import create_engine, func, select, text
from test_concurrency import free_port

from practice import create_app
from practice.booking.models import Consultation
from practice.db import get_session
from practice.mail.models import OutboxMessage

MONDAY_9 = "2030-01-07T09:00Z"


def counts(app) -> tuple[int, int]:  # noqa: ANN001
    with app.app_context():
        session = get_session()
        return (
            session.scalar(select(func.count()).select_from(Consultation)),
            session.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def test_a_locked_database_answers_503_with_retry_after_and_writes_nothing(
    app, client, therapist, database_url
):
    """Another writer holds the lock longer than we wait: the client is asked to retry."""
    app.config["PRACTICE_DATABASE_WAIT_SECONDS"] = 0.3
    app.extensions["practice"].engine.dispose()
    from practice import db

    engine = db.make_engine(database_url, wait_seconds=0.3)
    app.extensions["practice"].engine = engine
    app.extensions["practice"].sessionmaker = db.make_sessionmaker(engine)
    _, slug = therapist
    data = {**booking_form(client, slug, MONDAY_9), **CLIENT}

    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        release = holder.rollback
    else:
        holder_engine = create_engine(database_url)
        holder = holder_engine.connect()
        holder.execute(text("SELECT id FROM practice_therapist FOR UPDATE"))

        def release() -> None:
            holder.rollback()
            holder.close()
            holder_engine.dispose()

    try:
        started = clock.monotonic()
        response = client.post(f"/book/{slug}", data=data)
        assert clock.monotonic() - started < 5
    finally:
        release()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert "briefly unavailable" in page and "Traceback" not in page
    assert counts(app) == (0, 0)
    # The same form, sent again once the lock is gone, books exactly once.
    again = client.post(f"/book/{slug}", data=data)
    assert again.status_code == 303
    assert counts(app)[0] == 1
    engine.dispose()


def test_an_unreachable_database_answers_503_on_pages_and_the_api(tmp_path):
    port = free_port()  # nothing listens here
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "PRACTICE_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere",
            "PRACTICE_DATABASE_WAIT_SECONDS": 1,
            "PRACTICE_RATELIMIT_ENABLED": False,
            "PRACTICE_MAIL_DIR": str(tmp_path / "mail"),
        }
    )
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "briefly unavailable" in page.get_data(as_text=True)
    api = client.get("/api/v1/therapists")
    assert api.status_code == 503 and api.get_json()["error"]
    app.extensions["practice"].engine.dispose()


def _start_server(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "practice",
            "run",
            "--port",
            str(port),
            "--with-threads",
            "--no-reload",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = clock.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/privacy", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            pass
        assert clock.monotonic() < deadline, "server did not start"
        clock.sleep(0.05)


@pytest.mark.parametrize("attempt", range(4))
def test_a_server_killed_mid_booking_leaves_the_slot_booked_once_or_free(
    app, database_url, tmp_path, attempt
):
    """Kill -9 at a random moment while a booking is in flight; after a restart the same
    request (same idempotency key) gives one booking, whatever moment the kill hit."""
    start = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    add_therapist(
        app, hours=[(d, start.time(), (start + timedelta(hours=1)).time()) for d in range(7)]
    )
    env = {
        **os.environ,
        "PRACTICE_DATABASE_URL": database_url,
        "PRACTICE_INSTANCE_PATH": str(tmp_path / "instance"),
        "PRACTICE_RATELIMIT_ENABLED": "false",
        "PRACTICE_MAIL_DIR": str(tmp_path / "mail"),
        # Same data keys as the test's app, and plain http on loopback.
        "PRACTICE_DATA_KEYS": json.dumps([DATA_KEY]),
        "PRACTICE_INSECURE_COOKIES": "true",
    }
    port = free_port()
    server = _start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    slot = start.strftime("%Y-%m-%dT%H:%MZ")
    http = requests.Session()
    form = http.get(f"{base}/book/maya-chen", params={"start": slot, "tz": "UTC"}).text
    data = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1),
        "idempotency_key": re.search(r'name="idempotency_key"[^>]*value="([^"]*)"', form).group(1),
        "start": slot,
        "tz": "UTC",
        **CLIENT,
    }

    def send() -> None:
        # The server dies under it: that is the point.
        with contextlib.suppress(requests.RequestException):
            http.post(f"{base}/book/maya-chen", data=data, allow_redirects=False, timeout=10)

    sender = threading.Thread(target=send)
    sender.start()
    clock.sleep(random.Random(attempt).uniform(0, 0.08))
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    sender.join(timeout=15)

    booked_after_kill = counts(app)[0]
    assert booked_after_kill in (0, 1)
    server = _start_server(env, port)
    try:
        retry = http.post(f"{base}/book/maya-chen", data=data, allow_redirects=False, timeout=10)
        assert retry.status_code == 303, retry.status_code
        again = http.post(f"{base}/book/maya-chen", data=data, allow_redirects=False, timeout=10)
        # The same booking again (its link is freshly signed, so compare where it leads).
        assert again.status_code == 303
        assert again.headers["Location"].split("/consultations/")[0] == retry.headers[
            "Location"
        ].split("/consultations/")[0]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert counts(app)[0] == 1
