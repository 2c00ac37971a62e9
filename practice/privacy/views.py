"""The admin's erasure page: find what an email booked, then erase it after a confirmation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from wtforms import EmailField, HiddenField
from wtforms.validators import DataRequired, Email, Length

from practice import clock
from practice.auth.access import admin_required, current_staff
from practice.csrf import ProtectedForm
from practice.db import get_session
from practice.privacy.service import erase_client, plan_erasure

bp = Blueprint("privacy", __name__)


class FindForm(ProtectedForm):
    email = EmailField(
        "The client's email address",
        validators=[DataRequired("Please give an email address."), Email(), Length(max=254)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


class EraseForm(ProtectedForm):
    email = HiddenField(validators=[DataRequired(), Length(max=254)])


@bp.after_request
def _private(response):  # noqa: ANN001, ANN202
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/erase", methods=["GET", "POST"])
@admin_required
def erase():  # noqa: ANN201
    """Step one: an email in, the consultations it would erase out, and a confirm button."""
    form = FindForm()
    plan = None
    confirm = None
    if form.validate_on_submit():
        plan = plan_erasure(get_session(), form.email.data)
        confirm = EraseForm(formdata=None, email=plan.email)
    return render_template("practice/privacy/erase.html", form=form, plan=plan, confirm=confirm), (
        422 if form.errors else 200
    )


@bp.post("/erase/confirm")
@admin_required
def erase_confirm():  # noqa: ANN201
    """Step two: the erasure itself (CSRF-checked, admins only)."""
    form = EraseForm()
    if not form.validate_on_submit():
        flash("That confirmation timed out. Please look the client up again.", "error")
        return redirect(url_for(".erase"))
    report = erase_client(
        get_session(), form.email.data, actor_id=current_staff().id, now=clock.now()
    )
    if report is None:
        flash("Nothing was booked with that email address; nothing was erased.", "info")
    else:
        flash(
            f"Erased {report.consultations} consultation(s), {report.intakes} intake(s) and "
            f"{report.messages} message(s). Erasure id {report.erasure_id}, kept in the audit log.",
            "info",
        )
    return redirect(url_for(".erase"))
