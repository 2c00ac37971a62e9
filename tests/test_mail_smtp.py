"""Email through a real SMTP server on loopback, including the server being down and back."""

from __future__ import annotations

import email
import socket
from datetime import time, timedelta

import pytest
from aiosmtpd.controller import Controller
from conftest import add_therapist
from helpers import body_of, book, calendar_of
from sqlalchemy import select

from practice.booking.models import Consultation
from practice.db import get_session
from practice.mail.models import OutboxMessage

MONDAY_9 = "2030-01-07T09:00Z"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(smtp_port):  # noqa: ANN001, ANN201
    """Start and stop a real SMTP server on the fixed port, as often as a test likes."""
    inbox = Inbox()
    running: list[Controller] = []

    class Server:
        def start(self) -> Inbox:
            controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
            controller.start()
            running.append(controller)
            return inbox

        def stop(self) -> None:
            while running:
                running.pop().stop()

    server = Server()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(app, smtp_port):  # noqa: ANN001, ANN201
    app.config.update(
        PRACTICE_SMTP_HOST="127.0.0.1", PRACTICE_SMTP_PORT=smtp_port, PRACTICE_SMTP_TIMEOUT=5
    )
    return app


def test_confirmation_reaches_client_and_therapist_over_smtp(smtp_app, smtp_server, runner):
    inbox = smtp_server.start()
    _, slug = add_therapist(smtp_app, timezone="America/New_York", hours=[(0, time(9), time(12))])
    # 09:00 in New York on Monday 7 January 2030 is 14:00 UTC.
    assert (
        book(smtp_app.test_client(), slug, "2030-01-07T14:00Z", tz="Europe/London").status_code
        == 303
    )
    result = runner.invoke(args=["practice", "send-outbox"])
    assert "sent 2" in result.output
    (to_client,) = inbox.to("jordan@example.com")
    (to_therapist,) = inbox.to("maya@example.org")
    body = body_of(to_client)
    assert "2:00 PM GMT (Europe/London)" in body
    assert "9:00 AM EST (America/New_York) for Maya Chen" in body
    calendar = calendar_of(to_client)
    assert "METHOD:REQUEST" in calendar and "DTSTART:20300107T140000Z" in calendar
    assert "I keep putting everyone else first." not in to_therapist.as_string()
    assert "9:00 AM EST" in body_of(to_therapist)


def test_booking_succeeds_with_smtp_down_and_mail_arrives_when_it_is_back(
    smtp_app, smtp_server, runner, clock, therapist
):
    _, slug = therapist
    smtp_app.config["PRACTICE_MAIL_SEND_AFTER_COMMIT"] = True
    response = book(smtp_app.test_client(), slug, MONDAY_9)  # nothing listens on the port yet
    assert response.status_code == 303
    assert (
        "sent 0, will retry 0" in runner.invoke(args=["practice", "send-outbox"]).output
    )  # backing off
    with smtp_app.app_context():
        rows = get_session().scalars(select(OutboxMessage)).all()
        assert len(rows) == 2 and all(r.sent_at is None and r.attempts == 1 for r in rows)
        assert all(r.last_error.startswith("ConnectionRefusedError") for r in rows)
        assert get_session().scalars(select(Consultation)).one().status == "booked"

    clock.advance(minutes=1)
    assert "will retry 2" in runner.invoke(args=["practice", "send-outbox"]).output  # still down
    inbox = smtp_server.start()
    clock.advance(minutes=2)
    assert "sent 2" in runner.invoke(args=["practice", "send-outbox"]).output
    assert len(inbox.to("jordan@example.com")) == 1 and len(inbox.to("maya@example.org")) == 1
    # Nothing is sent twice once it has gone.
    clock.advance(hours=2)
    assert "sent 0" in runner.invoke(args=["practice", "send-outbox"]).output
    assert len(inbox.messages) == 2


