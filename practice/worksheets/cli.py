"""`practice worksheet list|render`: the library and printing from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

worksheet_group = AppGroup("worksheet", help="List and print couples worksheets.")


@worksheet_group.command("list")
def list_worksheets() -> None:
    """Every worksheet in the library: id, time, the intake patterns it suits, title."""
    from practice.worksheets.service import state

    for worksheet in state().catalog.worksheets:
        suits = ",".join(sorted(worksheet.suits)) or "-"
        click.echo(f"{worksheet.id:<26} {worksheet.minutes:>3} min  {suits:<30} {worksheet.title}")


@worksheet_group.command("render")
@click.argument("worksheet_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--names", nargs=2, default=None, help='Both partners\' names: --names "A" "B".')
@click.option("--date", "session_date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--paper", type=click.Choice(["letter", "a4"]), default=None)
@click.option("--packet", is_flag=True, help="Add a cover page and a contents page.")
@click.option("--fillable", is_flag=True, help="Fields the couple can type into on screen.")
@click.option("--focus", default="", help="A short focus line (personalised copies only).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def render(
    worksheet_ids: tuple[str, ...],
    names: tuple[str, str] | None,
    session_date,  # noqa: ANN001
    paper: str | None,
    packet: bool,
    fillable: bool,
    focus: str,
    output: Path,
) -> None:
    """Print worksheets to a PDF: for a couple with --names (and --date), or blank without."""
    from practice import clock
    from practice.db import get_session
    from practice.worksheets.assembly import AssemblyError, assemble
    from practice.worksheets.service import print_pdf, state

    catalog = state().catalog
    try:
        worksheets = catalog.pick(worksheet_ids)
    except KeyError as exc:
        known = ", ".join(w.id for w in catalog.worksheets)
        raise click.BadParameter(f"no worksheet {exc.args[0]!r}; known: {known}") from None
    if session_date is not None and names is None:
        raise click.UsageError("--date goes with --names; a blank copy has no date.")
    day: date | None = session_date.date() if session_date else None
    try:
        built = assemble(
            worksheets,
            practice_name=current_app.config["PRACTICE_NAME"],
            partners=names,
            session_date=day,
            focus=focus,
            cover=packet,
            paper=paper or current_app.config["PRACTICE_WORKSHEET_PAPER"],
            fillable=fillable,
        )
    except AssemblyError as exc:
        raise click.UsageError(str(exc)) from None
    session = get_session()
    try:
        # No staff account at a shell: the audit row has no actor, but the print is still logged.
        pdf = print_pdf(session, built, actor_id=None, consultation=None, at=clock.now())
    except SQLAlchemyError:
        session.rollback()
        raise click.ClickException(
            "could not write the audit log for this print; is the database set up "
            "(practice init-db)?"
        ) from None
    output.write_bytes(pdf)
    kind = f"for {built.couple}" if built.personalised else "blank"
    click.echo(f"Wrote {output} ({len(built.sheets)} worksheet(s), {kind}, {built.paper}).")
