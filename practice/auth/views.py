"""Staff sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm

from practice.auth.forms import LoginForm
from practice.auth.service import authenticate
from practice.db import get_session

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("practice.clinician.schedule")


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    """Sign in; one generic message whatever was wrong, so accounts can't be discovered."""
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            session.clear()  # a fresh session at sign-in: nothing carried over from before
            login_user(user)
            return redirect(_safe_next(form.next.data))
        flash("That email and password don't match an account. Please try again.", "error")
    return render_template("practice/auth/login.html", form=form), 200


@bp.post("/logout")
def logout():  # noqa: ANN201
    form = FlaskForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash("You're signed out.", "info")
    return redirect(url_for("practice.auth.login"))
