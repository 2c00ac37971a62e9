"""The `practice` command: run, set up the database, add staff, seed a demo, send email."""

from __future__ import annotations

import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from practice import clock, migrate
from practice.intake.cli import forms_group
from practice.privacy.cli import COMMANDS as privacy_commands
from practice.worksheets.cli import worksheet_group


def _engine():  # noqa: ANN202
    return current_app.extensions["practice"].engine


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database tables, or upgrade them to this version."""
    before = migrate.current_revision(_engine())
    migrate.upgrade(_engine())
    after = migrate.current_revision(_engine())
    if before == after:
        click.echo(f"Database is up to date (revision {after}).")
    else:
        click.echo(f"Database {'created' if before is None else 'upgraded'} (revision {after}).")


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="The name clients and colleagues see.")
@click.option("--role", type=click.Choice(["therapist", "admin"]), default="therapist")
@click.option("--timezone", default=None, help="A therapist's IANA time zone.")
@with_appcontext
def create_user(email: str, name: str, role: str, timezone: str | None) -> None:
    """Add a staff account. The password is read from a prompt, or from standard input."""
    from practice.auth.service import AccountError, create_staff_user
    from practice.clinician.service import add_therapist
    from practice.db import get_session

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    session = get_session()
    try:
        if role == "therapist":
            add_therapist(
                session,
                email=email,
                name=name,
                password=password,
                timezone=timezone or current_app.config["PRACTICE_DEFAULT_TIMEZONE"],
            )
        else:
            create_staff_user(session, email, name, role, password)
            session.commit()
    except AccountError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Added {role} {email}.")


@click.command("seed-demo")
@click.option(
    "--password",
    default="demo-password-1234",
    show_default=True,
    help="The password of every demo account.",
)
@with_appcontext
def seed_demo(password: str) -> None:
    """A demo practice: three therapists in three time zones, their hours and a few bookings."""
    from practice.demo import seed

    migrate.upgrade(_engine())
    created = seed(password)
    if created:
        click.echo("Demo practice created. Staff sign in at /staff/login with:")
        for email in created:
            click.echo(f"  {email}  /  {password}")
    else:
        click.echo("The demo practice is already there.")


def _outbox_summary(report) -> str:  # noqa: ANN001
    return (
        f"sent {report.sent}, will retry {report.failed}, given up {report.gave_up}, "
        f"dropped as out of date {report.dropped}"
    )


@click.command("send-outbox")
@click.option(
    "--every",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Keep running as a worker: send what is due, wait SECONDS, again, until SIGTERM or "
    "Ctrl-C. Without it, one pass (for cron or a systemd timer).",
)
@with_appcontext
def send_outbox(every: float | None) -> None:
    """Send every email that is due; failures wait and are retried with backoff."""
    from practice.mail.delivery import send_due

    if every is None:
        report = send_due()
        click.echo(_outbox_summary(report))
        return
    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    # SIGTERM (systemd, docker stop) ends the worker between passes, never inside a send.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if in_main else None
    click.echo(f"sending the outbox every {every:g} s; stop with SIGTERM or Ctrl-C")
    passes = 0
    try:
        while not stop.is_set():
            passes += 1
            with current_app.app_context():  # a fresh database session for each pass
                try:
                    report = send_due()
                except Exception as exc:  # the database or mail server is down: try again
                    click.echo(f"pass failed ({type(exc).__name__}); trying again", err=True)
                else:
                    if report.sent or report.failed or report.gave_up or report.dropped:
                        click.echo(_outbox_summary(report))
            stop.wait(every)
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    click.echo(f"stopped after {passes} passes")


@click.command("send-reminders")
@with_appcontext
def send_reminders() -> None:
    """Queue and send the reminder for consultations in the next day (once each)."""
    from practice.booking.notifications import notify
    from practice.booking.reminders import queue_reminders
    from practice.db import get_session
    from practice.mail.delivery import send_due

    hours = int(current_app.config["PRACTICE_REMINDER_HOURS_BEFORE"])
    queued = queue_reminders(get_session(), clock.now(), hours, notify)
    report = send_due()
    click.echo(f"queued {queued} reminders; sent {report.sent}, will retry {report.failed}")


COMMANDS = (
    init_db,
    create_user,
    seed_demo,
    send_outbox,
    send_reminders,
    worksheet_group,
    forms_group,
    *privacy_commands,
)

# Mounted in a host app as `flask practice ...`.
practice_group = AppGroup("practice", help="The practice plugin's commands.")
for _command in COMMANDS:
    practice_group.add_command(_command)


def _create_app():  # noqa: ANN202
    from practice.app import create_app

    return create_app()


main = FlaskGroup(
    create_app=_create_app, add_default_commands=True, help="Run and manage the practice app."
)
for _command in COMMANDS:
    main.add_command(_command)