def test_send_after_commit_delivers_at_once_when_the_server_is_up(smtp_app, smtp_server, therapist):
    _, slug = therapist
    smtp_app.config["PRACTICE_MAIL_SEND_AFTER_COMMIT"] = True
    inbox = smtp_server.start()
    book(smtp_app.test_client(), slug, MONDAY_9)
    assert len(inbox.messages) == 2


def test_a_refused_mailbox_is_not_retried_forever(smtp_app, smtp_server, runner, clock, therapist):
    _, slug = therapist
    inbox = smtp_server.start()
    inbox.refuse.add("jordan@example.com")
    book(smtp_app.test_client(), slug, MONDAY_9)
    output = runner.invoke(args=["practice", "send-outbox"]).output
    assert "sent 1" in output and "given up 1" in output
    clock.advance(hours=3)
    output = runner.invoke(args=["practice", "send-outbox"]).output
    assert "sent 0, will retry 0, given up 0, dropped as out of date 0" in output


def test_reminder_goes_out_once_a_day_ahead(smtp_app, smtp_server, runner, clock, therapist):
    _, slug = therapist
    inbox = smtp_server.start()
    # Booked three days ahead: Thursday 10 January 09:00 UTC.
    book(smtp_app.test_client(), slug, "2030-01-10T09:00Z")
    runner.invoke(args=["practice", "send-outbox"])
    inbox.messages.clear()
    assert "queued 0" in runner.invoke(args=["practice", "send-reminders"]).output  # too early
    clock.now = clock.now.replace(day=9, hour=9, minute=30)  # 23.5 hours before
    assert "queued 1" in runner.invoke(args=["practice", "send-reminders"]).output
    assert "queued 0" in runner.invoke(args=["practice", "send-reminders"]).output
    clock.advance(hours=1)
    assert "queued 0" in runner.invoke(args=["practice", "send-reminders"]).output
    (reminder,) = inbox.messages
    assert reminder["Subject"].startswith("Reminder")
    assert "Thursday 10 January 2030 at 9:00 AM UTC" in body_of(reminder)


def test_no_reminder_for_a_booking_made_less_than_a_day_ahead(
    smtp_app, smtp_server, runner, therapist
):
    _, slug = therapist
    smtp_server.start()
    book(smtp_app.test_client(), slug, MONDAY_9)  # 3 hours from the test clock's now
    assert "queued 0" in runner.invoke(args=["practice", "send-reminders"]).output


def test_backoff_grows_and_is_capped():
    from practice.mail.outbox import backoff

    assert [backoff(n) for n in (1, 2, 3)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert backoff(30) == timedelta(hours=1)


def test_an_urgent_intake_is_kept_with_smtp_down_and_its_alert_arrives_when_it_is_back(
    smtp_app, smtp_server, runner, clock, therapist
):
    from test_intake_flow import answer, persona

    from practice.intake.links import intake_url
    from practice.intake.models import Intake

    _, slug = therapist
    smtp_app.config["PRACTICE_MAIL_SEND_AFTER_COMMIT"] = True
    client = smtp_app.test_client()
    assert book(client, slug, MONDAY_9).status_code == 303  # SMTP is down throughout
    with smtp_app.test_request_context():
        intake = get_session().scalars(select(Intake)).one()
        path = intake_url(intake).split("://", 1)[1].split("/", 1)[1]
    response = answer(client, "/" + path, persona(smtp_app, 2, 2, safety="yes"))
    assert response.status_code == 200 and "988" in response.get_data(as_text=True)
    with smtp_app.app_context():
        assert get_session().scalars(select(Intake)).one().urgent
        alert = get_session().scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "intake_alert")
        ).one()
        assert alert.sent_at is None and alert.attempts == 1
    inbox = smtp_server.start()
    clock.advance(minutes=5)
    runner.invoke(args=["practice", "send-outbox"])
    (alert_mail,) = [m for m in inbox.to("maya@example.org")
                     if m["Subject"] == "An intake needs your attention"]
    assert "Jordan" not in alert_mail.as_string()
