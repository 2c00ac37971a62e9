"""Where the templates and clinical form data live, in a checkout and in an installed copy."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _first_existing(name: str) -> Path:
    # An installed wheel carries the folder inside the package; a checkout keeps it at the top.
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"practice: cannot find its {name}/ folder next to {PACKAGE_DIR}")


TEMPLATES_DIR = _first_existing("templates")
FORMS_DIR = _first_existing("forms")
STATIC_DIR = PACKAGE_DIR / "static"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
