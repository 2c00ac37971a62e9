"""Signed, expiring links that let a client manage their booking without an account."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "practice.manage-consultation"


class InvalidLink(Exception):
    """The link was altered, has expired, or belongs to a booking that has since moved."""


def make_manage_token(secret_key: str, public_id: str, nonce: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps([public_id, nonce])


def read_manage_token(secret_key: str, token: str, max_age_seconds: int) -> tuple[str, str]:
    """The (public_id, nonce) a token names; the caller checks the nonce is still current."""
    try:
        public_id, nonce = URLSafeTimedSerializer(secret_key, salt=SALT).loads(
            token, max_age=max_age_seconds
        )
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidLink from exc
    if not isinstance(public_id, str) or not isinstance(nonce, str):
        raise InvalidLink
    return public_id, nonce
