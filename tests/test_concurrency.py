"""Thirty clients press "book" for the same slot at once, on two separate server processes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time as clock
from datetime import time

import pytest
import requests
from conftest import DATA_KEY, PASSWORD, add_therapist
from helpers import CLIENT
from sqlalchemy import select

from practice.booking.models import Consultation
from practice.db import get_session

RACERS = 30
SERVERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def servers(app, database_url, tmp_path):  # noqa: ANN001, ANN201
    """Real HTTP servers in their own processes, sharing one database and one secret."""
    env = {
        **os.environ,
        "PRACTICE_DATABASE_URL": database_url,
        "PRACTICE_INSTANCE_PATH": str(tmp_path / "shared-instance"),
        "PRACTICE_RATELIMIT_ENABLED": "false",
        "PRACTICE_MAIL_DIR": str(tmp_path / "mail"),
        # The servers read what the test's app wrote: same data keys; plain http on loopback.
        "PRACTICE_DATA_KEYS": json.dumps([DATA_KEY]),
        "PRACTICE_INSECURE_COOKIES": "true",
    }
    procs, urls = [], []
    for _ in range(SERVERS):
        port = free_port()
        procs.append(
            subprocess.Popen(
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
                stderr=subprocess.PIPE,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    deadline = clock.monotonic() + 30
    for url in urls:
        while True:
            try:
                if requests.get(f"{url}/privacy", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert clock.monotonic() < deadline, "server did not start"
            clock.sleep(0.1)
    yield urls
    for proc in procs:
        proc.terminate()
    for proc in procs:
        _, stderr = proc.communicate(timeout=10)
        assert b"Traceback" not in stderr, stderr.decode()[-2000:]


def test_thirty_clients_racing_for_one_slot_get_one_booking(app, servers):
    _, slug = add_therapist(app, hours=[(d, time(0), time(23, 30)) for d in range(7)])
    page = requests.get(f"{servers[0]}/therapists/{slug}?tz=UTC", timeout=10).text
    start = re.search(r"start=([0-9T:%A-F\-]+Z)", page).group(1).replace("%3A", ":")

    sessions, forms = [], []
    for i in range(RACERS):
        session = requests.Session()
        base = servers[i % SERVERS]
        html = session.get(
            f"{base}/book/{slug}", params={"start": start, "tz": "UTC"}, timeout=10
        ).text
        forms.append(
            (
                base,
                {
                    **CLIENT,
                    "email": f"client{i}@example.com",
                    "start": start,
                    "tz": "UTC",
                    "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(
                        1
                    ),
                    "idempotency_key": re.search(
                        r'name="idempotency_key"[^>]*value="([^"]+)"', html
                    ).group(1),
                },
            )
        )
        sessions.append(session)

    barrier = threading.Barrier(RACERS)
    results: list[tuple[int, str]] = [(0, "")] * RACERS

    def race(i: int) -> None:
        base, data = forms[i]
        barrier.wait()
        response = sessions[i].post(
            f"{base}/book/{slug}", data=data, allow_redirects=False, timeout=60
        )
        results[i] = (response.status_code, response.text)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    codes = sorted(code for code, _ in results)
    assert codes.count(303) == 1, codes
    assert codes.count(409) == RACERS - 1, codes
    assert all("That time was just taken" in text for code, text in results if code == 409)
    with app.app_context():
        booked = get_session().scalars(select(Consultation)).all()
        assert len(booked) == 1
        assert booked[0].starts_at.strftime("%Y-%m-%dT%H:%MZ") == start


def test_a_therapist_opening_an_intake_many_times_at_once_is_served_and_audited_each_time(
    app, servers
):
    """Every view appends to the audit chain; concurrent views (and bookings) queue for the
    write lock rather than failing, on SQLite as on PostgreSQL."""
    from helpers import book
    from test_intake_flow import answer, persona

    from practice.audit import AuditEvent
    from practice.audit.chain import verify
    from practice.intake.links import intake_url
    from practice.intake.models import Intake

    _, slug = add_therapist(app, hours=[(d, time(0), time(23, 30)) for d in range(7)])
    client = app.test_client()
    assert book(client, slug, "2030-01-07T09:00Z").status_code == 303
    with app.test_request_context():
        intake = get_session().scalars(select(Intake)).one()
        path = "/" + intake_url(intake).split("://", 1)[1].split("/", 1)[1]
        public_id = intake.public_id
    assert answer(client, path, persona(app, 5, 1)).status_code == 200

    staff = requests.Session()
    login = staff.get(f"{servers[0]}/staff/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    signed_in = staff.post(
        f"{servers[0]}/staff/login",
        data={"email": "maya@example.org", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text[:300]

    views = 20
    barrier = threading.Barrier(views)
    codes: list[int] = [0] * views

    def view(i: int) -> None:
        barrier.wait()
        codes[i] = staff.get(
            f"{servers[i % SERVERS]}/staff/intakes/{public_id}", timeout=60
        ).status_code

    threads = [threading.Thread(target=view, args=(i,)) for i in range(views)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * views
    with app.app_context():
        session = get_session()
        opened = session.scalars(select(AuditEvent).where(AuditEvent.action == "intake.view")).all()
        assert len(opened) == views
        assert verify(session.connection()).ok
