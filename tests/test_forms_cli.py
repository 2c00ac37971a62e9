"""`practice forms`: list, show and score questionnaires from the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_questionnaire_files import small_form_text, write_form

from practice.intake.cli import forms_group
from practice.intake.questionnaire import load_catalog

INTAKE = load_catalog().get("relationship-intake")


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(forms_group, list(args), input=input, catch_exceptions=False)

    return invoke


def codependent_answers() -> dict[str, str]:
    """A clearly codependent person who is at ease with closeness, and endorses one safety item."""
    answers = {}
    for item in INTAKE.items.values():
        if not item.subscale:
            continue
        pattern = INTAKE.subscale(item.subscale).pattern
        leans = "5" if pattern == "codependent" else "2"
        answers[item.id] = str(6 - int(leans)) if item.reverse else leans
    return answers | {"safety_hurt": "yes", "what_brings_you": "We argue about time apart."}


def test_list_names_each_questionnaire_with_its_versions(run):
    result = run("list")
    assert result.exit_code == 0
    assert "relationship-intake  v1 (versions 1)  Before we meet" in result.output
    assert "5 safety" in result.output


def test_list_json_is_machine_readable(run):
    rows = json.loads(run("list", "--json").output)
    (row,) = [r for r in rows if r["id"] == "relationship-intake"]
    assert row["versions"] == [1]
    assert row["patterns"] == ["codependent", "hyper_independent"]
    assert row["items"] == len(INTAKE.items)


def test_show_json_gives_every_item_with_its_subscale_and_keying(run):
    result = run("show", "relationship-intake", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    items = {i["id"]: i for s in data["sections"] for i in s["items"]}
    assert list(items) == list(INTAKE.items)
    assert items["other_focus_1"]["subscale"] == "other_focus"
    assert items["other_focus_1"]["pattern"] == "codependent"
    assert items["other_focus_1"]["keying"] == "forward"
    assert items["other_focus_3"]["keying"] == "reverse"
    assert items["what_brings_you"]["keying"] is None
    assert items["safety_thoughts_now"]["safety"] is True
    assert [c["weight"] for c in items["withdrawal_1"]["choices"]] == [1, 2, 3, 4, 5]
    assert data["patterns"][0]["provisional"] is True


def test_show_prints_a_readable_outline(run):
    output = run("show", "relationship-intake").output
    assert "[safety] Your safety  (private)" in output
    assert "[other_focus, reverse] I can enjoy my day" in output


def test_show_an_unknown_form_or_version_fails_clearly(run):
    unknown = run("show", "nope")
    assert unknown.exit_code == 1
    assert "no questionnaire 'nope' (known: relationship-intake)" in unknown.output
    missing = run("show", "relationship-intake", "--version", "9")
    assert missing.exit_code == 1
    assert "has no version 9 (versions: 1)" in missing.output


def test_score_json_reports_levels_flags_and_their_reasons(run, tmp_path):
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(codependent_answers()), encoding="utf-8")
    result = run("score", "relationship-intake", "--answers", str(answers_file), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["highest_level"] == "high"
    flag = data["flags"]["codependent"]
    assert flag["level"] == "high"
    assert flag["score"] == 5.0
    assert len(flag["drivers"]) == 18
    assert flag["explanation"].startswith("Codependent pattern: high")
    assert data["flags"]["hyper_independent"]["level"] == "none"
    assert data["subscales"]["withdrawal"]["mean"] == 2.0
    assert data["safety"]["urgent"] is True
    assert data["safety"]["endorsed"] == ["safety_hurt"]


def test_score_prints_the_flag_the_answers_behind_it_and_the_safety_alert(run, tmp_path):
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(codependent_answers()), encoding="utf-8")
    output = run("score", "relationship-intake", "--answers", str(answers_file)).output
    assert "Codependent pattern: high" in output
    assert "Strongly disagree (reverse-keyed): I can enjoy my day" in output
    assert "SAFETY: URGENT" in output
    assert "safety_hurt: Has anyone you've been with ever hurt you physically" in output
    assert "Safety question unanswered: safety_afraid" in output


def test_score_reads_answers_from_stdin_and_accepts_numbers(run):
    answers = {item_id: int(v) for item_id, v in codependent_answers().items() if v.isdigit()}
    result = run(
        "score", "relationship-intake", "--answers", "-", "--json", input=json.dumps(answers)
    )
    assert result.exit_code == 0
    assert json.loads(result.output)["flags"]["codependent"]["level"] == "high"


def test_score_refuses_malformed_answers_naming_each_item(run, tmp_path):
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(
        json.dumps({"other_focus_1": "7", "bogus": "1", "safety_hurt": "sometimes"}),
        encoding="utf-8",
    )
    result = run("score", "relationship-intake", "--answers", str(answers_file))
    assert result.exit_code == 1
    assert "the answers do not fit relationship-intake v1" in result.output
    assert "other_focus_1: '7' is not one of the answers" in result.output
    assert "bogus: is not a question on this form" in result.output
    assert "safety_hurt: 'sometimes' is not one of the answers" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('["4", "5"]', "expected a JSON object")],
)
def test_score_refuses_a_file_that_is_not_a_json_object(run, tmp_path, content, message):
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(content, encoding="utf-8")
    result = run("score", "relationship-intake", "--answers", str(answers_file))
    assert result.exit_code == 1
    assert message in result.output


def test_score_needs_an_answers_file(run):
    result = run("score", "relationship-intake")
    assert result.exit_code == 2
    assert "--answers" in result.output


def test_a_bad_form_file_stops_every_command_with_its_field_named(run, tmp_path):
    write_form(tmp_path, small_form_text().replace("high = 4.0", "high = 9", 1))
    result = run("--folder", str(tmp_path), "list")
    assert result.exit_code == 1
    assert "patterns[0].high" in result.output


def test_another_folder_can_be_inspected_and_its_versions_scored(run, tmp_path):
    write_form(tmp_path, small_form_text(version=1), version=1)
    write_form(tmp_path, small_form_text(version=2), version=2)
    assert "small  v2 (versions 1, 2)" in run("--folder", str(tmp_path), "list").output
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps({"safety_now": "yes"}), encoding="utf-8")
    result = run(
        "--folder",
        str(tmp_path),
        "score",
        "small",
        "--version",
        "1",
        "--answers",
        str(answers_file),
        "--json",
    )
    data = json.loads(result.output)
    assert data["version"] == 1
    assert data["safety"]["urgent"] is True
    assert data["flags"]["codependent"]["level"] == "not_scorable"
