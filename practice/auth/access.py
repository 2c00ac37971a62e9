"""Who may open staff pages: only the plugin's own logged-in staff, never a host's users."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from practice.auth import sessions
from practice.auth.models import StaffUser

F = TypeVar("F", bound=Callable[..., Any])


def current_staff() -> StaffUser | None:
    user = current_user._get_current_object() if current_user else None
    return user if isinstance(user, StaffUser) and user.is_active else None


def _to_login() -> Any:
    if sessions.timed_out():
        flash(
            "For your clients' privacy you were signed out after a while without activity. "
            "Please sign in again.",
            "info",
        )
    return redirect(url_for("practice.auth.login", next=request.full_path.rstrip("?")))


def staff_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_staff() is None:
            return _to_login()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        staff = current_staff()
        if staff is None:
            return _to_login()
        if not staff.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
