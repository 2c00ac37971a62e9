"""FHIR R4 export: the form as a Questionnaire, one intake as a QuestionnaireResponse."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from practice.intake.fhir import (
    ORDINAL_VALUE,
    questionnaire_resource,
    response_resource,
)
from practice.intake.questionnaire import load_catalog
from practice.intake.scoring import AnswerError

INTAKE = load_catalog().get("relationship-intake")
AUTHORED = datetime(2030, 1, 7, 14, 30, tzinfo=UTC)


def questions(resource):
    """Every non-group, non-display item of a Questionnaire, in order."""
    return [
        child
        for group in resource["item"]
        for child in group["item"]
        if child["type"] not in ("group", "display")
    ]


def test_the_form_exports_as_an_active_versioned_questionnaire():
    resource = questionnaire_resource(INTAKE)
    assert resource["resourceType"] == "Questionnaire"
    assert resource["status"] == "active"
    assert resource["url"] == "urn:practice:questionnaire:relationship-intake"
    assert resource["version"] == "1"
    assert resource["name"] == "RelationshipIntake"
    assert resource["title"] == INTAKE.title
    json.dumps(resource)  # plain JSON throughout


def test_an_http_base_makes_an_http_canonical_url():
    resource = questionnaire_resource(
        INTAKE, canonical_base="https://example.org/fhir/Questionnaire/"
    )
    assert resource["url"] == "https://example.org/fhir/Questionnaire/relationship-intake"


def test_each_section_is_a_group_and_each_link_id_is_an_item_id():
    resource = questionnaire_resource(INTAKE)
    assert [g["linkId"] for g in resource["item"]] == [s.id for s in INTAKE.sections]
    assert all(g["type"] == "group" for g in resource["item"])
    assert [q["linkId"] for q in questions(resource)] == list(INTAKE.items)


def test_link_ids_are_unique_across_the_whole_questionnaire():
    def walk(items):
        for entry in items:
            yield entry["linkId"]
            yield from walk(entry.get("item", []))

    link_ids = list(walk(questionnaire_resource(INTAKE)["item"]))
    assert len(link_ids) == len(set(link_ids))


def test_item_types_follow_their_kind():
    by_id = {q["linkId"]: q for q in questions(questionnaire_resource(INTAKE))}
    assert by_id["other_focus_1"]["type"] == "choice"
    assert by_id["relationship_status"]["type"] == "choice"
    assert by_id["safety_thoughts_now"]["type"] == "boolean"
    assert by_id["what_brings_you"]["type"] == "text"
    assert by_id["what_brings_you"]["required"] is True
    assert by_id["what_brings_you"]["maxLength"] == INTAKE.item("what_brings_you").max_length


def test_agreement_answers_carry_their_weight_as_ordinal_value():
    by_id = {q["linkId"]: q for q in questions(questionnaire_resource(INTAKE))}
    options = by_id["self_reliance_3"]["answerOption"]
    assert [o["valueCoding"]["code"] for o in options] == ["1", "2", "3", "4", "5"]
    assert options[0]["valueCoding"]["display"] == "Strongly disagree"
    weights = [
        ext["valueDecimal"]
        for o in options
        for ext in o["valueCoding"]["extension"]
        if ext["url"] == ORDINAL_VALUE
    ]
    assert weights == [1, 2, 3, 4, 5]
    assert ORDINAL_VALUE == "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def test_unweighted_choices_have_no_ordinal_value():
    by_id = {q["linkId"]: q for q in questions(questionnaire_resource(INTAKE))}
    for option in by_id["preferred_contact"]["answerOption"]:
        assert "extension" not in option["valueCoding"]


def test_help_text_becomes_a_help_display_item():
    by_id = {q["linkId"]: q for q in questions(questionnaire_resource(INTAKE))}
    (help_item,) = by_id["what_brings_you"]["item"]
    assert help_item["type"] == "display"
    assert help_item["text"] == INTAKE.item("what_brings_you").help
    coding = help_item["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert coding["code"] == "help"


ANSWERS = {
    "what_brings_you": "We keep having the same argument.",
    "preferred_contact": "email",
    "other_focus_1": "4",
    "other_focus_3": "2",
    "safety_afraid": "no",
    "safety_thoughts_now": "yes",
}


def test_a_response_points_at_the_questionnaire_and_version_it_answered():
    resource = response_resource(INTAKE, ANSWERS, response_id="intake-42", authored=AUTHORED)
    assert resource["resourceType"] == "QuestionnaireResponse"
    assert resource["id"] == "intake-42"
    assert resource["questionnaire"] == "urn:practice:questionnaire:relationship-intake|1"
    assert resource["status"] == "completed"
    assert resource["authored"] == "2030-01-07T14:30:00+00:00"
    json.dumps(resource)


def test_response_answers_are_typed_to_match_their_questions():
    resource = response_resource(INTAKE, ANSWERS, response_id="r1", authored=AUTHORED)
    answers = {
        child["linkId"]: child["answer"][0] for group in resource["item"] for child in group["item"]
    }
    assert answers["what_brings_you"] == {"valueString": "We keep having the same argument."}
    assert answers["preferred_contact"]["valueCoding"] == {"code": "email", "display": "Email"}
    assert answers["other_focus_1"]["valueCoding"]["code"] == "4"
    assert answers["other_focus_1"]["valueCoding"]["display"] == "Agree"
    assert answers["other_focus_1"]["valueCoding"]["extension"][0]["valueDecimal"] == 4
    # A reversed item exports what the client chose, not the keyed score.
    assert answers["other_focus_3"]["valueCoding"]["code"] == "2"
    assert answers["safety_afraid"] == {"valueBoolean": False}
    assert answers["safety_thoughts_now"] == {"valueBoolean": True}


def test_a_response_groups_answers_by_section_and_leaves_out_unanswered_items():
    resource = response_resource(INTAKE, ANSWERS, response_id="r1", authored=AUTHORED)
    groups = {g["linkId"]: [c["linkId"] for c in g["item"]] for g in resource["item"]}
    assert groups == {
        "about_you": ["what_brings_you", "preferred_contact"],
        "how_you_relate_1": ["other_focus_1", "other_focus_3"],
        "safety": ["safety_afraid", "safety_thoughts_now"],
    }
    linked = {q["linkId"] for q in questions(questionnaire_resource(INTAKE))}
    assert {c for ids in groups.values() for c in ids} <= linked


def test_a_response_refuses_malformed_answers_and_naive_times():
    with pytest.raises(AnswerError, match="other_focus_1"):
        response_resource(INTAKE, {"other_focus_1": "9"}, response_id="r1", authored=AUTHORED)
    with pytest.raises(ValueError, match="aware"):
        response_resource(INTAKE, ANSWERS, response_id="r1", authored=datetime(2030, 1, 7, 14))
    with pytest.raises(ValueError, match="status"):
        response_resource(INTAKE, ANSWERS, response_id="r1", authored=AUTHORED, status="done")
    with pytest.raises(ValueError, match="response_id"):
        response_resource(INTAKE, ANSWERS, response_id="no spaces", authored=AUTHORED)
