"""A client's path through the public pages: find a time, book it, change it, cancel it."""

from __future__ import annotations

import html as html_lib
import re

from conftest import MONDAY
from helpers import (
    CLIENT,
    body_of,
    book,
    booking_form,
    calendar_of,
    manage_path,
    read_eml,
    slot_starts,
    text,
)
from sqlalchemy import func, select

from practice.booking.models import Consultation
from practice.db import get_session
from practice.mail.models import OutboxMessage

MONDAY_9 = "2030-01-07T09:00Z"


def count(app, model, *where) -> int:  # noqa: ANN001
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def test_home_lists_therapists_taking_new_clients(app, client, therapist):
    from conftest import add_therapist

    add_therapist(app, name="Tom Okafor", accepting_new_clients=False)
    html = client.get("/").get_data(as_text=True)
    assert "Maya Chen" in html
    assert "Tom Okafor" not in html


def test_slot_page_shows_open_times_in_the_visitors_zone(client, therapist):
    _, slug = therapist
    html = client.get(f"/therapists/{slug}?tz=America/New_York").get_data(as_text=True)
    # 09:00 UTC on Monday 7 January is 4:00 AM in New York (EST).
    assert "4:00 AM EST" in html
    assert "9:00 AM UTC" not in html
    assert f"start={MONDAY_9.replace(':', '%3A')}" in html or f"start={MONDAY_9}" in html


def test_visitor_zone_is_remembered_without_javascript(client, therapist):
    _, slug = therapist
    first = client.get(f"/therapists/{slug}?tz=Asia/Tokyo")
    assert "practice_tz=Asia/Tokyo" in first.headers.get("Set-Cookie", "")
    html = client.get(f"/therapists/{slug}").get_data(as_text=True)
    assert "6:00 PM JST" in html  # 09:00 UTC


def test_unknown_zone_falls_back_to_the_practice_default(client, therapist):
    _, slug = therapist
    response = client.get(f"/therapists/{slug}?tz=Mars/Olympus_Mons")
    assert response.status_code == 200
    assert "4:00 AM EST" in response.get_data(as_text=True)  # default America/New_York


def test_slot_page_for_unknown_therapist_is_a_kind_404(client):
    response = client.get("/therapists/nobody")
    assert response.status_code == 404
    assert "couldn't find" in text(response)


def test_booking_confirms_and_queues_both_emails(app, client, therapist):
    _, slug = therapist
    response = book(client, slug, MONDAY_9, tz="Europe/Paris")
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "You're booked in" in html
    assert "10:00 AM CET" in html  # the client's zone
    assert page.headers["Cache-Control"] == "no-store"
    assert count(app, Consultation) == 1
    with app.app_context():
        messages = get_session().scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [m.recipient for m in messages] == ["jordan@example.com", "maya@example.org"]
        client_mail, therapist_mail = messages
        assert "10:00 AM CET (Europe/Paris)" in client_mail.body_text
        assert "9:00 AM UTC (UTC) for Maya Chen" in client_mail.body_text
        assert "/consultations/" in client_mail.body_text
        assert client_mail.calendar and "METHOD:REQUEST" in client_mail.calendar
        # The client's own words never travel by email.
        for m in messages:
            assert CLIENT["note"] not in m.body_text
            assert CLIENT["note"] not in (m.calendar or "")
        assert "Jordan Lee" in therapist_mail.body_text


def test_booked_time_leaves_the_slot_page(client, therapist):
    _, slug = therapist
    book(client, slug, MONDAY_9)
    html = client.get(f"/therapists/{slug}?tz=UTC").get_data(as_text=True)
    assert MONDAY_9 not in slot_starts(html)
    assert "2030-01-07T09:30Z" in slot_starts(html)


