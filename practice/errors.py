"""Kind, generic error pages: no traceback, no detail that could carry client data."""

from __future__ import annotations

import logging
import traceback

from flask import Blueprint, Flask, current_app, render_template, request
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("practice")

DATABASE_UNAVAILABLE = (OperationalError, PoolTimeout)

MESSAGES = {
    400: ("Something in that request didn't look right", "Please go back and try again."),
    403: (
        "This page isn't available to you",
        "If you think that's a mistake, please sign in again.",
    ),
    404: ("We couldn't find that page", "The link may be old or mistyped."),
    405: ("That didn't work", "Please go back and try again."),
    429: (
        "Let's slow down a little",
        "There have been many requests from your connection. Please wait a minute and try again.",
    ),
    503: ("We're briefly unavailable", "Please try again in a minute."),
}


# Seconds a client is asked to wait when the database is busy or out of reach.
RETRY_AFTER = 30


def _render(code: int):  # noqa: ANN202
    title, detail = MESSAGES.get(
        code,
        (
            "Something went wrong on our side",
            "Please try again in a minute; nothing you entered was saved twice.",
        ),
    )
    if request.path.startswith(_api_prefix()):
        return {"error": title, "detail": detail}, code
    return render_template("practice/error.html", title=title, detail=detail, code=code), code


def _api_prefix() -> str:
    return current_app.extensions["practice"].url_prefix + "/api/"


def _handle_http(exc: HTTPException):  # noqa: ANN202
    return _render(exc.code or 500)


def _handle_database_unavailable(exc: Exception):  # noqa: ANN202
    """Locked, unreachable or out of connections: a 503 to retry, never a 500. The request's
    transaction is rolled back when its session closes, so nothing is half-written."""
    log.warning(
        "database unavailable (%s) on %s %s", type(exc).__name__, request.method, request.endpoint
    )
    body, code = _render(503)
    return body, code, {"Retry-After": str(RETRY_AFTER)}


def _host_handler(exc: Exception):  # noqa: ANN202
    """The host's app-level handler for a class more specific than Exception, if any.

    Flask asks a blueprint's handlers first, whatever the class, so our catch-all would win over
    a host's handler for its own exception (raised, say, in its before_request on our URLs)."""
    handlers = current_app.error_handler_spec[None][None]
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        handler = handlers.get(cls)
        if handler is not None and handler not in (_handle_unexpected, _handle_http):
            return handler
    return None


def _handle_unexpected(exc: Exception):  # noqa: ANN202
    host_handler = _host_handler(exc)
    if host_handler is not None:
        return current_app.ensure_sync(host_handler)(exc)
    if isinstance(exc, HTTPException) and not isinstance(exc, InternalServerError):
        return _render(exc.code or 500)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return _handle_database_unavailable(exc)
    if isinstance(exc, DataError):
        # Input the database can't hold (an out-of-range number, say): the client's to fix.
        log.warning(
            "refused data (%s) on %s %s", type(exc).__name__, request.method, request.endpoint
        )
        return _render(400)
    # The type and where it happened, never the message: that could quote client input.
    where = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)[-8:]))
    log.error(
        "unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.endpoint, where
    )
    return _render(500)


def _contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def refuse_unstorable_text():  # noqa: ANN201
    """A NUL character can't be stored (PostgreSQL refuses it) and no person types one: refuse
    the request up front with a plain 400 rather than fail halfway through it."""
    sources = [request.view_args or {}, request.args.to_dict(flat=False)]
    if request.method in ("POST", "PUT", "PATCH"):
        # Form posts only: the JSON API ignores keys it doesn't know and checks its own fields
        # (its OpenAPI document forbids NUL in them), so stray bytes elsewhere are harmless.
        sources.append(request.form.to_dict(flat=False))
    if any(_contains_nul(source) for source in sources):
        return _render(400)
    return None


def register_error_handlers(app: Flask, bp: Blueprint) -> None:
    """Errors raised inside our views get our pages; a host's own pages are left alone."""
    bp.before_request(refuse_unstorable_text)
    bp.register_error_handler(HTTPException, _handle_http)
    bp.register_error_handler(Exception, _handle_unexpected)


def register_app_error_pages(app: Flask) -> None:
    """Standalone, the whole app is ours: unknown URLs and stray errors get our pages too."""
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
