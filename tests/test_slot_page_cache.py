"""The slot page reuses what it rendered until the therapist's schedule version moves.

The version is moved by database triggers (migration 0007), so these tests change the schedule
from places the page's memo never hears about: another server, a hand-run SQL statement.
"""

from __future__ import annotations

from datetime import date, time

import pytest
from conftest import csrf_from, make_test_app
from helpers import book, manage_path, slot_starts
from sqlalchemy import select, text, update

from practice.booking import service
from practice.booking.models import Consultation, Therapist
from practice.clinician.service import add_time_off, remove_time_off, save_availability
from practice.db import get_session

MONDAY_9 = "2030-01-07T09:00Z"
MONDAY_10 = "2030-01-07T10:00Z"


@pytest.fixture
def other_server(database_url, tmp_path, clock):  # noqa: ANN001, ANN201
    """A second app on the same database: another process, with a memo of its own."""
    other = make_test_app(database_url, tmp_path / "other", clock)
    yield other
    other.extensions["practice"].engine.dispose()


def shown(client, slug: str) -> list[str]:  # noqa: ANN001
    return slot_starts(client.get(f"/therapists/{slug}?tz=UTC").get_data(as_text=True))


def version(app, therapist_id: int) -> int:  # noqa: ANN001
    with app.app_context():
        return get_session().get(Therapist, therapist_id).schedule_version


def test_a_booking_on_another_server_leaves_this_servers_page(app, client, therapist, other_server):
    _, slug = therapist
    assert MONDAY_9 in shown(client, slug)  # rendered and kept by this server
    assert len(app.extensions["practice"].slot_pages) == 1
    elsewhere = other_server.test_client()
    path = manage_path(book(elsewhere, slug, MONDAY_9))
    assert MONDAY_9 not in shown(client, slug)
    # Cancelled on the other server: the time comes back here too.
    page = elsewhere.get(path).get_data(as_text=True)
    cancelled = elsewhere.post(f"{path}/cancel", data={"csrf_token": csrf_from(page)})
    assert cancelled.status_code == 303
    assert MONDAY_9 in shown(client, slug)


def test_a_hand_run_sql_fix_moves_the_page_too(app, client, therapist):
    therapist_id, slug = therapist
    book(client, slug, MONDAY_9)
    assert MONDAY_9 not in shown(client, slug)
    engine = app.extensions["practice"].engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE practice_consultation SET status = 'cancelled'"))
    assert MONDAY_9 in shown(client, slug)
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM practice_availability_window WHERE therapist_id = :id"),
            {"id": therapist_id},
        )
    assert shown(client, slug) == []


def test_the_version_moves_with_held_time_and_only_with_it(app, client, therapist, clock):
    therapist_id, slug = therapist
    start = version(app, therapist_id)
    book(client, slug, MONDAY_9)
    assert version(app, therapist_id) == start + 1
    with app.app_context():
        session = get_session()
        consultation = session.scalars(select(Consultation)).one()
        # An outcome, a reminder sent or a client's details erased: the same time stays held.
        service.set_outcome(session, consultation.id, "completed", clock.now)
        session.execute(update(Consultation).values(client_name="Someone", reminder_sent_at=None))
        session.commit()
    assert version(app, therapist_id) == start + 1
    with app.app_context():
        session = get_session()
        service.set_outcome(session, consultation.id, "booked", clock.now)
        consultation = session.scalars(select(Consultation)).one()
        service.cancel(session, consultation.id, clock.now, notify=lambda *_: None)
    assert version(app, therapist_id) == start + 2
    with app.app_context():
        session = get_session()
        maya = session.get(Therapist, therapist_id)
        add_time_off(session, maya, date(2030, 1, 7), date(2030, 1, 7))
    assert version(app, therapist_id) == start + 3
    assert not any(s.startswith("2030-01-07") for s in shown(client, slug))
    with app.app_context():
        session = get_session()
        maya = session.get(Therapist, therapist_id)
        assert remove_time_off(session, maya, maya.time_off[0].id)
        save_availability(session, maya, {}, [(0, time(10), time(11))])
    assert version(app, therapist_id) > start + 4
    assert shown(client, slug)[0] == MONDAY_10


def test_the_page_follows_the_clock_without_any_change(app, client, therapist, clock):
    _, slug = therapist
    assert MONDAY_9 in shown(client, slug)
    clock.advance(hours=3, minutes=1)  # 09:01 UTC: nine o'clock has gone
    assert MONDAY_9 not in shown(client, slug)
