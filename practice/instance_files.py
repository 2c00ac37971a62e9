"""Files the standalone app makes once in its instance folder (the secret key, data keys).

Several workers starting at once (gunicorn -w 4) must all end up with the same content. Each
writes its candidate to a private temporary file and hard-links it into place: the name appears
only with the whole content in it, the first link wins, and the others read the winner's. A
worker killed half-way leaves at most a stray temporary file, never an empty key file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable


def read_or_create(path: str, make: Callable[[], str]) -> str:
    """The file's content; if it does not exist yet, `make()`'s, written atomically (mode 0600)."""
    content = _read(path)
    if content is not None:
        return content
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(make())
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    content = _read(path)
    if content is None:
        raise RuntimeError(f"{path} vanished while it was being made")
    return content


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            content = f.read()
    except FileNotFoundError:
        return None
    if not content.strip():
        # Never replaced silently: other workers may already be using what it held.
        raise RuntimeError(
            f"{path} is empty (left by an interrupted start?). Delete it to make a new one, "
            "or set the value in the instance config.py."
        )
    return content
