"""Commands for data protection: data keys, the audit chain, and erasing a client."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from practice import clock


def _state():  # noqa: ANN202
    return current_app.extensions["practice"]


@click.command("new-data-key")
def new_data_key() -> None:
    """Print a new Fernet key for PRACTICE_DATA_KEYS (put it first, then run rotate-keys)."""
    from practice.crypto import new_key

    click.echo(new_key())


@click.command("rotate-keys")
@with_appcontext
def rotate_keys() -> None:
    """Re-encrypt every encrypted value with the first key of PRACTICE_DATA_KEYS.

    Afterwards the older keys can be removed from the list. Safe to run again: values already
    under the newest key are left alone.
    """
    from practice.crypto import reencrypt_all
    from practice.db import IMMEDIATE

    state = _state()
    connection = state.engine.connect().execution_options(**IMMEDIATE)
    with connection, connection.begin():
        count = reencrypt_all(connection, state.cipher)
    click.echo(f"Re-encrypted {count} values with the newest key.")


@click.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Walk the audit log's hash chain; name every row that was changed, removed or moved."""
    from practice.audit.chain import verify

    with _state().engine.connect() as connection:
        result = verify(connection)
    for broken in result.breaks:
        click.echo(f"row {broken.id}: {broken.reason}", err=True)
    if not result.ok:
        raise click.ClickException(f"the audit log was tampered with ({len(result.breaks)} rows)")
    click.echo(f"Audit log intact: {result.rows} rows, head {result.head}")


@click.command("erase-client")
@click.argument("email")
@click.option("--by", "by_email", default=None, help="The admin carrying out the request.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_client_command(email: str, by_email: str | None, yes: bool) -> None:
    """Erase a client's personal and clinical data everywhere; keep one audit line."""
    from practice.auth.models import StaffUser
    from practice.db import get_session
    from practice.privacy.service import erase_client, plan_erasure

    session = get_session()
    actor_id = None
    if by_email:
        actor = session.scalar(
            select(StaffUser).where(func.lower(StaffUser.email) == by_email.strip().lower())
        )
        if actor is None or not actor.is_admin:
            raise click.ClickException(f"{by_email} is not an admin account")
        actor_id = actor.id
    plan = plan_erasure(session, email)
    session.rollback()
    if plan.empty:
        raise click.ClickException("No consultation was booked with that email address.")
    click.echo(
        f"This erases {len(plan.as_client)} consultation(s) booked with that address and the "
        f"partner's details on {len(plan.as_partner)} other(s). It cannot be undone."
    )
    if not yes:
        click.confirm("Erase?", abort=True)
    report = erase_client(session, email, actor_id=actor_id, now=clock.now())
    if report is None:
        raise click.ClickException("No consultation was booked with that email address.")
    click.echo(
        f"Erased: {report.consultations} consultation(s), {report.intakes} intake(s), "
        f"{report.messages} message(s). Erasure id {report.erasure_id}."
    )


COMMANDS = (new_data_key, rotate_keys, audit_group, erase_client_command)
