"""The outbox stops in the end, and never sends what is no longer true: a real SMTP server on
loopback that is down for a while, and a consultation that changes while it is."""

from __future__ import annotations

import logging
from datetime import datetime

import test_mail_smtp
from helpers import CLIENT, body_of, book, calendar_of
from sqlalchemy import select

from practice.booking import service
from practice.booking.models import Consultation
from practice.booking.notifications import notify
from practice.db import get_session
from practice.mail.models import OutboxMessage

# The loopback SMTP server and the app that uses it, shared with test_mail_smtp.
smtp_port = test_mail_smtp.smtp_port
smtp_server = test_mail_smtp.smtp_server
smtp_app = test_mail_smtp.smtp_app
MONDAY_9 = test_mail_smtp.MONDAY_9
THURSDAY_9 = "2030-01-10T09:00Z"  # three days after the test clock's Monday


def send(runner) -> str:  # noqa: ANN001
    return runner.invoke(args=["practice", "send-outbox"]).output


def messages(app) -> dict[str, OutboxMessage]:  # noqa: ANN001
    with app.app_context():
        rows = get_session().scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return {f"{r.kind}#{r.id}": r for r in rows}


def by_kind(app, kind: str) -> list[OutboxMessage]:  # noqa: ANN001
    return [m for key, m in messages(app).items() if key.split("#")[0] == kind]


def consultation_id(app) -> int:  # noqa: ANN001
    with app.app_context():
        return get_session().scalars(select(Consultation.id)).one()


def reschedule(app, clock, to: datetime) -> None:  # noqa: ANN001
    with app.app_context():
        service.reschedule(get_session(), consultation_id(app), to, clock.now, notify)


def cancel(app, clock, by: str = "client") -> None:  # noqa: ANN001
    with app.app_context():
        service.cancel(get_session(), consultation_id(app), clock.now, notify, by=by)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------------------------
# PRACTICE_MAIL_MAX_ATTEMPTS


def reminder_queued_while_the_server_is_down(smtp_app, smtp_server, runner, clock, slug):  # noqa: ANN001, ANN201
    """Book for Thursday 09:00, deliver the confirmation, then queue the reminder (Wednesday
    09:30) with the mail server down; the inbox, for when it comes back."""
    inbox = smtp_server.start()
    book(smtp_app.test_client(), slug, THURSDAY_9)
    send(runner)
    smtp_server.stop()
    clock.now = clock.now.replace(day=9, hour=9, minute=30)
    runner.invoke(args=["practice", "send-reminders"])
    return inbox


def test_a_long_outage_ends_in_giving_up_not_in_retrying_forever(
    smtp_app, smtp_server, runner, clock, therapist, caplog
):
    _, slug = therapist
    assert smtp_app.config["PRACTICE_MAIL_MAX_ATTEMPTS"] == 12
    book(smtp_app.test_client(), slug, THURSDAY_9)  # nothing listens on the port
    caplog.set_level(logging.INFO, logger="practice.mail")
    for attempt in range(1, 13):
        output = send(runner)
        assert ("will retry 2" if attempt < 12 else "will retry 0") in output, (attempt, output)
        clock.advance(hours=1)  # past the longest backoff
    rows = messages(smtp_app).values()
    assert all(r.attempts == 12 and r.gave_up_at == clock.now.replace(hour=17) for r in rows)
    assert all(r.last_error.startswith("ConnectionRefusedError") for r in rows)
    assert all(r.last_error.endswith("; gave up after 12 attempts") for r in rows)
    inbox = smtp_server.start()
    clock.advance(days=1)
    assert "sent 0, will retry 0" in send(runner)
    assert inbox.messages == []
    give_ups = [r.getMessage() for r in caplog.records if "given up" in r.getMessage()]
    assert len(give_ups) == 2
    for line in give_ups:
        for secret in (CLIENT["name"], "Jordan", CLIENT["email"], "maya@example.org", "Maya"):
            assert secret not in line


