"""Staff pages: the schedule, availability settings, and (for admins) the roster."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import select

from practice import clock
from practice.auth.access import admin_required, current_staff, staff_required
from practice.auth.service import AccountError
from practice.booking import service as booking
from practice.booking.models import Consultation, Therapist
from practice.booking.notifications import notify
from practice.clinician import service
from practice.clinician.forms import (
    BLANK_WINDOW_ROWS,
    AvailabilityForm,
    NewTherapistForm,
    OutcomeForm,
    TimeOffForm,
)
from practice.csrf import ProtectedForm
from practice.db import get_session
from practice.mail.delivery import send_after_commit

bp = Blueprint("clinician", __name__)

SETTINGS_FIELDS = (
    "timezone",
    "consultation_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "minimum_notice_hours",
    "horizon_days",
    "accepting_new_clients",
)


def _own_therapist() -> Therapist:
    therapist = service.therapist_for(get_session(), current_staff())
    if therapist is None:
        abort(404)
    return therapist


def _no_store(response):  # noqa: ANN001, ANN202
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.after_request
def _staff_pages_are_private(response):  # noqa: ANN001, ANN202
    return _no_store(response)


@bp.get("/")
@staff_required
def schedule():  # noqa: ANN201
    staff = current_staff()
    session = get_session()
    therapist = service.therapist_for(session, staff)
    # Admins who don't see clients themselves see the whole practice's schedule.
    scope = therapist if therapist is not None or not staff.is_admin else None
    consultations = (
        service.upcoming(session, clock.now(), scope) if (therapist or staff.is_admin) else []
    )
    return render_template(
        "practice/clinician/schedule.html",
        consultations=consultations,
        therapist=therapist,
        outcome_form=OutcomeForm(),
        now=clock.now(),
    )


@bp.post("/consultations/<int:consultation_id>/outcome")
@staff_required
def outcome(consultation_id: int):  # noqa: ANN201
    session = get_session()
    consultation = session.get(Consultation, consultation_id)
    staff = current_staff()
    if consultation is None:
        abort(404)
    therapist = service.therapist_for(session, staff)
    if not staff.is_admin and (therapist is None or therapist.id != consultation.therapist_id):
        abort(404)  # another therapist's client: as if it did not exist
    form = OutcomeForm()
    if not form.validate_on_submit():
        flash("Please choose what happened.", "error")
        return redirect(url_for(".schedule"))
    try:
        if form.status.data == "cancelled":
            booking.cancel(session, consultation.id, clock.now(), notify, by="therapist")
            send_after_commit(consultation.id)
            flash("Cancelled. The client has been emailed.", "info")
        else:
            booking.set_outcome(session, consultation.id, form.status.data, clock.now())
            flash("Saved.", "info")
    except booking.NotBookable:
        flash("That consultation was already cancelled.", "error")
    return redirect(url_for(".schedule"))


@bp.route("/settings", methods=["GET", "POST"])
@staff_required
def settings():  # noqa: ANN201
    therapist = _own_therapist()
    form = AvailabilityForm(obj=therapist)
    if form.is_submitted() and form.validate():
        values = {name: getattr(form, name).data for name in SETTINGS_FIELDS}
        service.save_availability(get_session(), therapist, values, form.filled_windows())
        flash("Your availability is saved.", "info")
        return redirect(url_for(".settings"))
    if not form.is_submitted():
        while len(form.windows.entries):
            form.windows.pop_entry()
        for window in therapist.windows:
            form.windows.append_entry(
                {"weekday": str(window.weekday), "start": window.start_time, "end": window.end_time}
            )
    for _ in range(BLANK_WINDOW_ROWS):
        form.windows.append_entry()
    return render_template(
        "practice/clinician/settings.html",
        form=form,
        therapist=therapist,
        time_off_form=TimeOffForm(),
    ), (422 if form.errors else 200)


@bp.post("/settings/time-off")
@staff_required
def add_time_off():  # noqa: ANN201
    therapist = _own_therapist()
    form = TimeOffForm()
    if form.validate_on_submit():
        service.add_time_off(get_session(), therapist, form.first_day.data, form.last_day.data)
        flash("Time off added. Clients can't book those days.", "info")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for(".settings"))


@bp.post("/settings/time-off/<int:period_id>/delete")
@staff_required
def delete_time_off(period_id: int):  # noqa: ANN201
    therapist = _own_therapist()
    if ProtectedForm().validate_on_submit() and service.remove_time_off(
        get_session(), therapist, period_id
    ):
        flash("Time off removed.", "info")
    return redirect(url_for(".settings"))


@bp.route("/therapists", methods=["GET", "POST"])
@admin_required
def therapists():  # noqa: ANN201
    session = get_session()
    form = NewTherapistForm()
    if form.validate_on_submit():
        try:
            service.add_therapist(
                session,
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                timezone=form.timezone.data,
                credentials=form.credentials.data or "",
                bio=form.bio.data or "",
            )
        except AccountError as exc:
            session.rollback()
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            flash(f"{form.name.data} can now sign in and set their availability.", "info")
            return redirect(url_for(".therapists"))
    roster = list(session.scalars(select(Therapist).order_by(Therapist.display_name)).unique())
    return render_template("practice/clinician/therapists.html", form=form, roster=roster), (
        422 if form.errors else 200
    )
