"""Private, signed intake links: no account, one per person, revocable by changing a nonce."""

from __future__ import annotations

from datetime import datetime, timedelta

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


def read_intake_token(token: str) -> tuple[str, str, datetime]:
    """What a genuinely signed link names, and when it was signed. Its age is judged against
    the consultation it belongs to (see link_works_at): a booking made months ahead keeps a
    working link until the day."""
    try:
        (public_id, nonce), issued_at = _serializer().loads(token, return_timestamp=True)
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidLink from exc
    if not isinstance(public_id, str) or not isinstance(nonce, str):
        raise InvalidLink
    return public_id, nonce, issued_at


def link_works_at(intake: Intake, issued_at: datetime, now: datetime) -> bool:
    max_age = timedelta(days=int(current_app.config["PRACTICE_INTAKE_LINK_MAX_AGE_DAYS"]))
    return now <= max(issued_at + max_age, intake.consultation.ends_at)
