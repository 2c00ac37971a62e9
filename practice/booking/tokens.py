"""Signed, expiring links that let a client manage their booking without an account."""

from __future__ import annotations

import time

from flask import has_app_context
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

SALT = "practice.manage-consultation"


class ClockSigner(TimestampSigner):
    """Stamps and ages links by practice.clock, the app's own clock (tests and demos move it),
    rather than the machine's: a link's age is measured on the same clock as everything else."""

    def get_timestamp(self) -> int:
        if has_app_context():
            from practice import clock

            return int(clock.now().timestamp())
        return int(time.time())


def serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt, signer=ClockSigner)


class InvalidLink(Exception):
    """The link was altered, has expired, or belongs to a booking that has since moved."""


def make_manage_token(secret_key: str, public_id: str, nonce: str) -> str:
    return serializer(secret_key, SALT).dumps([public_id, nonce])


def read_manage_token(secret_key: str, token: str, max_age_seconds: int) -> tuple[str, str]:
    """The (public_id, nonce) a token names; the caller checks the nonce is still current."""
    try:
        public_id, nonce = serializer(secret_key, SALT).loads(token, max_age=max_age_seconds)
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidLink from exc
    if not isinstance(public_id, str) or not isinstance(nonce, str):
        raise InvalidLink
    return public_id, nonce
