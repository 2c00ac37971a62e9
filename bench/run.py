"""Benchmarks: the slot page against a trivial page, and slot cost against booking history.

Run: .venv/bin/python bench/run.py [--database-url URL]   (default: a temporary SQLite file)
Prints each measurement next to its baseline, measured in the same run, and the targets.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time as timer
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from practice import create_app  # noqa: E402
from practice.booking import service  # noqa: E402
from practice.booking.models import Consultation, Therapist  # noqa: E402
from practice.clinician.service import add_therapist, save_availability  # noqa: E402
from practice.db import get_session  # noqa: E402
from practice.migrate import upgrade  # noqa: E402

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)  # a Monday
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"]
SLOT = timedelta(minutes=30)


def make_app(url: str):  # noqa: ANN201
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "PRACTICE_DATABASE_URL": url,
            "PRACTICE_CLOCK": lambda: NOW,
            "PRACTICE_RATELIMIT_ENABLED": False,
            "PRACTICE_MAIL_DIR": tempfile.mkdtemp(),
        }
    )
    upgrade(app.extensions["practice"].engine)
    return app


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def seed(app, therapists: int, past: int, future: int) -> list[str]:  # noqa: ANN001
    """Therapists open 08:00–18:00 on weekdays; history packed back in time, future in-hours."""
    with app.app_context():
        session = get_session()
        ids, slugs = [], []
        for i in range(therapists):
            t = add_therapist(
                session,
                email=f"t{i}@bench.example",
                name=f"Therapist {i:02d}",
                password="bench-password-123",
                timezone=ZONES[i % len(ZONES)],
            )
            save_availability(
                session,
                t,
                {"minimum_notice_hours": 0, "buffer_after_minutes": 0, "horizon_days": 28},
                [(d, time(8), time(18)) for d in range(5)],
            )
            ids.append(t.id)
            slugs.append(t.slug)
        rows = []
        # Oldest first: each insert then lands after everything stored, which is what a real
        # practice's history looks like, and keeps SQLite's overlap trigger to an index probe.
        for n in reversed(range(past)):
            tid = ids[n % therapists]
            start = NOW - timedelta(days=1) - SLOT * (n // therapists)
            rows.append(_row(tid, start, f"p{n}", "completed"))
        for n in range(future):
            tid = ids[n % therapists]
            k = n // therapists  # every other slot of a therapist's in-hours time, from tomorrow
            therapist = session.get(Therapist, tid)
            start = _nth_open_start(therapist, k * 2)
            rows.append(_row(tid, start, f"f{n}", "booked"))
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(Consultation), rows[chunk : chunk + 5000])
        session.commit()
        return slugs


_open_cache: dict[int, list] = {}


def _nth_open_start(therapist, n: int) -> datetime:  # noqa: ANN001
    if therapist.id not in _open_cache:
        from practice.booking.slots import open_slots

        _open_cache[therapist.id] = open_slots(therapist.rules(), [], NOW + timedelta(days=1))
    return _open_cache[therapist.id][n].start


def _row(tid: int, start: datetime, key: str, status: str) -> dict:
    return {
        "therapist_id": tid,
        "starts_at": start,
        "ends_at": start + SLOT,
        "blocked_start": start,
        "blocked_end": start + SLOT,
        "status": status,
        "client_name": "Client",
        "client_email": "c@example.com",
        "client_timezone": "UTC",
        "idempotency_key": f"bench-{key}",
        "public_id": f"00000000-0000-4000-8000-{abs(hash(key)) % 10**12:012d}",
        "manage_nonce": "n",
        "calendar_sequence": 0,
        "created_at": NOW,
        "updated_at": NOW,
        "kind": "individual",
        "client_phone": "",
        "partner_name": "",
        "partner_email": "",
        "note": "",
    }


def median_ms(fn, repeat: int) -> float:  # noqa: ANN001
    fn()  # warm up caches and the connection pool
    samples = []
    for _ in range(repeat):
        start = timer.perf_counter()
        fn()
        samples.append((timer.perf_counter() - start) * 1000)
    return statistics.median(samples)


def pages(app, slug: str, repeat: int) -> tuple[float, float]:  # noqa: ANN001
    client = app.test_client()

    def slot_page() -> None:
        assert client.get(f"/therapists/{slug}?tz=Europe/Paris").status_code == 200

    def trivial_page() -> None:
        assert client.get("/privacy").status_code == 200

    slot_times, trivial_times = [], []
    for _ in range(5):  # interleave so drift affects both alike
        slot_times.append(median_ms(slot_page, repeat // 5))
        trivial_times.append(median_ms(trivial_page, repeat // 5))
    return statistics.median(slot_times), statistics.median(trivial_times)


def submitted_intake(app) -> str:  # noqa: ANN001
    """Open and answer the intake of therapist 1's first booking; its public id."""
    from practice.intake.service import open_intakes, submit

    with app.app_context():
        session = get_session()
        consultation = session.scalars(
            select(Consultation)
            .where(Consultation.therapist_id == 1, Consultation.status == "booked")
            .limit(1)
        ).one()
        form = app.extensions["practice"].questionnaires.get(app.config["PRACTICE_INTAKE_FORM"])
        [intake] = open_intakes(session, consultation, form, NOW)
        answers = {
            item.id: ("4" if item.kind == "agreement" else "no" if item.safety else "")
            for item in form.items.values()
        }
        answers.update({i.id: "Feeling alone in it." for i in form.items.values() if i.required})
        session.commit()
        submit(session, intake, answers, form, NOW, on_urgent=lambda *_: None)
        return intake.public_id


