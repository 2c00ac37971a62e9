"""Jinja filters and globals the plugin's templates share."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import SQLAlchemyError

from practice import timefmt
from practice.auth.access import current_staff


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(timefmt.clock, "practice_clock")
    app.add_template_filter(timefmt.day, "practice_day")
    app.add_template_filter(timefmt.when, "practice_when")
    app.add_template_filter(timefmt.zone_label, "practice_zone_label")
    app.add_template_global(practice_config, "practice_config")
    app.add_template_global(timefmt.zone_options, "practice_zone_options")
    app.add_template_global(_staff_or_none, "practice_staff")
    # Our own name for it: CSRFProtect's csrf_token() exists only where a host set it up.
    app.add_template_global(generate_csrf, "practice_csrf_token")


def _staff_or_none() -> Any:
    """The signed-in staff member for page chrome; None if the database can't say (the
    503 page must still render when the database is down)."""
    try:
        return current_staff()
    except SQLAlchemyError:
        return None


def practice_config(key: str) -> Any:
    return current_app.config[f"PRACTICE_{key}"]
