"""The base of every form the plugin shows."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ProtectedForm(FlaskForm):
    """A Flask-WTF form whose CSRF check stays on whatever a host site sets
    WTF_CSRF_ENABLED to for its own forms: ours change bookings, answers and accounts."""

    class Meta:
        csrf = True
