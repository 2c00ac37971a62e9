"""Signed, expiring links that let a client manage their booking without an account."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class ManageLink:
    public_id: str
    nonce: str
    issued_at: datetime


def read_manage_token(secret_key: str, token: str) -> ManageLink:
    """What a genuinely signed token names, and when it was signed. Its age is the caller's to
    judge (see link_expires_at): how long a link lasts depends on the booking it names."""
    try:
        (public_id, nonce), issued_at = serializer(secret_key, SALT).loads(
            token, return_timestamp=True
        )
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidLink from exc
    if not isinstance(public_id, str) or not isinstance(nonce, str):
        raise InvalidLink
    return ManageLink(public_id, nonce, issued_at)


def link_expires_at(
    issued_at: datetime, max_age: timedelta, ends_at: datetime, after_end: timedelta
) -> datetime:
    """A manage link works for max_age after it was sent, and in any case until after_end past
    the consultation's end: a booking made a year ahead keeps a working link until then."""
    return max(issued_at + max_age, ends_at + after_end)
