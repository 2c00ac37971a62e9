"""Therapists and admins: sign in, see their own schedule, set availability, add colleagues."""

from __future__ import annotations

from conftest import PASSWORD, add_therapist, csrf_from
from helpers import book, slot_starts
from sqlalchemy import select

from practice.auth.service import create_staff_user
from practice.booking.models import Consultation, Therapist
from practice.db import get_session

MONDAY_9 = "2030-01-07T09:00Z"


def make_admin(app) -> None:  # noqa: ANN001
    with app.app_context():
        create_staff_user(get_session(), "admin@example.org", "Admin", "admin", PASSWORD)
        get_session().commit()


def test_staff_pages_need_a_signed_in_staff_member(client, therapist):
    for path in ("/staff/", "/staff/settings", "/staff/therapists"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/staff/login" in response.headers["Location"]


def test_wrong_password_and_unknown_email_get_the_same_message(client, auth, therapist):
    wrong_password = auth.login("maya@example.org", "not the password at all").get_data(
        as_text=True
    )
    unknown = auth.login("nobody@example.org", "not the password at all").get_data(as_text=True)
    message = "That email and password don"
    assert message in wrong_password and message in unknown
    assert client.get("/staff/").status_code == 302


def test_sign_in_shows_own_schedule_and_sign_out_ends_it(app, client, auth, therapist):
    _, slug = therapist
    book(app.test_client(), slug, MONDAY_9)
    response = auth.login("maya@example.org")
    assert response.status_code == 302
    html = client.get("/staff/").get_data(as_text=True)
    assert "Jordan Lee" in html
    assert "I keep putting everyone else first." in html  # the note, for the therapist only
    auth.logout()
    assert client.get("/staff/").status_code == 302


def test_login_next_never_redirects_off_site(client, auth, therapist):
    page = client.get("/staff/login?next=https://evil.example/")
    response = client.post(
        "/staff/login?next=https://evil.example/",
        data={
            "email": "maya@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"].endswith("/staff/")


def test_therapist_sees_only_their_own_clients(app, client, auth, therapist):
    _, maya_slug = therapist
    _, tom_slug = add_therapist(app, name="Tom Okafor")
    book(app.test_client(), tom_slug, MONDAY_9, name="Tom's Client", email="t@example.com")
    auth.login("maya@example.org")
    assert "Tom&#39;s Client" not in client.get("/staff/").get_data(as_text=True)
    with app.app_context():
        toms = get_session().scalars(select(Consultation)).one()
    page = client.get("/staff/").get_data(as_text=True)
    response = client.post(
        f"/staff/consultations/{toms.id}/outcome",
        data={"status": "cancelled", "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 404
    with app.app_context():
        assert get_session().get(Consultation, toms.id).status == "booked"


def test_therapist_marks_completed_no_show_or_cancels(app, client, auth, therapist):
    _, slug = therapist
    book(app.test_client(), slug, MONDAY_9)
    auth.login("maya@example.org")
    with app.app_context():
        cid = get_session().scalars(select(Consultation.id)).one()
    for status in ("no_show", "completed", "cancelled"):
        page = client.get("/staff/").get_data(as_text=True)
        client.post(
            f"/staff/consultations/{cid}/outcome",
            data={"status": status, "csrf_token": csrf_from(page)},
        )
        with app.app_context():
            assert get_session().get(Consultation, cid).status == status


def _settings_form(client) -> dict:  # noqa: ANN001
    page = client.get("/staff/settings").get_data(as_text=True)
    return {
        "csrf_token": csrf_from(page),
        "timezone": "Europe/London",
        "consultation_minutes": "25",
        "buffer_before_minutes": "5",
        "buffer_after_minutes": "10",
        "minimum_notice_hours": "12",
        "horizon_days": "21",
        "accepting_new_clients": "y",
    }


def test_settings_save_every_availability_rule(app, client, auth, therapist):
    auth.login("maya@example.org")
    data = {
        **_settings_form(client),
        "windows-0-weekday": "0",
        "windows-0-start": "09:00",
        "windows-0-end": "12:00",
        "windows-1-weekday": "0",
        "windows-1-start": "14:00",
        "windows-1-end": "17:00",
        "windows-2-weekday": "",
        "windows-2-start": "",
        "windows-2-end": "",
    }
    response = client.post("/staff/settings", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        t = get_session().scalars(select(Therapist)).unique().one()
        assert (
            t.timezone,
            t.consultation_minutes,
            t.buffer_before_minutes,
            t.buffer_after_minutes,
            t.minimum_notice_hours,
            t.horizon_days,
        ) == ("Europe/London", 25, 5, 10, 12, 21)
        assert [(w.weekday, w.start_time.hour, w.end_time.hour) for w in t.windows] == [
            (0, 9, 12),
            (0, 14, 17),
        ]


def test_settings_refuse_bad_rules_and_keep_the_old_ones(app, client, auth, therapist):
    auth.login("maya@example.org")
    data = {
        **_settings_form(client),
        "consultation_minutes": "45",
        "windows-0-weekday": "1",
        "windows-0-start": "12:00",
        "windows-0-end": "09:00",
        "windows-1-weekday": "2",
        "windows-1-start": "09:00",
        "windows-1-end": "12:00",
        "windows-2-weekday": "2",
        "windows-2-start": "11:00",
        "windows-2-end": "13:00",
    }
    response = client.post("/staff/settings", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "between 20 and 30 minutes" in html
    assert "The end must be after the start." in html
    assert "overlaps another Wednesday window" in html
    with app.app_context():
        t = get_session().scalars(select(Therapist)).unique().one()
        assert t.consultation_minutes == 30 and len(t.windows) == 7


def test_time_off_removes_those_days_from_the_slot_page(app, client, auth, therapist):
    _, slug = therapist
    auth.login("maya@example.org")
    page = client.get("/staff/settings").get_data(as_text=True)
    client.post(
        "/staff/settings/time-off",
        data={"csrf_token": csrf_from(page), "first_day": "2030-01-07", "last_day": "2030-01-08"},
    )
    starts = slot_starts(client.get(f"/therapists/{slug}?tz=UTC").get_data(as_text=True))
    assert not any(s.startswith(("2030-01-07", "2030-01-08")) for s in starts)
    assert any(s.startswith("2030-01-09") for s in starts)
    page = client.get("/staff/settings").get_data(as_text=True)
    response = client.post(
        "/staff/settings/time-off",
        data={"csrf_token": csrf_from(page), "first_day": "2030-01-09", "last_day": "2030-01-08"},
    )
    assert "can&#39;t be before the first day" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_admin_adds_a_therapist_who_can_then_sign_in(app, client, auth, therapist):
    make_admin(app)
    auth.login("admin@example.org")
    page = client.get("/staff/therapists").get_data(as_text=True)
    response = client.post(
        "/staff/therapists",
        data={
            "csrf_token": csrf_from(page),
            "name": "Tom Okafor",
            "email": "tom@example.org",
            "credentials": "UKCP",
            "bio": "",
            "timezone": "Europe/London",
            "password": "a long password 123",
        },
    )
    assert response.status_code == 302
    duplicate = client.post(
        "/staff/therapists",
        data={
            "csrf_token": csrf_from(page),
            "name": "Tom Again",
            "email": "TOM@example.org",
            "timezone": "Europe/London",
            "password": "a long password 123",
        },
    )
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.get_data(as_text=True)
    auth.logout()
    assert auth.login("tom@example.org", "a long password 123").status_code == 302


def test_only_admins_reach_the_roster(client, auth, therapist):
    auth.login("maya@example.org")
    assert client.get("/staff/therapists").status_code == 403


def test_admin_without_clients_sees_the_whole_practice(app, client, auth, therapist):
    _, slug = therapist
    book(app.test_client(), slug, MONDAY_9)
    make_admin(app)
    auth.login("admin@example.org")
    html = client.get("/staff/").get_data(as_text=True)
    assert "Jordan Lee" in html and "Maya Chen" in html
