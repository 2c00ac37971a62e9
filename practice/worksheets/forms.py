"""The print form: which worksheets, for whom, when, on what paper."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from practice.csrf import ProtectedForm
from practice.worksheets.assembly import MAX_FOCUS, MAX_NAME, PAPERS
from practice.worksheets.catalog import Worksheet


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionDateField(DateField):
    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Please give the date as YYYY-MM-DD, e.g. 2030-01-09.") from None


class PrintForm(ProtectedForm):
    worksheets = MultiCheckboxField("Worksheets")
    copy = RadioField(
        "Copy",
        choices=[
            SelectChoice("personal", "For a couple: their names and the session date"),
            SelectChoice("blank", "Blank copies, for anyone"),
        ],
        default="personal",
    )
    partner_one = StringField(
        "First partner's name",
        validators=[Length(max=MAX_NAME, message=f"Names can be at most {MAX_NAME} characters.")],
    )
    partner_two = StringField(
        "Second partner's name",
        validators=[Length(max=MAX_NAME, message=f"Names can be at most {MAX_NAME} characters.")],
    )
    session_date = SessionDateField("Session date", validators=[Optional()])
    focus = StringField(
        "Focus line (optional)",
        validators=[Length(max=MAX_FOCUS, message=f"Keep the focus to {MAX_FOCUS} characters.")],
    )
    paper = RadioField(
        "Paper",
        choices=[SelectChoice(key, label) for key, label in PAPERS.items()],
        default="letter",
    )
    cover = BooleanField("Make a packet: a cover page and a contents page")
    fillable = BooleanField("Fillable: the couple can type into it on screen")
    consultation = HiddenField()

    def __init__(self, library: list[Worksheet], *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.worksheets.choices = [SelectChoice(w.id, w.title) for w in library]

    @property
    def personal(self) -> bool:
        return self.copy.data != "blank"

    def validate_worksheets(self, field) -> None:  # noqa: ANN001
        if not field.data:
            raise ValidationError("Please choose at least one worksheet.")
        # A sheet asked for twice (a crafted or replayed post) prints once: two copies in one
        # fillable PDF would share field names, and filling one would fill both.
        field.data = list(dict.fromkeys(field.data))

    def validate_partner_one(self, field) -> None:  # noqa: ANN001
        if self.personal and not (field.data or "").strip():
            raise ValidationError("Please give both names, or choose blank copies.")

    def validate_partner_two(self, field) -> None:  # noqa: ANN001
        if self.personal and not (field.data or "").strip():
            raise ValidationError("Please give both names, or choose blank copies.")

    def validate_focus(self, field) -> None:  # noqa: ANN001
        if not self.personal and (field.data or "").strip():
            raise ValidationError("A focus line goes only on a copy for a couple.")

    def consultation_id(self) -> int | None:
        return record_id(self.consultation.data)


def record_id(value: str | None) -> int | None:
    """A database id from a form or query string; anything else (or absurdly large) is None."""
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 9 else None
