"""Scoring an intake: keying, proration, thresholds, a flag's reasons, and the safety screen."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_questionnaire_files import small_form_text, write_form

from practice.intake.questionnaire import load_catalog, load_questionnaire
from practice.intake.scoring import (
    LEVELS,
    AnswerError,
    ScreenResult,
    explain,
    pursue_withdraw,
    score,
    validate_answers,
)

INTAKE = load_catalog().get("relationship-intake")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Four five-item subscales (a, b codependent; c, d hyper-independent); item 5 reversed."""
    return load_questionnaire(write_form(tmp_path_factory.mktemp("forms"), small_form_text()))


def subscale_answers(subscale: str, values: list[str]) -> dict[str, str]:
    """Answers to items 1..5 of a small-form subscale, in order (item 5 is reverse-keyed)."""
    return {f"{subscale}{n}": value for n, value in enumerate(values, start=1)}


def leaning(q, pattern: str, agree: str = "5") -> dict[str, str]:
    """Answers that agree with every item of one pattern, disagreeing with its reversed ones."""
    flipped = str(6 - int(agree))
    return {
        item.id: flipped if item.reverse else agree
        for item in q.items.values()
        if item.subscale and q.subscale(item.subscale).pattern == pattern
    }


# --- keying and means --------------------------------------------------------------------------


def test_a_reverse_keyed_item_counts_six_minus_the_answer(small):
    agreeing = score(small, subscale_answers("a", ["5", "5", "5", "5", "1"]))
    assert agreeing.subscales["a"].mean == 5.0
    contrary = score(small, subscale_answers("a", ["5", "5", "5", "5", "5"]))
    assert contrary.subscales["a"].mean == pytest.approx(21 / 5)


def test_a_complete_subscale_is_a_plain_mean_and_not_prorated(small):
    result = score(small, subscale_answers("b", ["1", "2", "3", "4", "3"]))
    b = result.subscales["b"]
    assert b.mean == pytest.approx((1 + 2 + 3 + 4 + 3) / 5)
    assert (b.answered, b.total, b.prorated, b.scorable) == (5, 5, False, True)


def test_one_missing_item_in_five_is_exactly_twenty_percent_and_is_prorated(small):
    answers = subscale_answers("a", ["4", "", "4", "2", "1"])
    a = score(small, answers).subscales["a"]
    assert a.scorable and a.prorated
    assert (a.answered, a.total) == (4, 5)
    # Prorated: the mean of the answered items, after keying (the reversed "1" counts 5).
    assert a.mean == pytest.approx((4 + 4 + 2 + 5) / 4)


def test_two_missing_items_in_five_make_a_subscale_not_scorable(small):
    answers = {
        **subscale_answers("a", ["4", "", "4", "", "1"]),
        **subscale_answers("b", ["5", "5", "5", "5", "1"]),
    }
    result = score(small, answers)
    a = result.subscales["a"]
    assert not a.scorable and a.mean is None and not a.prorated
    flag = result.flags["codependent"]
    # A pattern is only judged when every one of its subscales can be.
    assert flag.level == "not_scorable"
    assert flag.score is None


def test_an_absent_answer_and_a_blank_one_are_both_missing(small):
    blank = score(small, {**subscale_answers("a", ["4", "4", "4", "4", "2"]), "a2": "  "})
    absent_answers = subscale_answers("a", ["4", "4", "4", "4", "2"])
    del absent_answers["a2"]
    absent = score(small, absent_answers)
    assert blank.subscales["a"] == absent.subscales["a"]
    assert blank.subscales["a"].prorated


def test_the_pattern_score_is_the_mean_of_its_subscale_means(small):
    answers = {
        **subscale_answers("a", ["5", "5", "5", "5", "1"]),  # mean 5
        **subscale_answers("b", ["2", "2", "2", "2", "4"]),  # mean 2
    }
    flag = score(small, answers).flags["codependent"]
    assert flag.score == pytest.approx(3.5)
    assert [s.subscale_id for s in flag.subscales] == ["a", "b"]


