"""Optional TOTP two-factor sign-in for staff (RFC 6238, what authenticator apps speak).

Enrolment keeps a new secret on the account but switches nothing on until a code from the
app confirms it. A code is accepted once only: a step at or before the last accepted one is
refused, so a code read over someone's shoulder can't be reused a few seconds later."""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp

from practice.auth.models import StaffUser

# One step either side of now: phones whose clocks are off by up to 30 seconds still work.
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app accepts typed or pasted in."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def normalise(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "")


def accept(user: StaffUser, code: str | None, now: datetime) -> bool:
    """Is `code` right for this account at `now`? Remembers its step (the caller commits)."""
    code = normalise(code)
    # ASCII digits only: str.isdigit() also accepts "²" and Arabic-Indic digits, which the
    # comparison below cannot take.
    if not user.totp_secret or not re.fullmatch(r"[0-9]{6}", code):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return False
