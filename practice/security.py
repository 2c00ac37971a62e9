"""Response headers, session cookie settings and sign-in throttling.

Mounted in a host, the headers go on our blueprint's responses only: the host's own pages keep
whatever policy the host sets. Standalone, the whole app is ours and gets them everywhere."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask.wrappers import Response
from flask_limiter import Limiter
from flask_login import current_user

log = logging.getLogger("practice")

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
HSTS = "max-age=31536000"
# Files that are the same for everyone: a browser may keep them. Everything else may hold a
# client's name, answers or a private link, so nothing else is stored by any cache.
CACHEABLE_ENDPOINTS = frozenset({"practice.static"})


def is_development(app: Flask) -> bool:
    """Plain http is acceptable only here: debug, tests, or PRACTICE_INSECURE_COOKIES (the
    demo on http://127.0.0.1)."""
    return bool(app.debug or app.testing or app.config.get("PRACTICE_INSECURE_COOKIES"))


def _wants_hsts(app: Flask) -> bool:
    """HSTS binds the whole origin to https for a year: standalone the origin is ours, but a host
    must opt in with PRACTICE_HSTS (its other pages, subdomains and plans are its own)."""
    if is_development(app):
        return False
    setting = app.config.get("PRACTICE_HSTS")
    if setting is None:
        state = app.extensions.get("practice")
        return state is not None and state.standalone
    return bool(setting)


def secure_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "same-origin")  # a page may ask for stricter
    headers["X-Frame-Options"] = "DENY"  # frame-ancestors, for browsers that predate it
    if _wants_hsts(current_app):
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint not in CACHEABLE_ENDPOINTS:
        headers["Cache-Control"] = "no-store"
    return response


def _load_staff_first() -> None:
    # Check the staff sign-in (and refresh or end it) before the view touches the database, so
    # that bookkeeping never shares a transaction with the view's own work.
    current_user._get_current_object()


def install(app: Flask, parent: Blueprint) -> None:
    parent.before_request(_load_staff_first)
    parent.after_request(secure_headers)
    if not is_development(app) and not app.config.get("SESSION_COOKIE_SECURE"):
        log.warning(
            "practice: the host's session cookie is not Secure; staff sign-ins can travel over "
            "plain http. Set SESSION_COOKIE_SECURE=True (and SESSION_COOKIE_SAMESITE='Lax')."
        )


class PracticeSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure unless in development even if debug is switched on after
    the app was made (app.run(debug=True))."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return not is_development(app)


def harden_standalone(app: Flask) -> None:
    """The standalone app owns its session cookie: HttpOnly, SameSite=Lax, Secure outside
    development."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = not is_development(app)
    app.session_interface = PracticeSessionInterface()
    app.after_request(secure_headers)


# --- sign-in throttling ---------------------------------------------------------------------


def login_account_key() -> str:
    """Per account, whichever address the attempts come from; hashed so the limiter's store
    (Redis, say) never holds staff email addresses."""
    email = (request.form.get("email") or "").strip().lower()
    return "staff-login:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]


def _failed(response: Response) -> bool:
    # A successful sign-in (or its first step) redirects; only failures count against an
    # account, so a colleague's typo can't lock out someone who then types it right.
    return response.status_code != 302


def limit_view(app: Flask, view: Callable[..., Any], *limits: Callable[..., Any]) -> None:
    """Apply Flask-Limiter decorators to a view that is already registered.

    The decorator checks limits in the wrapper it returns, so that wrapper has to be what the
    app calls: calling limiter.limit(...)(view) and dropping the result limits nothing."""
    endpoints = [name for name, func in app.view_functions.items() if func is view]
    assert endpoints, f"{view.__name__} is not a registered view"
    wrapped = view
    for limit in limits:
        wrapped = limit(wrapped)
    for name in endpoints:
        app.view_functions[name] = wrapped


def limit_logins(app: Flask, limiter: Limiter) -> None:
    from practice.auth.views import login, pending_account_key, second_factor

    per_address = app.config["PRACTICE_RATELIMIT_LOGIN"]
    per_account = app.config["PRACTICE_RATELIMIT_LOGIN_ACCOUNT"]
    for view, account_key in ((login, login_account_key), (second_factor, pending_account_key)):
        limit_view(
            app,
            view,
            limiter.limit(per_address, methods=["POST"]),
            limiter.limit(per_account, key_func=account_key, methods=["POST"], deduct_when=_failed),
        )
