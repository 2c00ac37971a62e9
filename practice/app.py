"""Run the plugin standalone: a Flask app that holds nothing but the practice."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask

from practice.extension import Practice
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

    Practice(app)
    from practice.errors import register_app_error_pages

    register_app_error_pages(app)
    return app


def _parse_env(value: str) -> Any:
    """Numbers, booleans and lists as JSON; anything else (URLs, names) as the string it is."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _is_installed_copy() -> bool:
    return PACKAGE_DIR.parent.name in ("site-packages", "dist-packages")


def _instance_secret(instance_path: str) -> str:
    """A secret key kept in the instance folder, made once, so sessions survive restarts."""
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
            if key:
                return key
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _instance_secret(instance_path)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key
