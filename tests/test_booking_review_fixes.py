"""Defects a booking review found: each test failed before its fix."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from conftest import PASSWORD, add_therapist, csrf_from
from helpers import CLIENT, book, booking_form, manage_path, text
from sqlalchemy import func, select

from practice.auth.service import create_staff_user
from practice.booking.models import Consultation, Therapist
from practice.db import get_session
from practice.mail.models import OutboxMessage

MONDAY_9 = "2030-01-07T09:00Z"
API_BODY = {
    "start": MONDAY_9,
    "tz": "UTC",
    "name": "Jordan Lee",
    "email": "jordan@example.com",
    "consent": True,
    "not_emergency": True,
    "idempotency_key": "a" * 32,
}
ODD_DATES = [
    "0001-01-01T00:00+01:00",
    "9999-12-31T23:59-01:00",
    "9999-12-31T00:00Z",
    "2035-01-07T09:00Z",  # a real date, but years beyond any horizon
]


def outbox_count(app) -> int:  # noqa: ANN001
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(OutboxMessage))


def only_consultation(app) -> Consultation:  # noqa: ANN001
    with app.app_context():
        return get_session().scalars(select(Consultation)).unique().one()


# --- 1. dates far outside any calendar are a clear 400, never a 500 ----------------------------


@pytest.mark.parametrize("odd", ODD_DATES)
def test_odd_dates_on_the_book_page_get_the_choose_a_time_page(client, therapist, odd):
    _, slug = therapist
    response = client.get(f"/book/{slug}", query_string={"start": odd})
    assert response.status_code == 400
    assert "Please choose a time first" in text(response)


@pytest.mark.parametrize("odd", ODD_DATES)
def test_odd_dates_in_the_api_are_explained(client, therapist, odd):
    _, slug = therapist
    slots = client.get(f"/api/v1/therapists/{slug}/slots", query_string={"from": odd})
    assert slots.status_code == 400
    assert "within two years" in slots.get_json()["error"]
    created = client.post(
        "/api/v1/consultations", json={**API_BODY, "therapist": slug, "start": odd}
    )
    assert created.status_code == 422
    assert "start" in created.get_json()["fields"]


@pytest.mark.parametrize("odd", ODD_DATES)
def test_odd_dates_when_rescheduling_ask_for_a_time_shown(client, therapist, odd):
    _, slug = therapist
    path = manage_path(book(client, slug, MONDAY_9))
    page = client.get(f"{path}/reschedule?tz=UTC").get_data(as_text=True)
    response = client.post(
        f"{path}/reschedule", data={"csrf_token": csrf_from(page), "start": odd, "tz": "UTC"}
    )
    assert response.status_code == 422
    assert "Please choose one of the times shown." in text(response)


def test_the_openapi_document_says_how_far_times_may_be(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    start = doc["components"]["schemas"]["BookingRequest"]["properties"]["start"]
    assert "two years" in start["description"]
    params = doc["paths"]["/therapists/{slug}/slots"]["get"]["parameters"]
    (from_param,) = [p for p in params if p["name"] == "from"]
    assert "two years" in from_param["description"]


# --- 2. an idempotency key only returns the booking it was first used for ----------------------


def test_api_key_reuse_with_other_details_is_refused_without_leaking(client, therapist):
    _, slug = therapist
    first = client.post("/api/v1/consultations", json={**API_BODY, "therapist": slug})
    assert first.status_code == 201
    secret = first.get_json()["manage_token"]
    for changed in (
        {"start": "2030-01-07T10:00Z", "email": "sam@example.com", "name": "Sam"},
        {"email": "sam@example.com"},
        {"start": "2030-01-07T10:00Z"},
    ):
        other = client.post(
            "/api/v1/consultations", json={**API_BODY, "therapist": slug, **changed}
        )
        assert other.status_code == 422, changed
        body = other.get_data(as_text=True)
        assert secret not in body and "manage_token" not in body
        assert "idempotency_key" in other.get_json()["fields"]
    # The same request again (email in other capitals) is still a safe retry.
    again = client.post(
        "/api/v1/consultations",
        json={**API_BODY, "therapist": slug, "email": "Jordan@Example.com"},
    )
    assert again.status_code == 200
    assert again.get_json()["manage_token"] == secret


def test_api_key_reuse_for_another_therapist_is_refused(app, client, therapist):
    _, slug = therapist
    _, other_slug = add_therapist(app, name="Tom Okafor")
    assert (
        client.post("/api/v1/consultations", json={**API_BODY, "therapist": slug}).status_code
        == 201
    )
    other = client.post("/api/v1/consultations", json={**API_BODY, "therapist": other_slug})
    assert other.status_code == 422
    assert "manage_token" not in other.get_json()


def test_form_key_reuse_with_other_details_does_not_open_someone_elses_booking(
    app, client, therapist
):
    _, slug = therapist
    form = booking_form(client, slug, MONDAY_9)
    first = client.post(f"/book/{slug}", data={**form, **CLIENT})
    assert first.status_code == 303
    rival = app.test_client()
    rival_form = booking_form(rival, slug, "2030-01-07T10:00Z")
    response = rival.post(
        f"/book/{slug}",
        data={
            **rival_form,
            **CLIENT,
            "idempotency_key": form["idempotency_key"],
            "email": "sam@example.com",
            "name": "Sam Rivera",
        },
    )
    assert response.status_code == 409
    assert "Location" not in response.headers
    assert "choose your time again" in text(response)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Consultation)) == 1


# --- 3. a consultation that has started can't be cancelled by the client ----------------------


def test_cancel_from_the_manage_link_after_the_start_is_refused_kindly(
    app, client, clock, therapist
):
    _, slug = therapist
    path = manage_path(book(client, slug, MONDAY_9))
    page = client.get(path).get_data(as_text=True)
    token = csrf_from(page)
    before = outbox_count(app)
    clock.now = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    response = client.post(f"{path}/cancel", data={"csrf_token": token})
    assert response.status_code == 409
    assert "already started" in text(response)
    assert only_consultation(app).status == "booked"
    assert outbox_count(app) == before


def test_cancel_by_api_after_the_start_is_a_409(app, client, clock, therapist):
    _, slug = therapist
    token = client.post("/api/v1/consultations", json={**API_BODY, "therapist": slug}).get_json()[
        "manage_token"
    ]
    before = outbox_count(app)
    clock.now = datetime(2030, 1, 7, 9, 10, tzinfo=UTC)
    response = client.post(f"/api/v1/consultations/{token}/cancel")
    assert response.status_code == 409
    assert "already started" in response.get_json()["error"]
    assert only_consultation(app).status == "booked"
    assert outbox_count(app) == before


def test_the_openapi_document_lists_the_cancel_refusal(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "409" in doc["paths"]["/consultations/{token}/cancel"]["post"]["responses"]


# --- 4. the manage link lasts as long as the booking needs it ----------------------------------


def test_manage_link_outlives_the_default_age_for_a_far_booking(app, client, clock, therapist):
    therapist_id, slug = therapist
    with app.app_context():
        get_session().get(Therapist, therapist_id).horizon_days = 365
        get_session().commit()
    far = "2030-12-02T09:00Z"  # 329 days ahead
    path = manage_path(book(client, slug, far))
    clock.advance(days=200)
    assert client.get(path).status_code == 200
    # Rescheduling still rotates the link: the old one stops, the new one works.
    page = client.get(f"{path}/reschedule?tz=UTC&from=2030-12-02").get_data(as_text=True)
    moved = client.post(
        f"{path}/reschedule",
        data={"csrf_token": csrf_from(page), "start": "2030-12-02T10:00Z", "tz": "UTC"},
    )
    assert moved.status_code == 303
    new_path = manage_path(moved)
    assert client.get(path).status_code == 404
    assert client.get(new_path).status_code == 200
    # A month after the consultation ends (and well past the default age) it expires.
    clock.now = datetime(2030, 12, 2, 10, 30, tzinfo=UTC)
    clock.advance(days=29)
    assert client.get(new_path).status_code == 200
    clock.advance(days=2)
    assert client.get(new_path).status_code == 404


def test_a_near_booking_keeps_the_default_link_age(client, clock, therapist):
    _, slug = therapist
    path = manage_path(book(client, slug, MONDAY_9))
    clock.advance(days=89)
    assert client.get(path).status_code == 200
    clock.advance(days=2)
    assert client.get(path).status_code == 404


# --- 5. one reminder per time, and none for a time moved to less than a day ahead --------------


def reminders_queued(app, clock) -> int:  # noqa: ANN001
    from practice.booking.notifications import notify
    from practice.booking.reminders import queue_reminders

    with app.app_context():
        return queue_reminders(get_session(), clock.now, 24, notify)


def reminder_emails(app) -> int:  # noqa: ANN001
    with app.app_context():
        return get_session().scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "client_reminder")
        )


def reschedule_to(client, path: str, start: str) -> str:  # noqa: ANN001
    page = client.get(f"{path}/reschedule?tz=UTC&from={start[:10]}").get_data(as_text=True)
    response = client.post(
        f"{path}/reschedule", data={"csrf_token": csrf_from(page), "start": start, "tz": "UTC"}
    )
    assert response.status_code == 303, text(response)[:500]
    return manage_path(response)


def test_no_second_reminder_after_moving_to_less_than_a_day_ahead(app, client, clock, therapist):
    _, slug = therapist
    path = manage_path(book(client, slug, "2030-01-10T09:00Z"))
    clock.now = datetime(2030, 1, 9, 9, 30, tzinfo=UTC)
    assert reminders_queued(app, clock) == 1
    reschedule_to(client, path, "2030-01-09T11:00Z")  # 1.5 hours ahead
    assert reminders_queued(app, clock) == 0
    clock.advance(hours=1)
    assert reminders_queued(app, clock) == 0
    assert reminder_emails(app) == 1


def test_one_reminder_for_the_new_time_after_moving_days_ahead(app, client, clock, therapist):
    _, slug = therapist
    path = manage_path(book(client, slug, "2030-01-10T09:00Z"))
    clock.now = datetime(2030, 1, 9, 9, 30, tzinfo=UTC)
    assert reminders_queued(app, clock) == 1
    reschedule_to(client, path, "2030-01-12T09:00Z")
    assert reminders_queued(app, clock) == 0
    clock.now = datetime(2030, 1, 11, 9, 30, tzinfo=UTC)
    assert reminders_queued(app, clock) == 1
    assert reminders_queued(app, clock) == 0
    assert reminder_emails(app) == 2


# --- 6. existing clients can still move when the therapist stops taking new ones --------------


def test_existing_client_can_reschedule_when_not_accepting_new_clients(app, client, therapist):
    therapist_id, slug = therapist
    path = manage_path(book(client, slug, MONDAY_9))
    with app.app_context():
        get_session().get(Therapist, therapist_id).accepting_new_clients = False
        get_session().commit()
    page = client.get(f"{path}/reschedule?tz=UTC").get_data(as_text=True)
    assert 'value="2030-01-07T10:00Z"' in page
    moved = client.post(
        f"{path}/reschedule",
        data={"csrf_token": csrf_from(page), "start": "2030-01-07T10:00Z", "tz": "UTC"},
    )
    assert moved.status_code == 303
    assert only_consultation(app).starts_at == datetime(2030, 1, 7, 10, 0, tzinfo=UTC)
    # New clients are still turned away.
    response = book(app.test_client(), slug, "2030-01-07T11:00Z", email="sam@example.com")
    assert response.status_code == 409


# --- 7. the staff schedule's "today" is the therapist's own day -------------------------------


ALL_DAY = [(d, time(0), time(23, 30)) for d in range(7)]


def test_schedule_today_starts_at_midnight_in_the_therapists_zone(app, client, clock):
    from practice.clinician.service import upcoming

    add_therapist(app, name="Lena Ortiz", timezone="America/Los_Angeles", hours=ALL_DAY)
    add_therapist(app, name="Kenji Sato", timezone="Asia/Tokyo", hours=ALL_DAY)
    # Monday 09:00 in Los Angeles; Monday 19:00 in Tokyo.
    book(client, "lena-ortiz", "2030-01-07T17:00Z", email="a@example.com")
    book(client, "kenji-sato", "2030-01-07T10:00Z", email="b@example.com")

    def shown(now: datetime, slug: str | None) -> set[str]:
        with app.app_context():
            session = get_session()
            scope = (
                session.scalars(select(Therapist).where(Therapist.slug == slug)).unique().one()
                if slug
                else None
            )
            return {c.therapist.slug for c in upcoming(session, now, scope)}

    # 19:00 Monday in Los Angeles (03:00 Tuesday UTC): this morning's consultation is today's.
    late_monday_la = datetime(2030, 1, 8, 3, 0, tzinfo=UTC)
    assert shown(late_monday_la, "lena-ortiz") == {"lena-ortiz"}
    # 05:00 Tuesday in Tokyo (20:00 Monday UTC): Monday evening's consultation was yesterday.
    early_tuesday_tokyo = datetime(2030, 1, 7, 20, 0, tzinfo=UTC)
    assert shown(early_tuesday_tokyo, "kenji-sato") == set()
    # An admin seeing everyone sees each therapist's own today.
    assert shown(late_monday_la, None) == {"lena-ortiz"}
    assert shown(early_tuesday_tokyo, None) == {"lena-ortiz"}


def test_admin_schedule_page_uses_each_therapists_day(app, client, clock, auth):
    add_therapist(app, name="Lena Ortiz", timezone="America/Los_Angeles", hours=ALL_DAY)
    book(app.test_client(), "lena-ortiz", "2030-01-07T17:00Z")
    with app.app_context():
        create_staff_user(get_session(), "admin@example.org", "Admin", "admin", PASSWORD)
        get_session().commit()
    clock.now = datetime(2030, 1, 8, 3, 0, tzinfo=UTC)
    auth.login("admin@example.org")
    assert "Jordan Lee" in client.get("/staff/").get_data(as_text=True)


# --- 8. settings that would leave no bookable time are refused ----------------------------------


def test_settings_refuse_notice_longer_than_the_horizon(app, client, auth, therapist):
    auth.login("maya@example.org")
    page = client.get("/staff/settings").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "timezone": "UTC",
        "consultation_minutes": "30",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "0",
        "minimum_notice_hours": "72",
        "horizon_days": "2",
        "accepting_new_clients": "y",
        "windows-0-weekday": "0",
        "windows-0-start": "09:00",
        "windows-0-end": "12:00",
    }
    response = client.post("/staff/settings", data=data)
    assert response.status_code == 422
    assert "no times would be open" in text(response)
    with app.app_context():
        t = get_session().scalars(select(Therapist)).unique().one()
        assert (t.minimum_notice_hours, t.horizon_days) == (0, 28)
    data["horizon_days"] = "4"
    assert client.post("/staff/settings", data=data).status_code == 302
