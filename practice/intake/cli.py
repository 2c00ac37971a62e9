"""`practice forms`: list, show and trial-score the questionnaires from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

import click

from practice.intake.questionnaire import Catalog, FormFileError, Questionnaire, load_catalog
from practice.intake.scoring import AnswerError, ScreenResult, explain, score

_FOLDER = "practice.forms.folder"


def _catalog() -> Catalog:
    folder = click.get_current_context().meta.get(_FOLDER)
    try:
        return load_catalog(folder)
    except FormFileError as exc:
        raise click.ClickException(str(exc)) from None


def _form(form_id: str, version: int | None) -> Questionnaire:
    catalog = _catalog()
    try:
        return catalog.get(form_id, version)
    except KeyError:
        if form_id not in catalog:
            known = ", ".join(q.id for q in catalog.latest()) or "none"
            raise click.ClickException(f"no questionnaire {form_id!r} (known: {known})") from None
        versions = ", ".join(str(v) for v in catalog.versions(form_id))
        raise click.ClickException(
            f"{form_id} has no version {version} (versions: {versions})"
        ) from None


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group("forms")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A questionnaires folder other than the package's forms/questionnaires.",
)
@click.pass_context
def forms_group(ctx: click.Context, folder: Path | None) -> None:
    """Inspect the intake questionnaires and check how answers score."""
    # meta, not obj: under Flask's CLI, obj is its ScriptInfo and must stay so.
    ctx.meta[_FOLDER] = folder


@forms_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_forms(as_json: bool) -> None:
    """Every questionnaire, its versions and what it scores."""
    catalog = _catalog()
    rows = [
        {
            "id": q.id,
            "version": q.version,
            "versions": catalog.versions(q.id),
            "title": q.title,
            "items": len(q.items),
            "safety_items": len(q.safety_items),
            "patterns": [p.id for p in q.patterns],
            "path": q.path,
        }
        for q in catalog.latest()
    ]
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("No questionnaires.")
    for row in rows:
        versions = ", ".join(str(v) for v in row["versions"])
        click.echo(
            f"{row['id']}  v{row['version']} (versions {versions})  {row['title']}: "
            f"{row['items']} items, {row['safety_items']} safety, "
            f"patterns {', '.join(row['patterns']) or 'none'}"
        )


def _describe(q: Questionnaire) -> dict[str, Any]:
    """The form as JSON, each item with its subscale, pattern and keying."""
    pattern_of = {s.id: s.pattern for s in q.subscales}
    return {
        "id": q.id,
        "version": q.version,
        "title": q.title,
        "path": q.path,
        "patterns": [
            {
                "id": p.id,
                "title": p.title,
                "elevated": p.elevated,
                "high": p.high,
                "provisional": p.provisional,
                "subscales": list(p.subscales),
            }
            for p in q.patterns
        ],
        "subscales": [
            {"id": s.id, "pattern": s.pattern, "title": s.title, "items": list(s.items)}
            for s in q.subscales
        ],
        "sections": [
            {
                "id": section.id,
                "title": section.title,
                "private": section.private,
                "items": [
                    {
                        "id": item.id,
                        "kind": item.kind,
                        "text": item.text,
                        "required": item.required,
                        "subscale": item.subscale,
                        "pattern": pattern_of.get(item.subscale),
                        "keying": (
                            ("reverse" if item.reverse else "forward") if item.subscale else None
                        ),
                        "safety": item.safety,
                        "choices": [
                            {"value": c.value, "label": c.label, "weight": c.weight}
                            for c in item.choices
                        ],
                        "max_length": item.max_length,
                    }
                    for item in section.items
                ],
            }
            for section in q.sections
        ],
    }


@forms_group.command("show")
@click.argument("form_id", metavar="ID")
@click.option("--version", type=click.IntRange(min=1), default=None, help="Default: the latest.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_form(form_id: str, version: int | None, as_json: bool) -> None:
    """One questionnaire's items, with their subscale and keying."""
    q = _form(form_id, version)
    if as_json:
        _echo_json(_describe(q))
        return
    click.echo(f"{q.id} v{q.version}: {q.title}  ({q.path})")
    for pattern in q.patterns:
        provisional = " (provisional)" if pattern.provisional else ""
        click.echo(
            f"pattern {pattern.id}: elevated >= {pattern.elevated:g}, high >= {pattern.high:g}"
            f"{provisional}; subscales {', '.join(pattern.subscales)}"
        )
    for section in q.sections:
        click.echo(f"\n[{section.id}] {section.title}{'  (private)' if section.private else ''}")
        for item in section.items:
            if item.subscale:
                tag = f"{item.subscale}, {'reverse' if item.reverse else 'forward'}"
            elif item.safety:
                tag = "safety"
            else:
                tag = item.kind
            click.echo(f"  {item.id:<24} [{tag}] {item.text}")


def _read_answers(answers_file: TextIO) -> dict[str, Any]:
    try:
        data = json.load(answers_file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{answers_file.name}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise click.ClickException(
            f"{answers_file.name}: expected a JSON object of item id to answer"
        )
    return data


def _print_result(q: Questionnaire, result: ScreenResult) -> None:
    click.echo(f"{q.id} v{q.version}: highest level {result.highest_level}")
    for flag in result.flags.values():
        click.echo(f"\n{explain(flag)}")
        for subscale in flag.subscales:
            mean = "-" if subscale.mean is None else f"{subscale.mean:.2f}"
            note = ", prorated" if subscale.prorated else ""
            note = note if subscale.scorable else ", not scorable"
            click.echo(
                f"  {subscale.title:<40} {mean:>5}  "
                f"({subscale.answered}/{subscale.total} answered{note})"
            )
        for driver in flag.drivers:
            keyed = " (reverse-keyed)" if driver.reverse else ""
            click.echo(f"    - {driver.answer_label}{keyed}: {driver.text}")
    safety = result.safety
    click.echo("")
    if safety.urgent:
        click.echo("SAFETY: URGENT - endorsed:")
        for item_id in safety.endorsed:
            click.echo(f"  - {item_id}: {q.item(item_id).text}")
    else:
        click.echo("Safety: nothing endorsed.")
    for item_id in safety.unanswered:
        click.echo(f"Safety question unanswered: {item_id}: {q.item(item_id).text}")


@forms_group.command("score")
@click.argument("form_id", metavar="ID")
@click.option(
    "--answers",
    "answers_file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help='A JSON file of item id to answer, e.g. {"other_focus_1": "4"} ("-" for stdin).',
)
@click.option("--version", type=click.IntRange(min=1), default=None, help="Default: the latest.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def score_form(form_id: str, answers_file: TextIO, version: int | None, as_json: bool) -> None:
    """Score a set of answers: subscales, levels, flags and the answers behind them."""
    q = _form(form_id, version)
    answers = _read_answers(answers_file)
    try:
        result = score(q, answers)
    except AnswerError as exc:
        lines = "\n".join(f"  {item_id}: {problem}" for item_id, problem in exc.problems.items())
        raise click.ClickException(
            f"the answers do not fit {q.id} v{q.version}:\n{lines}"
        ) from None
    if as_json:
        _echo_json(result.to_json())
    else:
        _print_result(q, result)
