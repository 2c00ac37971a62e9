"""The plugin entry point: Practice(app) or practice.init_app(app, url_prefix=...)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from practice import db
from practice.booking.pagecache import Memo
from practice.config import apply_defaults
from practice.crypto import KEYS_SETTING, Cipher, DataKeyError, configured_keys
from practice.intake.questionnaire import Catalog, FormFileError, load_catalog
from practice.paths import FORMS_DIR, STATIC_DIR, TEMPLATES_DIR


@dataclass
class PracticeState:
    """What the plugin keeps per app, in app.extensions["practice"]."""

    engine: Engine
    sessionmaker: sessionmaker[Session]
    limiter: Limiter
    url_prefix: str
    questionnaires: Catalog
    slot_pages: Memo = field(default_factory=Memo)
    # The data keys the encrypted columns use (practice.crypto); None only before init_app ends.
    cipher: Cipher | None = None
    # True for create_app's own app, where every page is ours; False when mounted in a host.
    standalone: bool = False


def database_url(app: Flask) -> str:
    url = app.config["PRACTICE_DATABASE_URL"]
    if url:
        return url
    os.makedirs(app.instance_path, exist_ok=True)
    return "sqlite:///" + os.path.join(app.instance_path, "practice.sqlite3")


class Practice:
    """Mounts booking, the public API and the staff pages into a Flask app."""

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        if app is not None:
            self.init_app(app, **options)

    def init_app(
        self, app: Flask, url_prefix: str | None = None, *, standalone: bool = False
    ) -> None:
        """Mount the plugin; `standalone` is for create_app only (the app holds nothing else)."""
        if "practice" in app.extensions or "practice" in app.blueprints:
            # Checked before anything is set up: Flask would refuse the second blueprint only
            # after our engine, limiter and login hooks had been added to the app a second time.
            raise RuntimeError(
                "practice is already mounted on this app (at "
                f"{_mounted_at(app)!r}): it can be mounted once per app, under one url_prefix"
            )
        apply_defaults(app.config)
        if url_prefix is None:
            url_prefix = app.config["PRACTICE_URL_PREFIX"]
        url_prefix = url_prefix.rstrip("/")

        engine = db.make_engine(
            database_url(app),
            echo=app.config["PRACTICE_DATABASE_ECHO"],
            wait_seconds=float(app.config["PRACTICE_DATABASE_WAIT_SECONDS"]),
        )
        limiter = _make_limiter(app)
        app.extensions["practice"] = PracticeState(
            engine=engine,
            sessionmaker=db.make_sessionmaker(engine),
            limiter=limiter,
            url_prefix=url_prefix,
            questionnaires=_load_questionnaires(app),
            cipher=_load_cipher(app),
            standalone=standalone,
        )
        app.teardown_appcontext(db.close_session)
        _setup_login(app)
        # In a host, /static is the host's (whatever our prefix, even none): ours goes elsewhere.
        static_url_path = "/static" if standalone else "/practice-static"
        _register_blueprints(app, url_prefix, limiter, static_url_path)
        _register_cli(app)


def _mounted_at(app: Flask) -> str:
    state = app.extensions.get("practice")
    return (state.url_prefix or "/") if state is not None else "?"


def _load_questionnaires(app: Flask) -> Catalog:
    """Read and check every questionnaire file now: a bad one stops start-up, naming the file
    and the field, instead of failing in front of a client."""
    catalog = load_catalog()
    form_id = app.config["PRACTICE_INTAKE_FORM"]
    try:
        catalog.get(form_id)
    except KeyError:
        raise FormFileError(
            str(FORMS_DIR / "questionnaires"), "PRACTICE_INTAKE_FORM", f"no form named {form_id!r}"
        ) from None
    return catalog


def _load_cipher(app: Flask) -> Cipher:
    """The data keys, from PRACTICE_DATA_KEYS (config or environment). A mounted host must set
    them: a key made up here would differ between app servers and be lost with the server."""
    keys = configured_keys(app.config)
    if not keys:
        raise DataKeyError(
            f"{KEYS_SETTING} is not set: give the practice plugin a list of Fernet keys in the "
            "app config or the environment (make one with `practice new-data-key`)"
        )
    return Cipher(keys)


# Flask-Limiter reads its settings from the app config (RATELIMIT_*): those are the host's, for
# the host's own limiter. Ours come from PRACTICE_* only, translated here.
LIMITER_SETTINGS = {
    "RATELIMIT_ENABLED": "PRACTICE_RATELIMIT_ENABLED",
    "RATELIMIT_STORAGE_URI": "PRACTICE_RATELIMIT_STORAGE_URI",
    "RATELIMIT_STORAGE_OPTIONS": "PRACTICE_RATELIMIT_STORAGE_OPTIONS",
    "RATELIMIT_STRATEGY": "PRACTICE_RATELIMIT_STRATEGY",
}


class _OwnConfig:
    """The app as Limiter.init_app sees it: the real app for its hooks and app.extensions, but a
    config of our own, so the host's RATELIMIT_* keys are neither read nor written."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self.config = {
            theirs: app.config[ours]
            for theirs, ours in LIMITER_SETTINGS.items()
            if app.config.get(ours) is not None
        }

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def _make_limiter(app: Flask) -> Limiter:
    # Our own Limiter with no default or application limits: it touches only the routes we mark,
    # so a host's own Flask-Limiter (and its routes) are left as they are.
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=app.config["PRACTICE_RATELIMIT_STORAGE_URI"],
        default_limits=[],
        application_limits=[],
        headers_enabled=True,
    )
    limiter.init_app(_OwnConfig(app))  # type: ignore[arg-type]
    return limiter