def intake_pages(app, repeat: int) -> tuple[float, float]:  # noqa: ANN001
    """A therapist opening a submitted intake, next to a trivial page, both signed in."""
    import re

    public_id = submitted_intake(app)
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    signed_in = client.post(
        "/staff/login",
        data={"email": "t0@bench.example", "password": "bench-password-123", "csrf_token": token},
    )
    assert signed_in.status_code == 302, signed_in.status_code

    def intake_page() -> None:
        assert client.get(f"/staff/intakes/{public_id}").status_code == 200

    def trivial_page() -> None:
        assert client.get("/privacy").status_code == 200

    intake_times, trivial_times = [], []
    for _ in range(5):
        intake_times.append(median_ms(intake_page, repeat // 5))
        trivial_times.append(median_ms(trivial_page, repeat // 5))
    return statistics.median(intake_times), statistics.median(trivial_times)


def slot_cost(app, repeat: int) -> float:  # noqa: ANN001
    with app.app_context():
        session = get_session()
        therapist = session.get(Therapist, 1)

        def compute() -> None:
            session.rollback()
            service.open_slots(session, therapist, NOW)

        return median_ms(compute, repeat)


def fresh_url(base: str | None, name: str, tmp: Path) -> str:
    if base:
        reset_postgres(base)
        return base
    return f"sqlite:///{tmp / name}.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL URL to use (its schema is wiped)")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="practice-bench-"))

    print("seeding 20 therapists, 50,000 past and 2,000 future consultations ...", flush=True)
    app = make_app(fresh_url(args.database_url, "main", tmp))
    slugs = seed(app, 20, 50_000, 2_000)
    slot_ms, trivial_ms = pages(app, slugs[0], args.repeat)
    ratio_page = slot_ms / trivial_ms
    print(
        f"slot page      {slot_ms:7.2f} ms   trivial page {trivial_ms:7.2f} ms   "
        f"ratio {ratio_page:.2f}x  (target <= 2.0x) {'OK' if ratio_page <= 2.0 else 'MISSED'}"
    )
    intake_ms, trivial_ms = intake_pages(app, args.repeat)
    ratio_intake = intake_ms / trivial_ms
    print(
        f"intake page    {intake_ms:7.2f} ms   trivial page {trivial_ms:7.2f} ms   "
        f"ratio {ratio_intake:.2f}x  (target <= 2.0x) {'OK' if ratio_intake <= 2.0 else 'MISSED'}"
    )
    app.extensions["practice"].engine.dispose()

    results = {}
    for stored in (1_000, 100_000):
        app = make_app(fresh_url(args.database_url, f"h{stored}", tmp))
        # The same future bookings in both: only the history differs.
        future = 500
        seed(app, 20, stored - future, future)
        results[stored] = slot_cost(app, args.repeat)
        app.extensions["practice"].engine.dispose()
    ratio_history = results[100_000] / results[1_000]
    print(
        f"slot computation with 1,000 stored {results[1_000]:7.2f} ms   with 100,000 stored "
        f"{results[100_000]:7.2f} ms   ratio {ratio_history:.2f}x  (target <= 1.3x) "
        f"{'OK' if ratio_history <= 1.3 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
