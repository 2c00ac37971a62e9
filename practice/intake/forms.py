"""WTForms forms built from a questionnaire file: one form class per questionnaire version."""

from __future__ import annotations

from functools import lru_cache

from wtforms import Field, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from practice.csrf import ProtectedForm
from practice.intake.questionnaire import Item, Questionnaire

NOT_AN_OPTION = "Please choose one of the options shown."
DEFAULT_TEXT_LIMIT = {"text": 200, "long_text": 4000}


def _field_for(item: Item) -> Field:
    if item.kind in ("agreement", "choice", "yes_no"):
        return RadioField(
            item.text,
            choices=[SelectChoice(c.value, c.label) for c in item.choices],
            validators=[Optional()],
            description=item.help,
            # Our own check below says it plainly; WTForms' "Not a valid choice" is cold.
            validate_choice=False,
        )
    limit = item.max_length or DEFAULT_TEXT_LIMIT.get(item.kind, 2000)
    field_class = TextAreaField if item.kind == "long_text" else StringField
    return field_class(
        item.text,
        validators=[
            Optional(),
            Length(max=limit, message=f"Please keep this under {limit} characters."),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        description=item.help,
    )


class IntakeFormBase(ProtectedForm):
    questionnaire: Questionnaire

    def answers(self) -> dict[str, str]:
        """Every item's value as text ('' for unanswered), ready to store."""
        out = {}
        for item_id in self.questionnaire.items:
            data = self[item_id].data
            out[item_id] = "" if data is None else str(data)
        return out

    def valid_answers(self) -> dict[str, str]:
        """Only the answers that passed validation: saving progress keeps these, never junk."""
        return {k: v for k, v in self.answers().items() if not self[k].errors}

    def check_required(self) -> bool:
        ok = True
        for item in self.questionnaire.items.values():
            if item.required and not self.answers()[item.id]:
                self[item.id].errors = [*self[item.id].errors, "Please answer this question."]
                ok = False
        return ok


def _choice_check(item: Item):  # noqa: ANN202
    allowed = {c.value for c in item.choices}

    def check(form, field) -> None:  # noqa: ANN001
        if field.raw_data and field.raw_data[0] not in allowed:
            raise ValidationError(NOT_AN_OPTION)

    return check


@lru_cache(maxsize=32)
def form_class(questionnaire: Questionnaire) -> type[IntakeFormBase]:
    """A form class per questionnaire version (the dataclass is frozen, so it can key a cache)."""
    attrs: dict[str, object] = {"questionnaire": questionnaire}
    for item in questionnaire.items.values():
        attrs[item.id] = _field_for(item)
        if item.choices:
            attrs[f"validate_{item.id}"] = staticmethod(_choice_check(item))
    return type(f"IntakeForm_{questionnaire.id}_{questionnaire.version}", (IntakeFormBase,), attrs)


def build_form(questionnaire: Questionnaire, saved: dict[str, str] | None = None, **kwargs):  # noqa: ANN003, ANN201
    """The form, with what the client saved before filled in when nothing was posted."""
    cls = form_class(questionnaire)
    return cls(data=saved or {}, **kwargs)