# --- thresholds and levels ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a_values", "b_values", "level"),
    [
        (["3", "3", "3", "3", "3"], ["4", "3", "3", "3", "3"], "none"),  # 3.1
        (["4", "3", "4", "3", "3"], ["4", "4", "3", "3", "3"], "none"),  # 3.4 exactly
        (["4", "4", "4", "3", "3"], ["4", "4", "3", "3", "3"], "elevated"),  # 3.5 exactly
        (["4", "4", "4", "4", "3"], ["4", "4", "4", "4", "2"], "elevated"),  # 3.9
        (["4", "4", "4", "4", "2"], ["4", "4", "4", "4", "2"], "high"),  # 4.0 exactly
        (["5", "5", "5", "5", "1"], ["5", "5", "5", "5", "1"], "high"),  # 5.0
    ],
)
def test_levels_follow_the_thresholds_in_the_form_file(small, a_values, b_values, level):
    answers = {**subscale_answers("a", a_values), **subscale_answers("b", b_values)}
    assert score(small, answers).flags["codependent"].level == level


def test_a_mean_of_subscales_landing_on_the_threshold_is_judged_exactly(small):
    # 3.2 and 3.8 average to 3.5; exact arithmetic keeps float error from hiding the flag.
    answers = {
        **subscale_answers("a", ["4", "3", "3", "3", "3"]),  # 16/5 = 3.2
        **subscale_answers("b", ["4", "4", "4", "4", "3"]),  # 19/5 = 3.8
    }
    flag = score(small, answers).flags["codependent"]
    assert flag.level == "elevated"


def test_changing_a_threshold_in_the_file_changes_the_level(tmp_path):
    strict = small_form_text().replace("elevated = 3.5", "elevated = 4.5", 1)
    strict = strict.replace("high = 4.0", "high = 4.9", 1)
    q = load_questionnaire(write_form(tmp_path, strict))
    answers = leaning(q, "codependent", agree="4")
    assert score(q, answers).flags["codependent"].level == "none"
    assert score(q, answers).flags["codependent"].elevated == 4.5


def test_both_patterns_may_be_flagged_at_once(small):
    answers = {**leaning(small, "codependent"), **leaning(small, "hyper_independent", "4")}
    result = score(small, answers)
    assert result.flags["codependent"].level == "high"
    assert result.flags["hyper_independent"].level == "high"
    assert result.highest_level == "high"


def test_highest_level_treats_not_scorable_as_none(small):
    result = score(small, {})
    assert {f.level for f in result.flags.values()} == {"not_scorable"}
    assert result.highest_level == "none"
    elevated = score(small, leaning(small, "hyper_independent", "4") | {"c1": "3", "d1": "3"})
    assert elevated.flags["hyper_independent"].level == "elevated"
    assert elevated.highest_level == "elevated"


def test_flags_say_their_thresholds_are_provisional(small):
    flag = score(small, leaning(small, "codependent")).flags["codependent"]
    assert flag.provisional is True
    assert "provisional" in explain(flag)
    assert "elevated 3.5, high 4" in explain(flag)


# --- drivers: the answers behind a flag --------------------------------------------------------


def test_drivers_are_the_answers_pushing_towards_the_pattern_strongest_first(small):
    answers = {
        **subscale_answers("a", ["4", "5", "3", "2", "1"]),
        **subscale_answers("b", ["5", "4", "4", "4", "2"]),
        "c1": "5",  # the other pattern's answer never explains this flag
    }
    flag = score(small, answers).flags["codependent"]
    assert flag.level == "high"
    assert [d.item_id for d in flag.drivers] == ["a2", "a5", "b1", "a1", "b2", "b3", "b4", "b5"]
    reversed_driver = next(d for d in flag.drivers if d.item_id == "a5")
    # Disagreeing with a reversed statement drives the flag; the label is what the client chose.
    assert reversed_driver.answer_label == "Strongly disagree"
    assert reversed_driver.keyed_score == 5.0
    assert reversed_driver.reverse is True
    assert reversed_driver.text == "Statement a5."
    assert all(d.keyed_score >= 4 for d in flag.drivers)


def test_a_balanced_person_has_no_drivers_and_no_flags():
    balanced = {item.id: "3" for item in INTAKE.items.values() if item.kind == "agreement"}
    result = score(INTAKE, balanced)
    for flag in result.flags.values():
        assert flag.level == "none"
        assert flag.score == 3.0
        assert flag.drivers == ()


