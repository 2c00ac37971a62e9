"""Load benchmark: the app under gunicorn, 2 then 4 workers, on SQLite and on PostgreSQL.

Run: .venv/bin/python bench/load.py [--quick] [--duration SECONDS] [--sqlite-only]

Each configuration gets a fresh copy of one seeded database (20 therapists, 10,000 past and 400
future consultations, one submitted intake) and a fresh instance folder, so its workers make
the shared secret key themselves, all starting at once. `wrk` (apt-get install wrk; installed
here when missing and run as root) drives it from its own process over loopback at 50
connections, and prints requests/second and p95 for:

- the slot page  /therapists/<slug>?tz=Europe/Paris
- the intake page  /staff/intakes/<public_id>, signed in as the therapist (the session cookie
  taken from a real login against the same server; every response must be a 200, which also
  shows that all workers sign sessions with the same key)
- a booking POST: one session's CSRF token, a fresh idempotency key and a different open slot
  each request (weeks 2-4 of 18 therapists, round robin), so each is a real booking (303);
  any 409 (slots ran out) or other status is counted and printed
- the trivial page /privacy, measured on the same server in the same run, as the baseline.

Then 200 clients race for 10 slots (20 per slot, each with its own session and form, released
at once): exactly 10 must get a booking and 10 consultations exist, one per slot.

The app's clock is fixed (instance config.py sets PRACTICE_CLOCK, as bench/run.py does) so the
seeded bookings line up with the week shown; a real clock changes the slot page's memo key once
a minute, which makes no measurable difference to a 10-second run. The load generator shares
the machine's cores with the server, so figures are lower than on separate machines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time as timer
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
import run as bench  # noqa: E402  (bench/run.py: make_app, seed, submitted_intake, NOW)
from sqlalchemy import create_engine, select, text  # noqa: E402

THERAPISTS, PAST, FUTURE = 20, 10_000, 400
CONNECTIONS = 50
RACERS, RACE_SLOTS = 200, 10
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-123"  # bench/run.py seed()
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# Shared by every wrk run: count statuses per thread, print one JSON line at the end.
STATS_LUA = r"""
local threads = {}
local made = 0
function setup(thread)
  thread:set("tid", made)
  made = made + 1
  table.insert(threads, thread)
