"""The client's booking form: every field checked, with a message a person can act on."""

from __future__ import annotations

import re
import uuid

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from practice.csrf import ProtectedForm

PHONE = re.compile(r"^\+?[0-9 ().\-]{6,30}$")
NOTE_MAX = 1000


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class BookingForm(ProtectedForm):
    class Meta:
        # Keep what people type, minus stray spaces at either end.
        def bind_field(self, form, unbound_field, options):  # noqa: ANN001, ANN201
            filters = list(unbound_field.kwargs.get("filters", ()))
            if unbound_field.field_class not in (BooleanField, RadioField):
                filters.insert(0, _strip)
            return unbound_field.bind(form=form, filters=filters, **options)

    start = HiddenField()
    tz = HiddenField()
    idempotency_key = HiddenField()
    name = StringField(
        "Your name",
        validators=[
            DataRequired("Please tell us your name."),
            Length(max=120, message="Please keep your name under 120 characters."),
        ],
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Please give an email address so we can confirm your booking."),
            Length(max=254, message="That email address is too long."),
            Email(
                "That doesn't look like an email address. Please check it.",
                check_deliverability=False,
            ),
        ],
    )
    phone = TelField(
        "Phone (optional)",
        validators=[
            Optional(),
            Length(max=30, message="Please keep the phone number under 30 characters."),
        ],
    )
    kind = RadioField(
        "Who is the consultation for?",
        choices=[
            SelectChoice("individual", "Just me"),
            SelectChoice("couple", "My partner and me"),
        ],
        default="individual",
        validators=[DataRequired("Please choose who the consultation is for.")],
    )
    partner_name = StringField(
        "Your partner's name",
        validators=[Length(max=120, message="Please keep the name under 120 characters.")],
    )
    partner_email = EmailField(
        "Your partner's email (optional)",
        validators=[
            Optional(),
            Length(max=254, message="That email address is too long."),
            Email(
                "That doesn't look like an email address. Please check it.",
                check_deliverability=False,
            ),
        ],
    )
    note = TextAreaField(
        "Anything you'd like your therapist to know beforehand? (optional)",
        validators=[
            Length(
                max=NOTE_MAX,
                message=f"Please keep this under {NOTE_MAX} characters; "
                "there is time to say more when you meet.",
            )
        ],
    )
    consent = BooleanField(
        "I have read the privacy notice and agree to the practice keeping these details "
        "to arrange my consultation.",
        validators=[DataRequired("Please confirm you've read the privacy notice.")],
    )
    not_emergency = BooleanField(
        "I understand this is not an emergency service.",
        validators=[
            DataRequired("Please confirm you understand this is not an emergency service.")
        ],
    )
    # A field people never see: bots that fill in every box fill this one too.
    website = StringField("Leave this field empty", validators=[Optional()])

    def client_details(self, zone: str):  # noqa: ANN201
        """The person this valid form describes, as the booking service takes them."""
        from practice.booking.service import ClientDetails

        return ClientDetails(
            name=self.name.data,
            email=self.email.data,
            phone=self.phone.data or "",
            timezone=zone,
            kind=self.kind.data,
            partner_name=self.partner_name.data or "",
            partner_email=self.partner_email.data or "",
            note=self.note.data or "",
        )

    def ensure_idempotency_key(self) -> None:
        if not self.idempotency_key.data or not re.fullmatch(
            r"[0-9a-f]{32}", self.idempotency_key.data
        ):
            self.idempotency_key.data = uuid.uuid4().hex

    def validate_phone(self, field) -> None:  # noqa: ANN001
        if field.data and not PHONE.match(field.data):
            raise ValidationError("Please use digits, spaces, brackets, dashes or a leading +.")

    def validate_partner_name(self, field) -> None:  # noqa: ANN001
        if self.kind.data == "couple" and not field.data:
            raise ValidationError("Please tell us your partner's name.")

    def validate_partner_email(self, field) -> None:  # noqa: ANN001
        if (
            self.kind.data == "couple"
            and field.data
            and self.email.data
            and field.data.lower() == self.email.data.lower()
        ):
            raise ValidationError("Please give your partner's own email, or leave it empty.")

    def validate_website(self, field) -> None:  # noqa: ANN001
        if field.data:
            raise ValidationError("Please leave this field empty.")

    def validate_idempotency_key(self, field) -> None:  # noqa: ANN001
        if not field.data or not re.fullmatch(r"[0-9a-f]{32}", field.data):
            raise ValidationError("This form is out of date. Please choose your time again.")


class CancelForm(ProtectedForm):
    """Cancelling is one confirmed POST, never a GET a link preview could trigger."""


class RescheduleForm(ProtectedForm):
    start = RadioField(
        "Choose a new time",
        choices=[],
        validate_choice=False,
        validators=[DataRequired("Please choose a new time.")],
    )
    tz = HiddenField()