def test_a_clearly_codependent_person_is_flagged_high_on_that_side_only():
    answers = leaning(INTAKE, "codependent") | {
        i: ("4" if INTAKE.item(i).reverse else "2") for i in leaning(INTAKE, "hyper_independent")
    }
    result = score(INTAKE, answers)
    assert result.flags["codependent"].level == "high"
    assert result.flags["hyper_independent"].level == "none"
    driver_ids = {d.item_id for d in result.flags["codependent"].drivers}
    assert driver_ids == set(leaning(INTAKE, "codependent"))


# --- safety -----------------------------------------------------------------------------------


def test_one_endorsed_safety_item_is_urgent_even_when_nothing_else_is_answered(small):
    result = score(small, {"safety_now": "yes"})
    assert result.safety.urgent is True
    assert result.safety.endorsed == ("safety_now",)
    assert result.safety.unanswered == ("safety_afraid",)
    assert result.flags["codependent"].level == "not_scorable"


def test_a_skipped_safety_item_is_reported_unanswered_not_prorated(small):
    result = score(small, {"safety_afraid": "no"})
    assert result.safety.urgent is False
    assert result.safety.unanswered == ("safety_now",)


def test_safety_answers_are_read_without_regard_to_case_or_spaces(small):
    result = score(small, {"safety_afraid": " Yes ", "safety_now": "NO"})
    assert result.safety.endorsed == ("safety_afraid",)
    assert result.safety.unanswered == ()


def test_no_to_every_safety_item_is_not_urgent(small):
    result = score(small, {"safety_afraid": "no", "safety_now": "no"})
    assert result.safety == type(result.safety)(urgent=False, endorsed=(), unanswered=())


def test_every_shipped_safety_item_is_urgent_on_its_own():
    for item in INTAKE.safety_items:
        result = score(INTAKE, {item.id: "yes"})
        assert result.safety.urgent, item.id
        assert result.safety.endorsed == (item.id,)


# --- malformed answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "item_id", "words"),
    [
        ({"a1": "7"}, "a1", "'7' is not one of the answers"),
        ({"a1": "agree"}, "a1", "is not one of the answers"),
        ({"safety_now": "maybe"}, "safety_now", "'maybe' is not one of the answers"),
        ({"contact": "pigeon"}, "contact", "'pigeon' is not one of the answers"),
        ({"brings": "x" * 51}, "brings", "51 characters long; the most is 50"),
        ({"nonsense": "1"}, "nonsense", "is not a question on this form"),
        ({"a1": True}, "a1", "must be text"),
        ({"a1": ["4"]}, "a1", "must be text"),
    ],
)
def test_a_malformed_answer_raises_an_error_naming_the_item(small, answers, item_id, words):
    with pytest.raises(AnswerError) as caught:
        score(small, answers)
    assert item_id in caught.value.problems
    assert words in caught.value.problems[item_id]
    assert f"{item_id}: " in str(caught.value)


def test_every_problem_is_reported_at_once(small):
    with pytest.raises(AnswerError) as caught:
        validate_answers(small, {"a1": "0", "b2": "6", "a3": "4"})
    assert set(caught.value.problems) == {"a1", "b2"}


def test_validate_answers_cleans_and_drops_blanks(small):
    cleaned = validate_answers(
        small, {"a1": " 4 ", "a2": "", "safety_now": "Yes", "brings": "  Us.  ", "b1": 3}
    )
    assert cleaned == {"a1": "4", "safety_now": "yes", "brings": "Us.", "b1": "3"}


def test_a_required_item_is_only_enforced_when_asked(small):
    assert validate_answers(small, {"a1": "4"}) == {"a1": "4"}
    with pytest.raises(AnswerError) as caught:
        validate_answers(small, {"a1": "4"}, check_required=True)
    assert caught.value.problems == {"brings": "needs an answer"}


# --- results: storage and couples -------------------------------------------------------------


def test_a_result_survives_json_and_back(small):
    answers = {**leaning(small, "codependent"), "a2": "", "safety_now": "yes"}
    result = score(small, answers)
    stored = json.loads(json.dumps(result.to_json()))
    assert stored["highest_level"] == "high"
    assert stored["flags"]["codependent"]["explanation"].startswith("Codependent pattern: high")
    assert stored["safety"] == {
        "urgent": True,
        "endorsed": ["safety_now"],
        "unanswered": ["safety_afraid"],
        "mentioned_in": [],
    }
    assert stored["questionnaire"] == "small" and stored["version"] == 1
    assert ScreenResult.from_json(stored) == result
    # Results stored before free-text screening existed still load.
    del stored["safety"]["mentioned_in"]
    assert ScreenResult.from_json(stored).safety.mentioned_in == ()