end
function init(args)
  nthreads = tonumber(args[1] or "1")
  next_index = tid
  codes = {}
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("codes")) do
      all[status] = (all[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(all) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %f, "p50": %f, "p95": %f, "p99": %f, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "codes": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
"""

# Booking: a different slot and a fresh idempotency key for every request.
BOOKING_LUA = r"""
function request()
  local i = next_index
  next_index = next_index + nthreads
  local slot = slots[(i % #slots) + 1]
  local key = string.format("%08x%08x%08x%08x", tid, i, math.random(0, 0x7fffffff), run_id)
  local body = form .. "&start=" .. slot[2] .. "&idempotency_key=" .. key
  return wrk.format("POST", slot[1], nil, body)
end
"""


@dataclass
class Result:
    label: str
    rps: float
    p50: float
    p95: float
    p99: float
    codes: dict[int, int]
    errors: dict[str, int] = field(default_factory=dict)

    def line(self, baseline: Result | None = None) -> str:
        codes = " ".join(f"{n}x{code}" for code, n in sorted(self.codes.items()))
        errors = " ".join(f"{n} {kind}" for kind, n in self.errors.items() if n)
        text = (
            f"  {self.label:<24}{self.rps:9.1f} req/s   p50 {self.p50:7.1f} ms   "
            f"p95 {self.p95:7.1f} ms   p99 {self.p99:7.1f} ms   [{codes}"
            + (f" {errors}]" if errors else "]")
        )
        if baseline is not None:
            text += f"   {self.rps / baseline.rps:.2f}x the trivial page's req/s"
        return text


# --- the database: seeded once per kind, copied for each configuration --------------------------


def pg_admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


class Database:
    """A seeded template and fresh copies of it; every copy is removed at the end."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp = kind, tmp
        self.pid = os.getpid()
        self.copies: list[str] = []
        if kind == "sqlite":
            self.template_url = f"sqlite:///{tmp / 'template.sqlite3'}"
        else:
            self.template_name = f"practice_load_{self.pid}_template"
            pg_admin(f'CREATE DATABASE "{self.template_name}"')
            self.template_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.template_name

    def copy(self, n: int) -> str:
        if self.kind == "sqlite":
            path = self.tmp / f"copy{n}.sqlite3"
            shutil.copyfile(self.tmp / "template.sqlite3", path)
            return f"sqlite:///{path}"
        name = f"practice_load_{self.pid}_{n}"
        pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
        self.copies.append(name)
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        if self.kind == "sqlite":
            return
        for name in [*self.copies, self.template_name]:
            with suppress(Exception):
                pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Seeded:
    slug: str  # the slot page's therapist, who also owns the submitted intake
    intake: str
    booking_slots: list[tuple[str, str]]  # (path, start), round robin over 18 therapists
    race_slug: str
    race_slots: list[str]


def seed(db: Database, instance: Path) -> Seeded:
    from practice.booking import service
    from practice.booking.models import Therapist
    from practice.db import get_session

    app = bench.make_app(db.template_url)  # PRACTICE_INSTANCE_PATH is `instance` (see main)
    slugs = bench.seed(app, THERAPISTS, PAST, FUTURE)
    intake = bench.submitted_intake(app)
    week_two = bench.NOW + timedelta(days=7)  # the slot page shows the first week: left alone
    per_therapist = []
    with app.app_context():
        session = get_session()
        for slug in slugs:
            therapist = session.scalars(select(Therapist).where(Therapist.slug == slug)).one()
            starts = [
                s.start.strftime("%Y-%m-%dT%H:%MZ")
                for s in service.open_slots(session, therapist, bench.NOW)
                if s.start >= week_two
            ]
            per_therapist.append((slug, starts))
    app.extensions["practice"].engine.dispose()
    race_slug, race_starts = per_therapist[-1]
    booking = []
    for i in range(max(len(s) for _, s in per_therapist[1:-1])):
        for slug, starts in per_therapist[1:-1]:
            if i < len(starts):
                booking.append((f"/book/{slug}", starts[i]))
    return Seeded(slugs[0], intake, booking, race_slug, race_starts[:RACE_SLOTS])


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(workers: int, url: str, instance: Path, tmp: Path):  # noqa: ANN201
    port = free_port()
    log = tmp / f"gunicorn-{port}.log"
    env = {
        **os.environ,
        "PRACTICE_DATABASE_URL": url,
        "PRACTICE_INSTANCE_PATH": str(instance),
        "PRACTICE_RATELIMIT_ENABLED": "false",
        "PRACTICE_MAIL_DIR": str(tmp / "mail"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--no-control-socket",  # one shared path in $HOME otherwise, across all servers
            "practice.app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),  # gunicorn's own log and the app's: checked for tracebacks
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = timer.monotonic() + 60
        while True:
            assert proc.poll() is None, f"gunicorn exited: {log.read_text()[-3000:]}"
            with suppress(requests.RequestException):  # a worker still importing the app
                if requests.get(f"{base}/privacy", timeout=30).status_code == 200:
                    break
            assert timer.monotonic() < deadline, "gunicorn did not start"
            timer.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        report_log(log)


def report_log(log: Path) -> None:
    """What the server said besides gunicorn's own start and stop lines, counted."""
    said: dict[str, int] = {}
    for line in log.read_text().splitlines():
        stamp = re.match(r"^\[[^]]+\] \[\d+\] \[(\w+)\] ", line)
        if stamp and stamp.group(1) == "INFO":
            continue
        message = line[stamp.end() :] if stamp else line
        said[message] = said.get(message, 0) + 1
    for message, n in sorted(said.items(), key=lambda item: -item[1])[:5]:
        print(f"  server log, {n}x: {message[:160]}", flush=True)


def cookies_of(*responses: requests.Response) -> str:
    """The Cookie header a browser would send back (the session cookie is Secure outside
    development, so requests itself would not send it over plain http)."""
    jar: dict[str, str] = {}
    for response in responses:
        jar.update(response.cookies.get_dict())
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def sign_in(base: str) -> str:
    page = requests.get(f"{base}/staff/login", timeout=10)
    cookie = cookies_of(page)
    done = requests.post(
        f"{base}/staff/login",
        data={
            "email": "t0@bench.example",
            "password": PASSWORD,
            "csrf_token": CSRF.search(page.text).group(1),
        },
        headers={"Cookie": cookie},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code in (302, 303), (done.status_code, done.text[:500])
    return cookies_of(page, done)


def booking_form(base: str, path: str, start: str) -> tuple[str, dict[str, str]]:
    """(Cookie header, form fields) as a client's browser holds them on the booking form."""
    page = requests.get(f"{base}{path}", params={"start": start, "tz": "UTC"}, timeout=30)
    assert page.status_code == 200, (page.status_code, page.text[:300])
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page.text).group(1)
    return cookies_of(page), {
        "csrf_token": CSRF.search(page.text).group(1),
        "idempotency_key": key,
        "start": start,
        "tz": "UTC",
        "name": "Load Test",
        "email": "load@example.com",
        "kind": "individual",
        "consent": "y",
        "not_emergency": "y",
    }


# --- wrk ----------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install wrk ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
    if found is None:
        sys.exit("bench/load.py needs wrk: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
    return found


def wrk(
    label: str,
    url: str,
    seconds: float,
    tmp: Path,
    cookie: str = "",
    lua_extra: str = "",
) -> Result:
    script = tmp / "wrk.lua"
    script.write_text(lua_extra + STATS_LUA)
    threads = 2
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "20s",
        "-s",
        str(script),
    ]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*cmd, url, "--", str(threads)], capture_output=True, text=True)
    found = re.search(r"^RESULT (.*)$", out.stdout, re.M)
    assert found, out.stdout + out.stderr
    data = json.loads(found.group(1))
    return Result(
        label=label,
        rps=data["requests"] / data["seconds"],
        p50=data["p50"],
        p95=data["p95"],
        p99=data["p99"],
        codes={int(k): v for k, v in data["codes"].items()},
        errors={k: data[k] for k in ("connect", "read", "write", "timeout")},
    )


def booking_lua(base: str, seeded: Seeded, cookie: str, form: dict[str, str]) -> str:
    fields = {k: v for k, v in form.items() if k not in ("start", "idempotency_key")}
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())
    slots = ",\n".join(
        f'{{"{path}", "{quote(start, safe="")}"}}' for path, start in seeded.booking_slots
    )
    return (
        f"form = {json.dumps(body)}\n"
        f"run_id = {os.getpid() % 0x7FFFFFFF}\n"
        f"slots = {{\n{slots}\n}}\n"
        f'wrk.headers["Cookie"] = {json.dumps(cookie)}\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n' + BOOKING_LUA
    )


# --- the race -----------------------------------------------------------------------------


def race(base: str, url: str, seeded: Seeded) -> tuple[dict[int, int], dict[str, int]]:
    """200 clients, each with its own session and form, POST at once for 10 slots."""
    path = f"/book/{seeded.race_slug}"
    with ThreadPoolExecutor(8) as pool:  # each client opens the form first, as in a browser
        forms = list(
            pool.map(
                lambda i: booking_form(base, path, seeded.race_slots[i % RACE_SLOTS]), range(RACERS)
            )
        )
    for i, (_, form) in enumerate(forms):
        form["email"] = f"racer{i}@example.com"
    barrier = threading.Barrier(RACERS)
    codes: list[int] = [0] * RACERS

    def go(i: int) -> None:
        cookie, form = forms[i]
        barrier.wait()
        codes[i] = requests.post(
            f"{base}{path}",
            data=form,
            headers={"Cookie": cookie},
            allow_redirects=False,
            timeout=120,
        ).status_code

    threads = [threading.Thread(target=go, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counted: dict[int, int] = {}
    for code in codes:
        counted[code] = counted.get(code, 0) + 1

    from practice.booking.models import Consultation, Therapist

    engine = create_engine(url)
    with engine.connect() as conn:
        therapist_id = conn.execute(
            select(Therapist.id).where(Therapist.slug == seeded.race_slug)
        ).scalar_one()
        rows = conn.execute(
            select(Consultation.starts_at).where(
                Consultation.therapist_id == therapist_id, Consultation.status == "booked"
            )
        ).all()
    engine.dispose()
    per_slot: dict[str, int] = {start: 0 for start in seeded.race_slots}
    for (starts_at,) in rows:
        key = starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
        if key in per_slot:
            per_slot[key] += 1
    return counted, per_slot


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3-second runs (a smoke test)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()
    seconds = args.duration or (3 if args.quick else 10)
    warmup = 1 if args.quick else 2
    ensure_wrk()
    started = timer.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="practice-load-"))

    kinds = ["sqlite"]
    if not args.sqlite_only:
        try:
            pg_admin("SELECT 1")
            kinds.append("postgresql")
        except Exception as exc:  # say so: a run without PostgreSQL is not the full benchmark
            print(f"PostgreSQL not reachable at {PG_ADMIN} ({type(exc).__name__}): skipped")

    targets: list[tuple[str, bool]] = []
    races_ok = True
    for kind in kinds:
        db = Database(kind, tmp / kind if kind == "sqlite" else tmp)
        (tmp / kind).mkdir(exist_ok=True)
        seed_instance = tmp / kind / "instance"
        seed_instance.mkdir()
        # Workers read this; the seeding app gets the same clock from bench/run.py make_app.
        (seed_instance / "config.py").write_text(
            "from datetime import UTC, datetime\n\n"
            f"PRACTICE_CLOCK = lambda: datetime.fromisoformat({bench.NOW.isoformat()!r})\n"
        )
        os.environ["PRACTICE_INSTANCE_PATH"] = str(seed_instance)  # any keys seeding makes
        try:
            t0 = timer.monotonic()
            print(
                f"\n=== {kind}: seeding {THERAPISTS} therapists, {PAST:,} past and {FUTURE} future "
                "consultations, one submitted intake ...",
                flush=True,
            )
            seeded = seed(db, seed_instance)
            print(
                f"    seeded in {timer.monotonic() - t0:.0f} s; {len(seeded.booking_slots):,} open "
                f"slots to book",
                flush=True,
            )
            for n, workers in enumerate((2, 4)):
                url = db.copy(n)
                instance = tmp / kind / f"instance-{workers}"
                shutil.copytree(seed_instance, instance)  # no secret_key in it: workers make it
                print(
                    f"\n{kind}, gunicorn {workers} sync workers, {CONNECTIONS} connections, "
                    f"{seconds:g} s per run",
                    flush=True,
                )
                with gunicorn(workers, url, instance, tmp) as base:
                    slot_url = f"{base}/therapists/{seeded.slug}?tz=Europe/Paris"
                    intake_url = f"{base}/staff/intakes/{seeded.intake}"
                    staff = sign_in(base)
                    for warm, cookie in ((slot_url, ""), (intake_url, staff)):
                        wrk("warm-up", warm, warmup, tmp, cookie=cookie)
                    trivial = wrk("trivial page /privacy", f"{base}/privacy", seconds, tmp)
                    slot = wrk("slot page", slot_url, seconds, tmp)
                    intake = wrk("intake page (signed in)", intake_url, seconds, tmp, cookie=staff)
                    cookie, form = booking_form(base, *seeded.booking_slots[0])
                    booking = wrk(
                        "booking POST",
                        base + seeded.booking_slots[0][0],
                        seconds,
                        tmp,
                        lua_extra=booking_lua(base, seeded, cookie, form),
                    )
                    print(trivial.line(), flush=True)
                    for result in (slot, intake, booking):
                        print(result.line(trivial), flush=True)
                    created = booking.codes.get(303, 0)
                    print(
                        f"  booking POSTs: {created} booked (303), {booking.codes.get(409, 0)} "
                        f"refused as taken (409), "
                        f"{sum(booking.codes.values()) - created - booking.codes.get(409, 0)} other"
                    )
                    if intake.codes.keys() != {200}:
                        print(f"  !! the intake page answered {intake.codes}: not all 200")
                    codes, per_slot = race(base, url, seeded)
                    won = codes.get(303, 0)
                    ok = won == RACE_SLOTS and set(per_slot.values()) == {1}
                    races_ok &= ok
                    print(
                        f"  race: {RACERS} clients for {RACE_SLOTS} slots -> "
                        f"{won} booked, {codes.get(409, 0)} told it was taken, "
                        f"other { ({c: n for c, n in codes.items() if c not in (303, 409)}) }; "
                        f"{sum(per_slot.values())} consultations in the database, per slot "
                        f"{sorted(per_slot.values())}  {'PASS' if ok else 'FAIL'}",
                        flush=True,
                    )
                config = f"{kind}, {workers} workers"
                if workers == 2:
                    targets.append(
                        (
                            f"slot page p95 < 50 ms at {CONNECTIONS} clients, {config}: "
                            f"{slot.p95:.1f} ms",
                            slot.p95 < 50,
                        )
                    )
                ratio = slot.rps / trivial.rps
                targets.append(
                    (
                        f"slot page req/s >= half the trivial page's, {config}: "
                        f"{slot.rps:.0f} vs {trivial.rps:.0f} ({ratio:.2f}x)",
                        ratio >= 0.5,
                    )
                )
        finally:
            db.drop_all()
            os.environ.pop("PRACTICE_INSTANCE_PATH", None)

    print("\nTargets")
    for text_, ok in targets:
        print(f"  {'PASS' if ok else 'MISS'}  {text_}")
    print(
        f"  {'PASS' if races_ok else 'FAIL'}  every race ended with exactly {RACE_SLOTS} bookings"
    )
    print(f"\n(total {timer.monotonic() - started:.0f} s)")
    shutil.rmtree(tmp, ignore_errors=True)
    if not races_ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