def test_form_errors_keep_everything_the_client_typed(app, client, therapist):
    _, slug = therapist
    response = book(
        client, slug, MONDAY_9, email="not-an-email", consent=None, kind="couple", partner_name=""
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "doesn't look like an email address" in html_lib.unescape(html)
    assert "privacy notice" in html
    assert "partner&#39;s name" in html or "partner's name" in html
    assert 'value="Jordan Lee"' in html
    assert 'value="not-an-email"' in html
    assert CLIENT["note"] in html
    assert count(app, Consultation) == 0


def test_double_submit_makes_one_booking(app, client, therapist):
    _, slug = therapist
    form = {**booking_form(client, slug, MONDAY_9), **CLIENT}
    first = client.post(f"/book/{slug}", data=form)
    second = client.post(f"/book/{slug}", data=form)
    assert first.status_code == second.status_code == 303
    assert manage_path(first) == manage_path(second)
    assert count(app, Consultation) == 1
    assert count(app, OutboxMessage) == 2


def test_second_client_for_a_taken_time_gets_a_kind_page_with_nearest_times(app, client, therapist):
    _, slug = therapist
    rival = app.test_client()
    rival_form = booking_form(rival, slug, MONDAY_9)
    assert book(client, slug, MONDAY_9).status_code == 303
    response = rival.post(
        f"/book/{slug}", data={**rival_form, **CLIENT, "email": "sam@example.com"}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "That time was just taken" in html
    assert "2030-01-07T09:30Z" in slot_starts(html)
    assert count(app, Consultation) == 1


def test_honeypot_filled_in_books_nothing(app, client, therapist):
    _, slug = therapist
    response = book(client, slug, MONDAY_9, website="http://spam.example")
    assert response.status_code == 422
    assert count(app, Consultation) == 0


def test_missing_csrf_token_is_explained_and_books_nothing(app, client, therapist):
    _, slug = therapist
    form = {**booking_form(client, slug, MONDAY_9), **CLIENT}
    del form["csrf_token"]
    response = client.post(f"/book/{slug}", data=form)
    assert response.status_code == 422
    assert "timed out for your security" in response.get_data(as_text=True)
    assert count(app, Consultation) == 0


def test_a_time_outside_the_rules_cannot_be_booked(app, client, therapist):
    _, slug = therapist
    for start in (
        "2030-01-07T13:00Z",
        "2030-01-07T09:10Z",
        "2030-01-06T09:00Z",
        "2031-01-07T09:00Z",
    ):
        response = book(client, slug, start)
        assert response.status_code == 409, start
        # Told the truth: nobody took it, it just isn't one of the therapist's times.
        assert "That time isn't open" in text(response), start
        assert "someone booked" not in text(response), start
    assert count(app, Consultation) == 0


def test_garbled_start_time_gets_a_clear_page_not_an_error(client, therapist):
    _, slug = therapist
    for start in ("", "yesterday", "2030-01-07T09:00", "9" * 500):
        response = client.get(f"/book/{slug}", query_string={"start": start})
        assert response.status_code == 400
        assert "Please choose a time first" in response.get_data(as_text=True)


def test_huge_inputs_are_refused_with_messages(app, client, therapist):
    _, slug = therapist
    response = book(client, slug, MONDAY_9, name="A" * 5000, note="x" * 100_000)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "under 120 characters" in html
    assert "under 1000 characters" in html
    assert count(app, Consultation) == 0


def test_couple_booking_keeps_the_partner(app, client, therapist):
    _, slug = therapist
    response = book(
        client,
        slug,
        MONDAY_9,
        kind="couple",
        partner_name="Sam Lee",
        partner_email="sam@example.com",
    )
    assert response.status_code == 303
    with app.app_context():
        c = get_session().scalars(select(Consultation)).one()
        assert (c.kind, c.partner_name, c.partner_email) == ("couple", "Sam Lee", "sam@example.com")


def test_client_cancels_from_the_link_and_gets_a_calendar_cancellation(app, client, therapist):
    _, slug = therapist
    path = manage_path(book(client, slug, MONDAY_9))
    page = client.get(path).get_data(as_text=True)
    from conftest import csrf_from

    response = client.post(f"{path}/cancel", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303
    assert "is cancelled" in client.get(path).get_data(as_text=True)
    with app.app_context():
        last = (
            get_session()
            .scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "client_cancelled_by_client")
            )
            .one()
        )
        assert "METHOD:CANCEL" in last.calendar
        assert "STATUS:CANCELLED" in last.calendar
    # The time is free again.
    assert MONDAY_9 in slot_starts(client.get(f"/therapists/{slug}?tz=UTC").get_data(as_text=True))


def test_reschedule_moves_the_booking_and_retires_the_old_link(app, client, therapist):
    _, slug = therapist
    old_path = manage_path(book(client, slug, MONDAY_9))
    page = client.get(f"{old_path}/reschedule?tz=UTC").get_data(as_text=True)
    from conftest import csrf_from

    assert "2030-01-07T10:00Z" in page
    response = client.post(
        f"{old_path}/reschedule",
        data={"csrf_token": csrf_from(page), "start": "2030-01-07T10:00Z", "tz": "UTC"},
    )
    assert response.status_code == 303
    new_path = manage_path(response)
    assert new_path != old_path
    assert client.get(old_path).status_code == 404
    assert "10:00 AM UTC" in client.get(new_path).get_data(as_text=True)
    with app.app_context():
        c = get_session().scalars(select(Consultation)).one()
        assert c.starts_at.hour == 10 and c.calendar_sequence == 1
        moved = (
            get_session()
            .scalars(select(OutboxMessage).where(OutboxMessage.kind == "client_rescheduled"))
            .one()
        )
        uid = [line for line in moved.calendar.splitlines() if line.startswith("UID:")]
        assert uid == [f"UID:consultation-{c.public_id}@localhost"]
        assert "SEQUENCE:1" in moved.calendar


def test_reschedule_to_a_taken_time_keeps_the_old_one(app, client, therapist):
    _, slug = therapist
    path = manage_path(book(client, slug, MONDAY_9))
    other = app.test_client()
    book(other, slug, "2030-01-07T10:00Z", email="sam@example.com")
    from conftest import csrf_from

    page = client.get(f"{path}/reschedule?tz=UTC").get_data(as_text=True)
    response = client.post(
        f"{path}/reschedule",
        data={"csrf_token": csrf_from(page), "start": "2030-01-07T10:00Z", "tz": "UTC"},
    )
    assert response.status_code == 409
    assert "just taken" in response.get_data(as_text=True)
    with app.app_context():
        mine = (
            get_session()
            .scalars(select(Consultation).where(Consultation.client_email == CLIENT["email"]))
            .one()
        )
        assert mine.starts_at.hour == 9 and mine.status == "booked"


def test_tampered_or_expired_manage_links_are_refused_kindly(app, client, clock, therapist):
    _, slug = therapist
    path = manage_path(book(client, slug, MONDAY_9))
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    response = client.get(tampered)
    assert response.status_code == 404
    assert "doesn't work any more" in text(response)
    # Past both the link's own age and a month after the consultation.
    clock.advance(days=app.config["PRACTICE_MANAGE_LINK_MAX_AGE_DAYS"] + 1)
    assert client.get(path).status_code == 404


def test_calendar_file_has_a_stable_uid(client, therapist):
    _, slug = therapist
    path = manage_path(book(client, slug, MONDAY_9))
    first = client.get(f"{path}/calendar.ics")
    second = client.get(f"{path}/calendar.ics")
    assert first.mimetype == "text/calendar"
    uid = [line for line in first.get_data(as_text=True).splitlines() if line.startswith("UID:")]
    assert len(uid) == 1
    assert uid[0] in second.get_data(as_text=True)
    assert "DTSTART:20300107T090000Z" in first.get_data(as_text=True)


def test_first_available_offers_the_soonest_times_across_therapists(app, client, therapist):
    from datetime import time

    from conftest import add_therapist

    add_therapist(app, name="Tom Okafor", hours=[(0, time(7), time(8))])
    html = client.get("/first-available?tz=UTC").get_data(as_text=True)
    assert html.index("with Tom Okafor") < html.index("with Maya Chen")
    assert "7:00 AM UTC" in html


def test_demo_mailbox_receives_eml_files_when_no_smtp_is_set(
    app, client, runner, therapist, tmp_path
):
    _, slug = therapist
    book(client, slug, MONDAY_9)
    result = runner.invoke(args=["practice", "send-outbox"])
    assert "sent 2" in result.output, result.output
    messages = read_eml(tmp_path / "mail")
    assert sorted(m["To"] for m in messages) == ["jordan@example.com", "maya@example.org"]
    to_client = next(m for m in messages if m["To"] == "jordan@example.com")
    assert "Monday 7 January 2030" in body_of(to_client)
    assert "BEGIN:VCALENDAR" in calendar_of(to_client)


def test_two_cancels_at_once_send_one_cancellation(app, client, therapist, monkeypatch):
    """The second cancel read the booking before the first committed: it must not cancel again."""
    from practice.booking import service

    _, slug = therapist
    book(client, slug, MONDAY_9)
    real_hold = service.hold_therapist_row

    def first_cancel_commits_meanwhile(session, therapist_id):  # noqa: ANN001, ANN202
        monkeypatch.setattr(service, "hold_therapist_row", real_hold)
        with app.extensions["practice"].sessionmaker() as other:
            consultation = other.scalars(select(Consultation)).one()
            service.cancel(other, consultation.id, MONDAY, notify=lambda *_: None)
        return None if session is None else real_hold(session, therapist_id)

    with app.app_context():
        session = get_session()
        consultation_id = session.scalars(select(Consultation)).one().id
        if session.get_bind().dialect.name == "sqlite":
            # SQLite's write lock is taken before the first read: the rival can only go first.
            first_cancel_commits_meanwhile(None, None)
            session.rollback()
        else:
            monkeypatch.setattr(service, "hold_therapist_row", first_cancel_commits_meanwhile)
        sent = []
        cancelled = service.cancel(
            session, consultation_id, MONDAY, notify=lambda *a: sent.append(a[2])
        )
        assert cancelled.status == "cancelled" and cancelled.calendar_sequence == 1
        assert sent == []  # the first cancel's notice is the only one


def test_rescheduling_can_look_week_by_week(client, therapist):
    _, slug = therapist
    old_path = manage_path(book(client, slug, MONDAY_9))
    page = client.get(f"{old_path}/reschedule?tz=UTC").get_data(as_text=True)
    assert "Later →" in page and "← Earlier" not in page
    later = html_lib.unescape(re.search(r'href="([^"]+)">Later', page).group(1))
    week_two = client.get(later).get_data(as_text=True)
    assert "2030-01-14T09:00Z" in week_two and "← Earlier" in week_two
