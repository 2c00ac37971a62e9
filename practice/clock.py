"""The current time for views and commands; a test or a demo can set PRACTICE_CLOCK to move it."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from practice.db import utcnow


def now() -> datetime:
    clock = current_app.config.get("PRACTICE_CLOCK")
    return clock() if clock else utcnow()
