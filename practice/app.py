"""Run the plugin standalone: a Flask app that holds nothing but the practice."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask

from practice.crypto import KEYS_SETTING, configured_keys, instance_keys
from practice.extension import Practice
from practice.instance_files import read_or_create
from practice.paths import PACKAGE_DIR


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The standalone app; `config` (tests, scripts) wins over the instance folder's config.py."""
    instance_path = os.environ.get("PRACTICE_INSTANCE_PATH") or None
    if instance_path:
        instance_path = os.path.abspath(instance_path)
    app = Flask(
        "practice",
        instance_path=instance_path,
        instance_relative_config=True,
        # Standalone, the only templates and static files are the plugin's own.
        static_folder=None,
        template_folder=None,
    )
    if instance_path is None and _is_installed_copy():
        # An installed copy has no checkout around it: keep data in the working directory.
        app.instance_path = os.path.abspath("instance")
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_pyfile("config.py", silent=True)
    for key, value in os.environ.items():  # PRACTICE_DATABASE_URL=... and friends
        if key.startswith("PRACTICE_") and key != "PRACTICE_INSTANCE_PATH":
            app.config[key] = _parse_env(value)
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    if not configured_keys(app.config):
        # Standalone with no keys configured (the demo): keep one in the instance folder. A real
        # deployment sets PRACTICE_DATA_KEYS outside the database and its backups.
        app.config[KEYS_SETTING] = instance_keys(app.instance_path)

    from practice.security import harden_standalone

    harden_standalone(app)
    Practice(app, standalone=True)
    from practice.errors import register_app_error_pages

    register_app_error_pages(app)
    _apply_proxy_fix(app)
    return app


PROXY_FIX_ARGS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")


def _apply_proxy_fix(app: Flask) -> None:
    """Behind a reverse proxy, trust its X-Forwarded-* headers: opt-in, standalone app only.

    PRACTICE_PROXY_FIX: false (the default: the headers are ignored, as a client could forge
    them); true or a number N: N proxies in front, each setting X-Forwarded-For, -Proto and
    -Host; or a mapping of werkzeug ProxyFix's own arguments, e.g. {"x_for": 1, "x_prefix": 1}
    (those left out are not trusted). A host app mounting the plugin applies ProxyFix itself.
    """
    setting = app.config.get("PRACTICE_PROXY_FIX", False)
    if setting is None or setting is False or setting == 0:
        return
    if setting is True or type(setting) is int:
        args = {"x_for": int(setting), "x_proto": int(setting), "x_host": int(setting)}
    elif isinstance(setting, Mapping):
        args = dict(setting)
    else:
        args = {"": setting}
    if not set(args) <= set(PROXY_FIX_ARGS) or not all(
        type(hops) is int and hops >= 0 for hops in args.values()
    ):
        raise ValueError(
            f"PRACTICE_PROXY_FIX={setting!r}: use false, true, a number of proxies, or a "
            f"mapping of {', '.join(PROXY_FIX_ARGS)} to numbers of proxies"
        )
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, **{name: args.get(name, 0) for name in PROXY_FIX_ARGS})


def _parse_env(value: str) -> Any:
    """Numbers, booleans and lists as JSON; anything else (URLs, names) as the string it is."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _is_installed_copy() -> bool:
    return PACKAGE_DIR.parent.name in ("site-packages", "dist-packages")


def _instance_secret(instance_path: str) -> str:
    """A secret key kept in the instance folder, made once, so sessions survive restarts; the
    same for every worker, however many start at once (see practice.instance_files)."""
    path = os.path.join(instance_path, "secret_key")
    return read_or_create(path, lambda: secrets.token_urlsafe(48)).strip()
