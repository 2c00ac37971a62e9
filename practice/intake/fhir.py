"""FHIR R4 export: the form as a Questionnaire, answers as a QuestionnaireResponse."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from practice.intake.questionnaire import Choice, Item, Questionnaire
from practice.intake.scoring import validate_answers

DEFAULT_BASE = "urn:practice:questionnaire"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
RESPONSE_STATUSES = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
FHIR_TYPES = {
    "agreement": "choice",
    "choice": "choice",
    "yes_no": "boolean",
    "text": "string",
    "long_text": "text",
}
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def canonical_url(q: Questionnaire, canonical_base: str = DEFAULT_BASE) -> str:
    """The form's canonical URL, the same for every version (the version travels beside it)."""
    separator = ":" if canonical_base.startswith("urn:") else "/"
    return f"{canonical_base.rstrip('/:')}{separator}{q.id}"


def _coding(choice: Choice) -> dict[str, Any]:
    coding: dict[str, Any] = {"code": choice.value, "display": choice.label}
    if choice.weight is not None:
        # The weight rides on the Coding so a health record can total scores itself.
        coding["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": choice.weight}]
    return coding


def _question(item: Item) -> dict[str, Any]:
    entry: dict[str, Any] = {"linkId": item.id, "text": item.text, "type": FHIR_TYPES[item.kind]}
    if item.required:
        entry["required"] = True
    if item.max_length is not None:
        entry["maxLength"] = item.max_length
    if item.kind in ("agreement", "choice"):
        entry["answerOption"] = [{"valueCoding": _coding(c)} for c in item.choices]
    if item.help:
        entry["item"] = [
            {
                "linkId": f"{item.id}-help",
                "text": item.help,
                "type": "display",
                "extension": [
                    {
                        "url": ITEM_CONTROL,
                        "valueCodeableConcept": {
                            "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": "help"}]
                        },
                    }
                ],
            }
        ]
    return entry


def questionnaire_resource(
    q: Questionnaire, *, canonical_base: str = DEFAULT_BASE
) -> dict[str, Any]:
    """The form as a FHIR R4 Questionnaire: one group per section, weights as ordinalValue."""
    groups = []
    for section in q.sections:
        children: list[dict[str, Any]] = []
        if section.intro:
            children.append(
                {"linkId": f"{section.id}-intro", "text": section.intro, "type": "display"}
            )
        children.extend(_question(item) for item in section.items)
        groups.append(
            {"linkId": section.id, "text": section.title, "type": "group", "item": children}
        )
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": f"{q.id}-v{q.version}",
        "url": canonical_url(q, canonical_base),
        "version": str(q.version),
        "name": "".join(part.capitalize() for part in re.split(r"[-_]", q.id) if part),
        "title": q.title,
        "status": "active",
        "subjectType": ["Patient"],
        "item": groups,
    }
    if q.intro:
        resource["description"] = q.intro
    if not resource["name"][:1].isalpha():
        # FHIR names start with a capital letter.
        resource["name"] = "Q" + resource["name"]
    return resource


def _answer(item: Item, value: str) -> dict[str, Any]:
    if item.kind == "yes_no":
        return {"valueBoolean": value == "yes"}
    if item.kind in ("agreement", "choice"):
        return {"valueCoding": _coding(item.choice(value))}
    return {"valueString": value}


def response_resource(
    q: Questionnaire,
    answers: Mapping[str, str],
    *,
    response_id: str,
    authored: datetime,
    status: str = "completed",
    canonical_base: str = DEFAULT_BASE,
) -> dict[str, Any]:
    """One person's answers as a FHIR R4 QuestionnaireResponse, grouped as the form is.

    Unanswered items are left out, as FHIR asks; malformed answers raise AnswerError.
    """
    if authored.tzinfo is None or authored.utcoffset() is None:
        raise ValueError("authored must be an aware datetime (FHIR needs its time zone)")
    if status not in RESPONSE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(RESPONSE_STATUSES)}")
    if not _FHIR_ID.match(response_id):
        raise ValueError("response_id must be 1-64 letters, digits, '-' or '.'")
    clean = validate_answers(q, answers)
    groups = []
    for section in q.sections:
        answered = [
            {"linkId": item.id, "text": item.text, "answer": [_answer(item, clean[item.id])]}
            for item in section.items
            if item.id in clean
        ]
        if answered:
            groups.append({"linkId": section.id, "text": section.title, "item": answered})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": f"{canonical_url(q, canonical_base)}|{q.version}",
        "status": status,
        "authored": authored.isoformat(timespec="seconds"),
        "item": groups,
    }
