"""Therapist settings: every availability rule, checked before it is saved."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from practice import timefmt
from practice.auth.service import MIN_PASSWORD_LENGTH, PASSWORD_TOO_SHORT
from practice.csrf import ProtectedForm

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
BLANK_WINDOW_ROWS = 3


class WindowForm(Form):
    weekday = SelectField(
        "Day",
        choices=[SelectChoice("", "—")] + [SelectChoice(str(i), d) for i, d in enumerate(WEEKDAYS)],
    )
    start = TimeField("From", validators=[Optional()])
    end = TimeField("Until", validators=[Optional()])

    def is_blank(self) -> bool:
        return not self.weekday.data and not self.start.data and not self.end.data


class AvailabilityForm(ProtectedForm):
    timezone = SelectField("Your time zone", validators=[DataRequired()])
    consultation_minutes = IntegerField(
        "Consultation length (minutes)",
        validators=[
            DataRequired("Please give a length."),
            NumberRange(20, 30, "A free consultation lasts between 20 and 30 minutes."),
        ],
    )
    buffer_before_minutes = IntegerField(
        "Buffer before (minutes)",
        validators=[NumberRange(0, 120, "Buffers are between 0 and 120 minutes.")],
        default=0,
    )
    buffer_after_minutes = IntegerField(
        "Buffer after (minutes)",
        validators=[NumberRange(0, 120, "Buffers are between 0 and 120 minutes.")],
        default=10,
    )
    minimum_notice_hours = IntegerField(
        "Minimum notice (hours)",
        validators=[NumberRange(0, 24 * 14, "Notice is between 0 hours and 14 days.")],
        default=24,
    )
    horizon_days = IntegerField(
        "Clients can book up to (days ahead)",
        validators=[NumberRange(1, 365, "The horizon is between 1 and 365 days.")],
        default=28,
    )
    accepting_new_clients = BooleanField("Accepting new clients")
    windows = FieldList(FormField(WindowForm), min_entries=1)

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.timezone.choices = [
            SelectChoice(z, timefmt.zone_label(z)) for z in timefmt.known_zones()
        ]

    def validate_minimum_notice_hours(self, field) -> None:  # noqa: ANN001
        # Slots lie between now + notice and now + horizon: notice at or past the horizon
        # leaves none, and the therapist would silently vanish from the booking pages.
        horizon = self.horizon_days.data
        if isinstance(field.data, int) and isinstance(horizon, int) and field.data >= horizon * 24:
            raise ValidationError(
                f"Minimum notice must be shorter than how far ahead clients can book "
                f"({horizon} days, so under {horizon * 24} hours), or no times would be open."
            )

    def validate_windows(self, field) -> None:  # noqa: ANN001
        seen: dict[int, list[tuple]] = {}
        problems = False
        for entry in field.entries:
            row = entry.form
            if row.is_blank():
                continue
            if not row.weekday.data or row.start.data is None or row.end.data is None:
                row.weekday.errors = [
                    *row.weekday.errors,
                    "Please fill in the day, start and end, or clear the row.",
                ]
                problems = True
                continue
            if row.end.data <= row.start.data:
                row.end.errors = [*row.end.errors, "The end must be after the start."]
                problems = True
                continue
            day = int(row.weekday.data)
            for start, end in seen.get(day, []):
                if row.start.data < end and start < row.end.data:
                    row.start.errors = [
                        *row.start.errors,
                        f"This overlaps another {WEEKDAYS[day]} window.",
                    ]
                    problems = True
            seen.setdefault(day, []).append((row.start.data, row.end.data))
        if problems:
            raise ValidationError("Please correct the highlighted availability windows.")

    def filled_windows(self) -> list[tuple[int, object, object]]:
        return [
            (int(e.form.weekday.data), e.form.start.data, e.form.end.data)
            for e in self.windows.entries
            if not e.form.is_blank()
        ]


class TimeOffForm(ProtectedForm):
    first_day = DateField("First day off", validators=[DataRequired("Please give the first day.")])
    last_day = DateField("Last day off", validators=[DataRequired("Please give the last day.")])

    def validate_last_day(self, field) -> None:  # noqa: ANN001
        if self.first_day.data and field.data and field.data < self.first_day.data:
            raise ValidationError("The last day can't be before the first day.")


class OutcomeForm(ProtectedForm):
    status = SelectField(
        choices=[
            SelectChoice("completed", "Completed"),
            SelectChoice("no_show", "No-show"),
            SelectChoice("cancelled", "Cancel"),
        ]
    )


class NewTherapistForm(ProtectedForm):
    name = StringField("Name", validators=[DataRequired("Please give a name."), Length(max=120)])
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Please give an email."),
            Email("Please check the email address."),
            Length(max=254),
        ],
    )
    credentials = StringField("Credentials (e.g. LMFT)", validators=[Length(max=120)])
    bio = TextAreaField("Short introduction for clients", validators=[Length(max=2000)])
    timezone = SelectField("Time zone", validators=[DataRequired()])
    password = PasswordField(
        "Temporary password",
        validators=[
            DataRequired("Please set a password."),
            Length(min=MIN_PASSWORD_LENGTH, message=PASSWORD_TOO_SHORT),
        ],
    )

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.timezone.choices = [
            SelectChoice(z, timefmt.zone_label(z)) for z in timefmt.known_zones()
        ]
