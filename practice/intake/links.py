"""Private, signed intake links: no account, one per person, revocable by changing a nonce."""

from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from practice.booking.tokens import InvalidLink, serializer
from practice.intake.models import Intake

SALT = "practice.intake-link"


def _serializer() -> URLSafeTimedSerializer:
    return serializer(current_app.config["SECRET_KEY"], SALT)


def intake_token(intake: Intake) -> str:
    return _serializer().dumps([intake.public_id, intake.link_nonce])


def intake_url(intake: Intake) -> str:
    return url_for("practice.intake.answer", token=intake_token(intake), _external=True)


def read_intake_token(token: str) -> tuple[str, str]:
    max_age = int(current_app.config["PRACTICE_INTAKE_LINK_MAX_AGE_DAYS"]) * 86400
    try:
        public_id, nonce = _serializer().loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidLink from exc
    if not isinstance(public_id, str) or not isinstance(nonce, str):
        raise InvalidLink
    return public_id, nonce
