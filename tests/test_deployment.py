"""Running on several processes and machines: one secret for all workers, the proxy's headers
trusted only when asked, and the outbox worker as a long-running process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time as clock
from pathlib import Path

import pytest
from flask import request

from practice import create_app
from practice.app import _instance_secret
from practice.mail import delivery
from practice.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
RACERS = 4
ROUNDS = 60

# Each racer waits for the same moment, then makes the secret of ROUNDS fresh instance folders.
RACER = """
import json, os, sys, time
from practice.app import _instance_secret
base, start = sys.argv[1], float(sys.argv[2])
while time.time() < start:
    pass
keys = []
for i in range(int(sys.argv[3])):
    folder = os.path.join(base, str(i))
    os.makedirs(folder, exist_ok=True)
    keys.append(_instance_secret(folder))
print(json.dumps(keys))
"""


def test_workers_starting_at_once_share_one_secret_key(tmp_path):
    start = clock.time() + 3  # after every racer has imported the app
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), str(start), str(ROUNDS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(RACERS)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out))
    for i in range(ROUNDS):
        folder = tmp_path / str(i)
        keys = {keys[i] for keys in results}
        assert keys == {(folder / "secret_key").read_text().strip()}, i
        assert len(keys.pop()) >= 64
        assert sorted(p.name for p in folder.iterdir()) == ["secret_key"]  # no temporary left
        assert (folder / "secret_key").stat().st_mode & 0o077 == 0


def test_an_empty_secret_key_file_stops_start_up_with_advice(tmp_path):
    # What an interrupted start of an earlier version could leave: never silently replaced.
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(RuntimeError, match="secret_key is empty"):
        _instance_secret(str(tmp_path))


def test_the_secret_key_survives_a_restart(tmp_path):
    assert _instance_secret(str(tmp_path)) == _instance_secret(str(tmp_path))


@pytest.fixture
def standalone(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """create_app() as gunicorn calls it, configured from the environment; /_seen shows what
    the app believes about the request."""
    monkeypatch.setenv("PRACTICE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("PRACTICE_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")

    def make(proxy_fix: str | None):  # noqa: ANN202
        if proxy_fix is None:
            monkeypatch.delenv("PRACTICE_PROXY_FIX", raising=False)
        else:
            monkeypatch.setenv("PRACTICE_PROXY_FIX", proxy_fix)
        app = create_app()
        upgrade(app.extensions["practice"].engine)

        @app.get("/_seen")
        def seen():  # noqa: ANN202
            return {
                "addr": request.remote_addr,
                "scheme": request.scheme,
                "host": request.host,
                "root": request.script_root,
            }

        return app.test_client()

    return make


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "counselling.example.org",
    "X-Forwarded-Prefix": "/counselling",
}


def test_proxy_headers_are_ignored_unless_proxy_fix_is_configured(standalone):
    seen = standalone(None).get("/_seen", headers=FORWARDED, environ_base=_peer()).json
    assert seen == {"addr": "10.0.0.2", "scheme": "http", "host": "localhost", "root": ""}


def test_proxy_fix_trusts_one_proxy_for_address_scheme_and_host(standalone):
    client = standalone("true")
    seen = client.get("/_seen", headers=FORWARDED, environ_base=_peer()).json
    assert seen == {
        "addr": "203.0.113.7",
        "scheme": "https",
        "host": "counselling.example.org",
        "root": "",  # the prefix header was not asked for
    }
    # A client's own forged X-Forwarded-For is kept apart: only the proxy's last entry counts.
    forged = {**FORWARDED, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert client.get("/_seen", headers=forged, environ_base=_peer()).json["addr"] == "203.0.113.7"
    # What the app now does with it: the time-zone cookie is marked Secure behind TLS.
    page = client.get("/?tz=Europe/Paris", headers=FORWARDED, environ_base=_peer())
    assert "Secure" in page.headers["Set-Cookie"]


def test_proxy_fix_takes_werkzeug_arguments_as_json(standalone):
    client = standalone('{"x_for": 2, "x_prefix": 1}')
    headers = {**FORWARDED, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    seen = client.get("/_seen", headers=headers, environ_base=_peer()).json
    assert seen == {
        "addr": "198.51.100.1",
        "scheme": "http",
        "host": "localhost",
        "root": "/counselling",
    }


@pytest.mark.parametrize("value", ['"yes"', '{"x_forwarded": 1}', '{"x_for": -1}', "[1]"])
def test_a_proxy_fix_setting_we_cannot_read_stops_start_up(standalone, value):
    with pytest.raises(ValueError, match="PRACTICE_PROXY_FIX"):
        standalone(value)


def _peer() -> dict:
    return {"REMOTE_ADDR": "10.0.0.2"}


def test_send_outbox_every_keeps_sending_until_sigterm(app, runner, monkeypatch):
    real = delivery.send_due
    calls = []

    def counting():  # noqa: ANN202
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionRefusedError  # the database or mail server is down for a pass
        report = real()
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends to stop the worker
        return report

    monkeypatch.setattr(delivery, "send_due", counting)
    before = signal.getsignal(signal.SIGTERM)
    result = runner.invoke(args=["practice", "send-outbox", "--every", "0.01"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 3
    assert "pass failed (ConnectionRefusedError); trying again" in result.output
    assert result.output.strip().endswith("stopped after 3 passes")
    assert signal.getsignal(signal.SIGTERM) is before


def test_send_outbox_once_is_still_the_default(app, runner):
    result = runner.invoke(args=["practice", "send-outbox"])
    assert result.output.strip() == "sent 0, will retry 0, given up 0, dropped as out of date 0"
