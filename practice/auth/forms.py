"""Staff sign-in, the second-factor code, and the account security forms."""

from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from practice.auth.service import MIN_PASSWORD_LENGTH, PASSWORD_TOO_SHORT
from practice.csrf import ProtectedForm


class LoginForm(ProtectedForm):
    email = EmailField(
        "Email", validators=[DataRequired("Please enter your email."), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Please enter your password."), Length(max=1024)]
    )
    next = HiddenField()


class CodeForm(ProtectedForm):
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired("Please enter the 6-digit code."), Length(max=16)],
    )


class PasswordForm(ProtectedForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired("Please enter your current password."), Length(max=1024)],
    )
    new = PasswordField(
        "New password",
        validators=[
            DataRequired("Please choose a new password."),
            Length(min=MIN_PASSWORD_LENGTH, max=1024, message=PASSWORD_TOO_SHORT),
        ],
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Please type the new password again."),
            EqualTo("new", "The two new passwords don't match."),
        ],
    )


class CurrentPasswordForm(ProtectedForm):
    password = PasswordField(
        "Current password",
        validators=[DataRequired("Please enter your current password."), Length(max=1024)],
    )
