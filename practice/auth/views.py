"""Staff sign-in (with the optional second step), sign-out, and the account security page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import login_user, logout_user

from practice import clock
from practice.auth import sessions, twofactor
from practice.auth.access import current_staff, staff_required
from practice.auth.forms import CodeForm, CurrentPasswordForm, LoginForm, PasswordForm
from practice.auth.models import StaffUser
from practice.auth.service import AccountError, authenticate, change_password
from practice.csrf import ProtectedForm
from practice.db import get_session

bp = Blueprint("auth", __name__)

GENERIC_FAILURE = "That email and password don't match an account. Please try again."
# Between the password and the code: the half-signed-in state lasts this long, then it's gone.
PENDING_KEY = "_practice_2fa"
PENDING_FOR = timedelta(minutes=5)


@bp.after_request
def _private(response):  # noqa: ANN001, ANN202
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("practice.clinician.schedule")


# Flask-Login's own session keys: a sign-in or sign-out resets them with ours.
FLASK_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")


def _forget_sign_in_state() -> None:
    """Drop everything a sign-in rests on: our keys, Flask-Login's and the CSRF token, so
    nothing planted on this browser beforehand (session fixation) survives it. A host site's
    own keys (a basket, a language) are its business and stay."""
    csrf_key = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    for key in list(session):
        if key.startswith(("_practice", "practice_")) or key in FLASK_LOGIN_KEYS or key == csrf_key:
            session.pop(key, None)


def _sign_in(user: StaffUser) -> None:
    """A new server-side sign-in and a new session: nothing from before the sign-in survives,
    so a session id planted on this browser beforehand (session fixation) is worthless."""
    db = get_session()
    _forget_sign_in_state()
    sid = sessions.start(db, user, clock.now())
    db.commit()
    session[sessions.SESSION_KEY] = sid
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    """Sign in; one generic message whatever was wrong, so accounts can't be discovered."""
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            target = _safe_next(form.next.data)
            if user.totp_enabled:
                _forget_sign_in_state()
                session[PENDING_KEY] = {
                    "user": user.id,
                    "at": clock.now().timestamp(),
                    "next": target,
                }
                return redirect(url_for(".second_factor"))
            _sign_in(user)
            return redirect(target)
        flash(GENERIC_FAILURE, "error")
    return render_template("practice/auth/login.html", form=form), 200


def _pending_user() -> StaffUser | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        age = clock.now().timestamp() - float(pending["at"])
        user = get_session().get(StaffUser, int(pending["user"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not 0 <= age <= PENDING_FOR.total_seconds() or user is None:
        return None
    return user if user.active and user.totp_enabled else None


def pending_account_key() -> str:
    """The rate-limit key of the second step: the account being signed in to."""
    pending = session.get(PENDING_KEY)
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"staff-2fa:{user}"


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():  # noqa: ANN201
    user = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash("Please sign in again.", "info")
        return redirect(url_for(".login"))
    form = CodeForm()
    if form.validate_on_submit():
        db = get_session()
        if twofactor.accept(user, form.code.data, clock.now()):
            target = session[PENDING_KEY].get("next")
            _sign_in(user)  # commits the accepted step with the new sign-in
            return redirect(_safe_next(target))
        db.rollback()
        flash("That code didn't work. Please try the newest code from your app.", "error")
    return render_template("practice/auth/code.html", form=form), 200


@bp.post("/logout")
def logout():  # noqa: ANN201
    form = ProtectedForm()
    if form.validate_on_submit():
        db = get_session()
        sessions.end(db, sessions.current_sid(), clock.now())
        db.commit()
        logout_user()
        _forget_sign_in_state()
        flash("You're signed out.", "info")
    return redirect(url_for("practice.auth.login"))


# --- the account's own security settings --------------------------------------------------


def _security_page(status: int = 200, **forms):  # noqa: ANN003, ANN202
    staff = current_staff()
    pending_secret = staff.totp_secret if not staff.totp_enabled else None
    uri = (
        twofactor.provisioning_uri(pending_secret, staff.email, current_app.config["PRACTICE_NAME"])
        if pending_secret
        else None
    )
    return render_template(
        "practice/auth/security.html",
        staff=staff,
        pending_secret=pending_secret,
        otpauth_uri=uri,
        code_form=forms.get("code_form") or CodeForm(),
        disable_form=forms.get("disable_form") or CurrentPasswordForm(),
        password_form=forms.get("password_form") or PasswordForm(),
        plain_form=ProtectedForm(),
        other_sessions=sessions.live_count(get_session(), staff.id, clock.now()) - 1,
    ), status


@bp.get("/security")
@staff_required
def security():  # noqa: ANN201
    return _security_page()


@bp.post("/security/two-factor/start")
@staff_required
def two_factor_start():  # noqa: ANN201
    staff = current_staff()
    if ProtectedForm().validate_on_submit() and not staff.totp_enabled:
        staff.totp_secret = twofactor.new_secret()
        staff.totp_last_step = None
        get_session().commit()
    return redirect(url_for(".security", _anchor="two-factor"))


@bp.post("/security/two-factor/confirm")
@staff_required
def two_factor_confirm():  # noqa: ANN201
    staff = current_staff()
    form = CodeForm()
    if staff.totp_enabled or not staff.totp_secret:
        return redirect(url_for(".security"))
    if form.validate_on_submit():
        if twofactor.accept(staff, form.code.data, clock.now()):
            staff.totp_enabled = True
            get_session().commit()
            flash("Two-step sign-in is on. You'll be asked for a code each time.", "info")
            return redirect(url_for(".security"))
        form.code.errors = [
            *form.code.errors,
            "That code didn't match. Check the key was typed exactly, then try the newest code.",
        ]
    return _security_page(422, code_form=form)


@bp.post("/security/two-factor/disable")
@staff_required
def two_factor_disable():  # noqa: ANN201
    staff = current_staff()
    form = CurrentPasswordForm()
    if form.validate_on_submit():
        if staff.check_password(form.password.data or ""):
            staff.totp_enabled = False
            staff.totp_secret = None
            staff.totp_last_step = None
            get_session().commit()
            flash("Two-step sign-in is off.", "info")
            return redirect(url_for(".security"))
        form.password.errors = [*form.password.errors, "That password isn't right."]
    return _security_page(422, disable_form=form)


@bp.post("/security/password")
@staff_required
def password():  # noqa: ANN201
    staff = current_staff()
    form = PasswordForm()
    if form.validate_on_submit():
        if not staff.check_password(form.current.data or ""):
            form.current.errors = [*form.current.errors, "That password isn't right."]
        else:
            try:
                change_password(
                    get_session(),
                    staff,
                    form.new.data or "",
                    clock.now(),
                    keep_sid=sessions.current_sid(),
                )
            except AccountError as exc:
                form.new.errors = [*form.new.errors, str(exc)]
            else:
                get_session().commit()
                flash("Your password is changed; other devices have been signed out.", "info")
                return redirect(url_for(".security"))
    return _security_page(422, password_form=form)


@bp.post("/security/sign-out-others")
@staff_required
def sign_out_others():  # noqa: ANN201
    if ProtectedForm().validate_on_submit():
        db = get_session()
        ended = sessions.end_all(db, current_staff().id, clock.now(), keep=sessions.current_sid())
        db.commit()
        flash(f"Signed out of {ended} other sign-in(s).", "info")
    return redirect(url_for(".security"))
