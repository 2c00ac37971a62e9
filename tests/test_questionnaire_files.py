"""Questionnaire files: the shipped screener is sound; a bad file stops with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from practice.intake.questionnaire import (
    FormFileError,
    load_catalog,
    load_questionnaire,
)
from practice.paths import FORMS_DIR

SHIPPED = FORMS_DIR / "questionnaires" / "relationship-intake" / "v1.toml"

# Four subscales of five items; the fifth item of each is reverse-keyed.
SUBSCALES = {
    "a": "codependent",
    "b": "codependent",
    "c": "hyper_independent",
    "d": "hyper_independent",
}


def small_form_text(form_id: str = "small", version: int = 1) -> str:
    """A minimal valid questionnaire that tests can bend one field at a time."""
    lines = [
        f'id = "{form_id}"',
        f"version = {version}",
        'title = "Small form"',
        "",
    ]
    for pattern in ("codependent", "hyper_independent"):
        lines += [
            "[[patterns]]",
            f'id = "{pattern}"',
            f'title = "{pattern.replace("_", "-").capitalize()} pattern"',
            "elevated = 3.5",
            "high = 4.0",
            "provisional = true",
            "",
        ]
    for subscale, pattern in SUBSCALES.items():
        lines += [
            "[[subscales]]",
            f'id = "{subscale}"',
            f'pattern = "{pattern}"',
            f'title = "Subscale {subscale.upper()}"',
            "",
        ]
    lines += [
        "[[sections]]",
        'id = "practical"',
        'title = "Practical"',
        "",
        "[[sections.items]]",
        'id = "brings"',
        'kind = "long_text"',
        'text = "What brings you?"',
        "required = true",
        "max_length = 50",
        "",
        "[[sections.items]]",
        'id = "contact"',
        'kind = "choice"',
        'text = "How should we reach you?"',
        'choices = [{ value = "email", label = "Email" }, { value = "phone", label = "Phone" }]',
        "",
        "[[sections]]",
        'id = "relating"',
        'title = "Relating"',
        "",
    ]
    for subscale in SUBSCALES:
        for n in range(1, 6):
            lines += [
                "[[sections.items]]",
                f'id = "{subscale}{n}"',
                'kind = "agreement"',
                f'subscale = "{subscale}"',
                f'text = "Statement {subscale}{n}."',
            ]
            if n == 5:
                lines.append("reverse = true")
            lines.append("")
    lines += [
        "[[sections]]",
        'id = "safety"',
        'title = "Safety"',
        "private = true",
        "",
        "[[sections.items]]",
        'id = "safety_afraid"',
        'kind = "yes_no"',
        "safety = true",
        'text = "Afraid?"',
        "",
        "[[sections.items]]",
        'id = "safety_now"',
        'kind = "yes_no"',
        "safety = true",
        'text = "Thoughts right now?"',
        "",
    ]
    return "\n".join(lines)


def write_form(folder: Path, text: str, form_id: str = "small", version: int = 1) -> Path:
    """Write a form file where the catalog expects it: <folder>/<id>/v<version>.toml."""
    path = folder / form_id / f"v{version}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped screener ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def intake():
    return load_catalog().get("relationship-intake")


def test_the_shipped_intake_loads_from_the_default_catalog(intake):
    assert intake.version == 1
    assert intake.path == "forms/questionnaires/relationship-intake/v1.toml"
    assert load_questionnaire(SHIPPED) == intake


def test_each_pattern_has_two_or_more_subscales_of_five_or_more_items(intake):
    assert {p.id for p in intake.patterns} == {"codependent", "hyper_independent"}
    for pattern in intake.patterns:
        assert len(pattern.subscales) >= 2
        for subscale_id in pattern.subscales:
            subscale = intake.subscale(subscale_id)
            assert subscale.pattern == pattern.id
            assert len(subscale.items) >= 5


def test_every_subscale_mixes_reverse_and_forward_keyed_agreement_items(intake):
    for subscale in intake.subscales:
        items = [intake.item(i) for i in subscale.items]
        assert all(item.kind == "agreement" for item in items)
        assert any(item.reverse for item in items), subscale.id
        assert any(not item.reverse for item in items), subscale.id


def test_agreement_items_use_a_five_point_scale_weighted_one_to_five(intake):
    agreement = [i for i in intake.items.values() if i.kind == "agreement"]
    assert len(agreement) >= 20
    for item in agreement:
        assert [c.value for c in item.choices] == ["1", "2", "3", "4", "5"]
        assert [c.weight for c in item.choices] == [1, 2, 3, 4, 5]
        assert item.choices[0].label == "Strongly disagree"
        assert item.choices[-1].label == "Strongly agree"


def test_thresholds_are_provisional_and_ordered(intake):
    for pattern in intake.patterns:
        assert pattern.provisional is True
        assert 1 <= pattern.elevated < pattern.high <= 5


def test_the_practical_questions_are_asked_with_limits(intake):
    items = intake.items
    assert items["what_brings_you"].kind == "long_text"
    assert items["what_brings_you"].required is True
    assert items["goals"].kind == "long_text"
    for item_id in ("relationship_status", "relationship_length", "prior_therapy"):
        assert items[item_id].kind == "choice"
        assert len(items[item_id].choices) >= 2
    contact = items["preferred_contact"]
    assert [c.value for c in contact.choices] == ["email", "phone", "text"]
    for item in items.values():
        if item.kind in ("text", "long_text"):
            assert item.max_length and item.max_length <= 5000


def test_the_safety_screen_is_private_yes_no_and_covers_each_concern(intake):
    safety = intake.safety_items
    assert [i.id for i in safety] == [
        "safety_afraid",
        "safety_hurt",
        "safety_controlled",
        "safety_thoughts_recent",
        "safety_thoughts_now",
    ]
    sections = {s.id: s for s in intake.sections}
    for item in safety:
        assert item.kind == "yes_no"
        assert item.subscale is None
        assert sections[item.section].private is True
        assert [c.value for c in item.choices] == ["yes", "no"]
    # Nothing else in the form is private, so the couple page can show every other section.
    assert [s.id for s in intake.sections if s.private] == ["safety"]


def test_the_safety_section_tells_the_client_it_is_not_watched_and_where_to_get_help(intake):
    intro = next(s for s in intake.sections if s.id == "safety").intro
    assert "not watched in real time" in intro
    # The numbers themselves are the practice's own (PRACTICE_URGENT_HELP, shown on every page):
    # a form file can't know which country it is answered in.
    assert "numbers at the foot of this page" in intro


def test_every_item_has_its_own_wording(intake):
    texts = [i.text for i in intake.items.values()]
    assert len(texts) == len(set(texts))
    assert all(t.strip() == t and t for t in texts)


# --- the catalog --------------------------------------------------------------------------------


def test_the_catalog_serves_the_latest_version_and_keeps_the_old_ones(tmp_path):
    write_form(tmp_path, small_form_text(version=1), version=1)
    write_form(
        tmp_path, small_form_text(version=2).replace("Small form", "Small form, v2"), version=2
    )
    catalog = load_catalog(tmp_path)
    assert catalog.versions("small") == [1, 2]
    assert catalog.get("small").version == 2
    assert catalog.get("small").title == "Small form, v2"
    assert catalog.get("small", 1).title == "Small form"
    assert [q.id for q in catalog.latest()] == ["small"]
    assert "small" in catalog and len(catalog) == 2


def test_the_catalog_raises_key_error_for_an_unknown_form_or_version(tmp_path):
    write_form(tmp_path, small_form_text())
    catalog = load_catalog(tmp_path)
    with pytest.raises(KeyError):
        catalog.get("nope")
    with pytest.raises(KeyError):
        catalog.get("small", 7)
    with pytest.raises(KeyError):
        catalog.versions("nope")


def test_the_catalog_refuses_a_file_not_named_by_its_version(tmp_path):
    write_form(tmp_path, small_form_text())
    stray = tmp_path / "small" / "draft.toml"
    stray.write_text(small_form_text(), encoding="utf-8")
    with pytest.raises(FormFileError) as caught:
        load_catalog(tmp_path)
    assert str(caught.value).startswith(f"{stray}: (file name):")


def test_the_catalog_refuses_a_form_file_outside_a_form_folder(tmp_path):
    (tmp_path / "loose.toml").write_text(small_form_text(), encoding="utf-8")
    with pytest.raises(FormFileError, match="loose.toml"):
        load_catalog(tmp_path)


def test_the_small_test_form_is_itself_valid(tmp_path):
    q = load_questionnaire(write_form(tmp_path, small_form_text()))
    assert [s.id for s in q.subscales] == ["a", "b", "c", "d"]
    assert q.item("a5").reverse and not q.item("a4").reverse
    assert q.pattern("codependent").subscales == ("a", "b")


# --- bad files ----------------------------------------------------------------------------------

SAFE_ITEM = 'id = "safety_afraid"\nkind = "yes_no"\nsafety = true'

BAD_FILES = {
    "unknown top-level key": (
        lambda t: t.replace('title = "Small form"', 'title = "Small form"\ncolour = "blue"'),
        "colour",
        "unknown key",
    ),
    "missing title": (
        lambda t: t.replace('title = "Small form"\n', ""),
        "title",
        "missing",
    ),
    "version as text": (
        lambda t: t.replace("version = 1", 'version = "1"'),
        "version",
        "must be a whole number",
    ),
    "unknown item key": (
        lambda t: t.replace('id = "a1"', 'id = "a1"\nweight = 2'),
        "sections[1].items[0].weight",
        "unknown key",
    ),
    "item text not a string": (
        lambda t: t.replace('text = "Statement a1."', "text = 12"),
        "sections[1].items[0].text",
        "must be text",
    ),
    "unknown kind": (
        lambda t: t.replace('id = "a1"\nkind = "agreement"', 'id = "a1"\nkind = "slider"'),
        "sections[1].items[0].kind",
        "unknown kind 'slider'",
    ),
    "duplicate item id": (
        lambda t: t.replace('id = "a2"', 'id = "a1"'),
        "sections[1].items[1].id",
        "duplicate item id 'a1'",
    ),
    "unknown subscale": (
        lambda t: t.replace(
            'id = "a1"\nkind = "agreement"\nsubscale = "a"',
            'id = "a1"\nkind = "agreement"\nsubscale = "foo"',
        ),
        "sections[1].items[0].subscale",
        "unknown subscale 'foo'",
    ),
    "unknown pattern": (
        lambda t: t.replace('pattern = "hyper_independent"', 'pattern = "aloof"', 1),
        "subscales[2].pattern",
        "unknown pattern 'aloof'",
    ),
    "reverse keying outside a subscale": (
        lambda t: t.replace(
            'id = "b5"\nkind = "agreement"\nsubscale = "b"', 'id = "b5"\nkind = "agreement"'
        ),
        "sections[1].items[9].reverse",
        "reverse keying only applies",
    ),
    "subscale short of five": (
        lambda t: t.replace(
            'id = "b5"\nkind = "agreement"\nsubscale = "b"\ntext = "Statement b5."\nreverse = true',
            'id = "b5"\nkind = "agreement"\ntext = "Statement b5."',
        ),
        "subscales[1]",
        "'b' has 4 items; a subscale needs at least 5",
    ),
    "elevated above high": (
        lambda t: t.replace("elevated = 3.5", "elevated = 4.5", 1),
        "patterns[0].high",
        "1 <= elevated < high <= 5",
    ),
    "elevated below one": (
        lambda t: t.replace("elevated = 3.5", "elevated = 0.5", 1),
        "patterns[0].elevated",
        "1 <= elevated < high <= 5",
    ),
    "high above five": (
        lambda t: t.replace("high = 4.0", "high = 6", 1),
        "patterns[0].high",
        "1 <= elevated < high <= 5",
    ),
    "threshold as text": (
        lambda t: t.replace("high = 4.0", 'high = "4"', 1),
        "patterns[0].high",
        "must be a number",
    ),
    "safety item that is not yes/no": (
        lambda t: t.replace(SAFE_ITEM, 'id = "safety_afraid"\nkind = "agreement"\nsafety = true'),
        "sections[2].items[0].safety",
        "must be a yes_no item",
    ),
    "safety item in a public section": (
        lambda t: t.replace("private = true\n", ""),
        "sections[2].items[0].safety",
        "private = true",
    ),
    "subscale on a yes/no item": (
        lambda t: t.replace(SAFE_ITEM, SAFE_ITEM + '\nsubscale = "a"'),
        "sections[2].items[0].subscale",
        "only agreement items",
    ),
    "choice item with one choice": (
        lambda t: t.replace(', { value = "phone", label = "Phone" }', ""),
        "sections[0].items[1].choices",
        "at least two choices",
    ),
    "choices on a text item": (
        lambda t: t.replace(
            "max_length = 50", 'max_length = 50\nchoices = [{ value = "x", label = "X" }]'
        ),
        "sections[0].items[0].choices",
        "only choice items list choices",
    ),
    "max length of zero": (
        lambda t: t.replace("max_length = 50", "max_length = 0"),
        "sections[0].items[0].max_length",
        "must be 1 or more",
    ),
    "item id with a space": (
        lambda t: t.replace('id = "brings"', 'id = "what brings"'),
        "sections[0].items[0].id",
        "not a valid id",
    ),
    "section id shared with an item": (
        lambda t: t.replace('id = "relating"', 'id = "brings"'),
        "sections[1].id",
        "also an item id",
    ),
    "no sections": (
        lambda t: t[: t.index("[[sections]]")],
        "sections",
        "missing",
    ),
    "id not matching its folder": (
        lambda t: t.replace('id = "small"', 'id = "other"'),
        "id",
        "sits in the folder 'small'",
    ),
    "version not matching its file name": (
        lambda t: t.replace("version = 1", "version = 2"),
        "version",
        "named v1.toml",
    ),
    "broken TOML": (
        lambda t: t.replace('title = "Small form"', 'title = "Small form'),
        "(syntax)",
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_form_file_is_refused_with_its_file_and_field_named(tmp_path, case):
    mutate, field, problem = BAD_FILES[case]
    text = small_form_text()
    broken = mutate(text)
    assert broken != text, "the mutation must change the file"
    path = write_form(tmp_path, broken)
    with pytest.raises(FormFileError) as caught:
        load_questionnaire(path)
    assert caught.value.file == str(path)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{path}: {field}: ")
    assert problem in caught.value.problem


def test_a_bad_file_also_stops_the_whole_catalog(tmp_path):
    write_form(tmp_path, small_form_text().replace("high = 4.0", "high = 3.0", 1))
    with pytest.raises(FormFileError, match=r"patterns\[0\]\.high"):
        load_catalog(tmp_path)


def test_a_shipped_file_is_named_relative_to_the_checkout():
    # The message a practice sees names the file as it appears in their forms folder.
    from practice.intake import questionnaire

    assert questionnaire._shown(SHIPPED) == "forms/questionnaires/relationship-intake/v1.toml"