def _setup_login(app: Flask) -> None:
    """Reuse the host's LoginManager; our staff ids are prefixed so both kinds of user load."""
    if getattr(app, "login_manager", None) is None:
        LoginManager().init_app(app)
    _chain_staff_loader(app.login_manager)  # type: ignore[attr-defined]
    app.before_request(_keep_staff_loader)


def _chain_staff_loader(manager: LoginManager) -> bool:
    """Put our loader in front of the manager's own; False if it is there already."""
    from practice.auth.service import load_staff_user

    host_loader = manager._user_callback
    if getattr(host_loader, "practice_staff_loader", False):
        return False

    def load_user(user_id: str) -> Any:
        if user_id.startswith("practice-staff:"):
            return load_staff_user(user_id)
        return host_loader(user_id) if host_loader else None

    load_user.practice_staff_loader = True  # type: ignore[attr-defined]
    manager.user_loader(load_user)
    return True


def _keep_staff_loader() -> None:
    # A host may make its LoginManager, or register its own loader, after mounting us: that
    # replaces our loader (staff could sign in, then never be recognised). Chain onto whichever
    # manager and loader are current now.
    if _chain_staff_loader(current_app.login_manager):  # type: ignore[attr-defined]
        g.pop("_login_user", None)  # a user loaded earlier in this request, without us: reload


def _register_blueprints(
    app: Flask, url_prefix: str, limiter: Limiter, static_url_path: str
) -> None:
    from practice.auth.views import bp as auth_bp
    from practice.booking import api
    from practice.booking.views import bp as booking_bp
    from practice.clinician.views import bp as clinician_bp

    # One parent blueprint carries our templates and static files; endpoints become
    # "practice.booking.slots" and so on, which cannot clash with a host's.
    parent = Blueprint(
        "practice",
        __name__,
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
        static_url_path=static_url_path,
    )
    parent.register_blueprint(booking_bp)
    parent.register_blueprint(api.bp, url_prefix="/api/v1")
    parent.register_blueprint(auth_bp, url_prefix="/staff")
    parent.register_blueprint(clinician_bp, url_prefix="/staff")
    from practice.privacy.views import bp as privacy_bp

    parent.register_blueprint(privacy_bp, url_prefix="/staff/privacy")
    from practice.intake.views import bp as intake_bp

    parent.register_blueprint(intake_bp)
    from practice.worksheets import service as worksheets
    from practice.worksheets.views import bp as worksheets_bp

    worksheets.init_app(app)  # loads and checks forms/worksheets/: a bad file stops start-up
    parent.register_blueprint(worksheets_bp, url_prefix="/staff/worksheets")
    from practice.errors import register_error_handlers

    register_error_handlers(app, parent)
    from practice.security import install as install_security

    install_security(app, parent)
    app.register_blueprint(parent, url_prefix=url_prefix or None)

    from practice.booking.views import book, reschedule
    from practice.security import limit_logins, limit_view

    booking_limit = app.config["PRACTICE_RATELIMIT_BOOKING"]
    for view in (book, reschedule, api.create_consultation):
        limit_view(app, view, limiter.limit(booking_limit, methods=["POST"]))
    limit_logins(app, limiter)

    # A host running CSRFProtect app-wide: the JSON API authenticates by token, not cookie. The
    # host may set CSRFProtect up before or after us, so exempt the API now and once more at the
    # first request (Flask allows no setup after it); our hook runs before a later CSRFProtect's.
    _exempt_api_from_csrf(app)
    first_request_done = False

    def exempt_at_first_request() -> None:
        nonlocal first_request_done
        if not first_request_done:
            _exempt_api_from_csrf(current_app)
            first_request_done = True

    app.before_request(exempt_at_first_request)

    from practice.templating import register_template_helpers

    register_template_helpers(app)


def _exempt_api_from_csrf(app: Flask) -> None:
    from practice.booking import api

    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(api.bp)  # a set: adding it again changes nothing


def _register_cli(app: Flask) -> None:
    from practice.cli import practice_group

    if "practice" not in app.cli.commands:
        app.cli.add_command(practice_group)
