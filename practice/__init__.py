"""practice: the front door of a therapy practice, as a Flask plugin."""

from practice.app import create_app
from practice.extension import Practice

__all__ = ["Practice", "create_app"]