@pytest.mark.parametrize(
    ("words", "mentioned"),
    [
        ("He hits me when he drinks.", True),
        ("Some days I don't want to be here any more.", True),
        ("I've thought about suicide before.", True),
        ("I'm scared of my partner when he shouts.", True),
        ("She won't let me see my sister.", True),
        ("We argue about chores and money.", False),
        ("I'd like us to hit our goals together.", False),
        ("", False),
    ],
)
def test_words_of_harm_in_free_text_are_marked_for_a_clinician(words, mentioned):
    from practice.intake.scoring import safety_mentions

    mentions = safety_mentions(INTAKE, {"what_brings_you": words})
    assert (mentions == ("what_brings_you",)) is mentioned


def test_pursue_withdraw_needs_one_partner_on_each_side(small):
    codependent = score(small, leaning(small, "codependent"))
    avoidant = score(small, leaning(small, "hyper_independent", "4"))
    balanced = score(small, {i: "3" for i in small.items if small.item(i).kind == "agreement"})
    assert pursue_withdraw(codependent, avoidant) is True
    assert pursue_withdraw(avoidant, codependent) is True
    assert pursue_withdraw(codependent, codependent) is False
    assert pursue_withdraw(avoidant, avoidant) is False
    assert pursue_withdraw(codependent, balanced) is False
    assert pursue_withdraw(balanced, avoidant) is False


# --- properties -------------------------------------------------------------------------------

SCORED = [i for i in INTAKE.items.values() if i.subscale]
PATTERN_OF = {i.id: INTAKE.subscale(i.subscale).pattern for i in SCORED}
OTHER = {"codependent": "hyper_independent", "hyper_independent": "codependent"}


@st.composite
def answer_sets(draw):
    """Complete agreement answers, then up to two blanks (often still scorable)."""
    answers = {item.id: draw(st.sampled_from("12345")) for item in SCORED}
    for item_id in draw(st.sets(st.sampled_from(sorted(answers)), max_size=2)):
        answers[item_id] = ""
    return answers


def raised(data, answers, item):
    """The answers with one item moved to a strictly higher agreement (None if it is at 5)."""
    old = answers[item.id]
    if old in ("", "5"):
        return None
    new = data.draw(st.sampled_from([v for v in "12345" if v > old]))
    return {**answers, item.id: new}


@pytest.mark.parametrize("pattern", ["codependent", "hyper_independent"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_agreeing_more_moves_its_own_pattern_only_and_in_the_keyed_direction(
    pattern, reverse, data
):
    answers = data.draw(answer_sets())
    candidates = [i for i in SCORED if PATTERN_OF[i.id] == pattern and i.reverse == reverse]
    item = data.draw(st.sampled_from(candidates))
    after_answers = raised(data, answers, item)
    if after_answers is None:
        return
    before, after = score(INTAKE, answers), score(INTAKE, after_answers)

    sub_before = before.subscales[item.subscale].mean
    sub_after = after.subscales[item.subscale].mean
    if sub_before is not None:
        assert (sub_after < sub_before) if reverse else (sub_after > sub_before)
    flag_before, flag_after = before.flags[pattern], after.flags[pattern]
    if flag_before.score is not None:
        if reverse:
            assert flag_after.score < flag_before.score
            assert LEVELS.index(flag_after.level) <= LEVELS.index(flag_before.level)
        else:
            assert flag_after.score > flag_before.score
            assert LEVELS.index(flag_after.level) >= LEVELS.index(flag_before.level)
    assert after.flags[OTHER[pattern]] == before.flags[OTHER[pattern]]


@settings(max_examples=200, deadline=None)
@given(answers=answer_sets())
def test_every_score_stays_on_the_one_to_five_scale(answers):
    result = score(INTAKE, answers)
    for subscale in result.subscales.values():
        assert subscale.mean is None or 1 <= subscale.mean <= 5
        assert subscale.scorable == (subscale.mean is not None)
    for flag in result.flags.values():
        assert flag.score is None or 1 <= flag.score <= 5
        assert (flag.score is None) == (flag.level == "not_scorable")
    assert result.highest_level in LEVELS