def test_a_lower_limit_is_honoured(smtp_app, smtp_server, runner, clock, therapist):
    _, slug = therapist
    smtp_app.config["PRACTICE_MAIL_MAX_ATTEMPTS"] = 2
    book(smtp_app.test_client(), slug, THURSDAY_9)
    assert "will retry 2" in send(runner)
    clock.advance(hours=1)
    assert "will retry 0" in send(runner)
    assert all(r.gave_up_at is not None for r in messages(smtp_app).values())


def test_a_message_whose_sender_died_on_its_last_attempt_is_given_up(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    smtp_app.config["PRACTICE_MAIL_MAX_ATTEMPTS"] = 2
    book(smtp_app.test_client(), slug, THURSDAY_9)
    with smtp_app.app_context():
        session = get_session()
        for row in session.scalars(select(OutboxMessage)):
            row.attempts = 2  # claimed twice; the second sender never came back
        session.commit()
    inbox = smtp_server.start()
    clock.advance(hours=1)
    assert "sent 0" in send(runner)
    assert inbox.messages == []
    assert all(
        "gave up after 2 attempts" in r.last_error and r.gave_up_at is not None
        for r in messages(smtp_app).values()
    )


def test_a_short_outage_still_delivers(smtp_app, smtp_server, runner, clock, therapist):
    _, slug = therapist
    book(smtp_app.test_client(), slug, THURSDAY_9)
    for _ in range(11):
        send(runner)
        clock.advance(hours=1)
    inbox = smtp_server.start()
    assert "sent 2" in send(runner)  # the twelfth attempt
    assert len(inbox.messages) == 2


# ---------------------------------------------------------------------------------------------
# Only what is still true goes out.


def test_a_reminder_stuck_in_an_outage_is_not_sent_after_the_consultation_began(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    inbox = smtp_server.start()
    book(smtp_app.test_client(), slug, THURSDAY_9)
    assert "sent 2" in send(runner)
    smtp_server.stop()
    clock.now = clock.now.replace(day=9, hour=9, minute=30)
    assert "queued 1" in runner.invoke(args=["practice", "send-reminders"]).output
    clock.now = clock.now.replace(day=10, hour=9, minute=5)  # the consultation has begun
    smtp_server.start()
    inbox.messages.clear()
    assert "sent 0, will retry 0" in send(runner)
    assert inbox.messages == []
    (reminder,) = by_kind(smtp_app, "client_reminder")
    assert reminder.gave_up_at is not None and reminder.sent_at is None
    assert reminder.last_error == "dropped: consultation already started"


def test_a_reminder_still_ahead_of_the_consultation_goes_out_late(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    inbox = reminder_queued_while_the_server_is_down(smtp_app, smtp_server, runner, clock, slug)
    clock.now = clock.now.replace(day=10, hour=8, minute=0)
    smtp_server.start()
    inbox.messages.clear()
    assert "sent 1" in send(runner)
    (reminder,) = inbox.messages
    assert reminder["Subject"].startswith("Reminder")


def test_a_reminder_for_a_moved_consultation_is_dropped_and_the_move_notice_sent(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    inbox = reminder_queued_while_the_server_is_down(smtp_app, smtp_server, runner, clock, slug)
    reschedule(smtp_app, clock, utc("2030-01-12T10:00Z"))
    smtp_server.start()
    inbox.messages.clear()
    clock.advance(minutes=5)
    send(runner)
    (to_client,) = inbox.to(CLIENT["email"])
    assert to_client["Subject"] == "Your free consultation has moved"
    assert "DTSTART:20300112T100000Z" in calendar_of(to_client)
    assert len(inbox.to("maya@example.org")) == 1
    (reminder,) = by_kind(smtp_app, "client_reminder")
    assert reminder.last_error == "dropped: consultation moved since queued"


def test_a_reminder_for_a_cancelled_consultation_is_dropped(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    inbox = reminder_queued_while_the_server_is_down(smtp_app, smtp_server, runner, clock, slug)
    cancel(smtp_app, clock)
    smtp_server.start()
    inbox.messages.clear()
    clock.advance(minutes=5)
    send(runner)
    (to_client,) = inbox.to(CLIENT["email"])
    assert to_client["Subject"] == "Your free consultation is cancelled"
    assert "METHOD:CANCEL" in calendar_of(to_client)
    (reminder,) = by_kind(smtp_app, "client_reminder")
    assert reminder.last_error == "dropped: consultation cancelled since queued"


def test_only_the_latest_time_reaches_the_client_after_moves_during_an_outage(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    book(smtp_app.test_client(), slug, THURSDAY_9)  # the server is down
    send(runner)
    reschedule(smtp_app, clock, utc("2030-01-11T10:00Z"))
    reschedule(smtp_app, clock, utc("2030-01-12T11:00Z"))
    inbox = smtp_server.start()
    clock.advance(hours=1)
    send(runner)
    # One email to the client: the last move, with the one manage link that still works.
    (to_client,) = inbox.to(CLIENT["email"])
    assert to_client["Subject"] == "Your free consultation has moved"
    calendar = calendar_of(to_client)
    assert "SEQUENCE:2" in calendar and "DTSTART:20300112T110000Z" in calendar
    assert "Saturday 12 January 2030 at 11:00 AM" in body_of(to_client)
    # The therapist's emails each say what happened, so all three go.
    assert [m["Subject"] for m in inbox.to("maya@example.org")] == [
        "New free consultation booked",
        "A free consultation has moved",
        "A free consultation has moved",
    ]
    dropped = [m for m in messages(smtp_app).values() if m.gave_up_at is not None]
    assert sorted(m.kind for m in dropped) == ["client_booked", "client_rescheduled"]
    assert all(m.last_error == "dropped: consultation moved since queued" for m in dropped)


def test_a_cancellation_is_delivered_even_after_the_time_has_passed(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    book(smtp_app.test_client(), slug, THURSDAY_9)  # the server is down
    cancel(smtp_app, clock)
    clock.now = clock.now.replace(day=11)  # a day after the cancelled time
    inbox = smtp_server.start()
    send(runner)
    (to_client,) = inbox.to(CLIENT["email"])
    assert to_client["Subject"] == "Your free consultation is cancelled"
    assert [m["Subject"] for m in inbox.to("maya@example.org")] == [
        "New free consultation booked",
        "A free consultation was cancelled",
    ]
    (booked,) = by_kind(smtp_app, "client_booked")
    assert booked.last_error == "dropped: consultation cancelled since queued"


def test_a_move_notice_then_cancelled_gives_way_to_the_cancellation(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    book(smtp_app.test_client(), slug, THURSDAY_9)
    reschedule(smtp_app, clock, utc("2030-01-11T10:00Z"))
    cancel(smtp_app, clock, by="therapist")
    inbox = smtp_server.start()
    send(runner)
    (to_client,) = inbox.to(CLIENT["email"])
    assert to_client["Subject"] == "Your free consultation is cancelled"
    assert "SEQUENCE:2" in calendar_of(to_client)


def test_the_partner_is_not_invited_to_prepare_for_a_cancelled_consultation(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    book(
        smtp_app.test_client(),
        slug,
        THURSDAY_9,
        kind="couple",
        partner_name="Sam Lee",
        partner_email="sam@example.com",
    )
    assert len(by_kind(smtp_app, "partner_intake")) == 1
    cancel(smtp_app, clock)
    inbox = smtp_server.start()
    send(runner)
    assert inbox.to("sam@example.com") == []
    (invitation,) = by_kind(smtp_app, "partner_intake")
    assert invitation.last_error == "dropped: consultation cancelled since queued"


def test_the_partner_invitation_goes_when_nothing_changed(smtp_app, smtp_server, runner, therapist):
    _, slug = therapist
    inbox = smtp_server.start()
    book(
        smtp_app.test_client(),
        slug,
        MONDAY_9,
        kind="couple",
        partner_name="Sam Lee",
        partner_email="sam@example.com",
    )
    assert "sent 3" in send(runner)
    assert len(inbox.to("sam@example.com")) == 1
