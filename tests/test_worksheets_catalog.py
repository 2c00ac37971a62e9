"""The worksheet library as data: the shipped files, bad files stopping start-up, suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from practice import create_app
from practice.paths import FORMS_DIR
from practice.worksheets.catalog import (
    PATTERN_FLAGS,
    CatalogError,
    Section,
    Worksheet,
    load_catalog,
)
from practice.worksheets.service import flags_for_consultation
from practice.worksheets.suggest import suggest

LIBRARY = FORMS_DIR / "worksheets"
GOOD = """
id = "{id}"
order = {order}
title = "A worksheet"
purpose = "One line on what it is for."
instructions = "How to use it."
minutes = 15
suits = ["codependent"]

[[sections]]
heading = "Each of us"
layout = "each"

[[sections.prompts]]
text = "A question"
lines = 3
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_library_has_the_eight_worksheets_the_issue_asks_for():
    catalog = load_catalog(LIBRARY)
    ids = [w.id for w in catalog.worksheets]
    assert ids[:8] == [
        "i-and-we",
        "asking-for-what-i-need",
        "support-map",
        "boundaries",
        "weekly-check-in",
        "demands-to-requests",
        "us-against-the-problem",
        "our-cycle",
    ]
    for worksheet in catalog.worksheets:
        assert worksheet.purpose and worksheet.instructions and worksheet.minutes > 0
        assert worksheet.suits <= PATTERN_FLAGS
        layouts = {section.layout for section in worksheet.sections}
        assert "each" in layouts  # every worksheet gives each partner their own space


def test_shipped_worksheets_suit_the_patterns_the_issue_names():
    catalog = load_catalog(LIBRARY)
    assert "codependent" in catalog.get("boundaries").suits
    assert "codependent" in catalog.get("support-map").suits
    assert "hyper_independent" in catalog.get("asking-for-what-i-need").suits
    assert "pursue_withdraw" in catalog.get("our-cycle").suits


def test_a_good_file_loads_with_its_fields(tmp_path):
    write(tmp_path, "sample", GOOD.format(id="sample", order=1))
    (worksheet,) = load_catalog(tmp_path).worksheets
    assert worksheet.title == "A worksheet"
    assert worksheet.sections[0].prompts[0].lines == 3
    assert worksheet.suits == {"codependent"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda t: t.replace('title = "A worksheet"\n', ""), "'title'"),
        (lambda t: t.replace('layout = "each"', 'layout = "sideways"'), "'sections[0].layout'"),
        (lambda t: t.replace("lines = 3", "lines = 40"), "'sections[0].prompts[0].lines'"),
        (lambda t: t.replace("lines = 3", "lnies = 3"), "'sections[0].prompts[0].lnies'"),
        (lambda t: t.replace('["codependent"]', '["anxious"]'), "'suits'"),
        (lambda t: t.replace("minutes = 15", 'minutes = "soon"'), "'minutes'"),
        (lambda t: t.replace('id = "sample"', 'id = "other"'), "'id'"),
        (
            lambda t: t.replace(
                "lines = 3", 'lines = 3\ntable = { columns = ["a"], rows = ["b"] }'
            ),
            "'sections[0].prompts[0].lines'",
        ),
        (
            lambda t: t.replace("lines = 3", 'table = { columns = [], rows = ["b"] }'),
            "'sections[0].prompts[0].table.columns'",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_field(tmp_path, change, field):
    path = write(tmp_path, "sample", change(GOOD.format(id="sample", order=1)))
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert str(path) in str(caught.value)
    assert field in str(caught.value)


def test_a_file_that_is_not_toml_is_refused_naming_the_file(tmp_path):
    path = write(tmp_path, "broken", 'id = "broken"\ntitle = "unterminated\n')
    with pytest.raises(CatalogError, match="not valid TOML") as caught:
        load_catalog(tmp_path)
    assert str(path) in str(caught.value)


def test_two_worksheets_in_the_same_place_in_the_library_are_refused(tmp_path):
    write(tmp_path, "one", GOOD.format(id="one", order=1))
    write(tmp_path, "two", GOOD.format(id="two", order=1))
    with pytest.raises(CatalogError, match="'order'.*also used by one"):
        load_catalog(tmp_path)


def test_a_bad_worksheet_file_stops_the_app_starting(tmp_path):
    write(tmp_path, "sample", GOOD.format(id="sample", order=1).replace("minutes = 15", ""))
    with pytest.raises(CatalogError, match=r"sample\.toml: field 'minutes'"):
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x",
                "PRACTICE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                "PRACTICE_WORKSHEETS_DIR": str(tmp_path),
            }
        )


def sheet(n: int, suits: frozenset[str]) -> Worksheet:
    return Worksheet(
        id=f"w{n}",
        order=n,
        title=f"W{n}",
        purpose="p",
        instructions="i",
        minutes=10,
        suits=suits,
        sections=(Section("h", "each", ()),),
    )


libraries = st.lists(st.frozensets(st.sampled_from(sorted(PATTERN_FLAGS))), max_size=12).map(
    lambda suits: [sheet(n, s) for n, s in enumerate(suits, start=1)]
)
flag_sets = st.sets(st.sampled_from(sorted(PATTERN_FLAGS)))


@given(libraries, flag_sets)
def test_suggestions_reorder_but_never_add_or_drop_a_worksheet(library, flags):
    assert sorted(w.id for w in suggest(library, flags)) == sorted(w.id for w in library)


@given(libraries, flag_sets)
def test_suited_worksheets_come_first_and_ties_keep_library_order(library, flags):
    ordered = suggest(library, flags)
    matches = [len(w.suits & flags) for w in ordered]
    assert matches == sorted(matches, reverse=True)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if len(a.suits & flags) == len(b.suits & flags):
            assert a.order < b.order


def test_no_flags_keeps_the_library_order_and_a_pattern_brings_its_worksheets_forward():
    library = list(load_catalog(LIBRARY).worksheets)
    assert suggest(library, set()) == library
    assert suggest(library, {"pursue_withdraw"})[:2] == [
        load_catalog(LIBRARY).get("demands-to-requests"),
        load_catalog(LIBRARY).get("our-cycle"),
    ]
    first_hyper = [w.id for w in suggest(library, {"hyper_independent"})[:3]]
    assert "asking-for-what-i-need" in first_hyper
    first_codependent = [w.id for w in suggest(library, {"codependent"})[:4]]
    assert {"boundaries", "support-map"} <= set(first_codependent)


def test_flags_for_a_consultation_pass_only_pattern_flags_never_safety_ones(monkeypatch):
    import practice.intake.service

    def pattern_flags(session, consultation):  # noqa: ANN001, ANN202
        return {"codependent", "safety_concern", "pursue_withdraw"}

    # Even if intake ever passed on something about safety, a worksheet would not see it.
    monkeypatch.setattr(practice.intake.service, "pattern_flags", pattern_flags)
    assert flags_for_consultation(None, None) == {"codependent", "pursue_withdraw"}
