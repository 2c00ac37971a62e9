"""Intake pages: the client's private form, and the therapist's review queue and intake pages."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from wtforms import TextAreaField
from wtforms.validators import Length

from practice import clock
from practice.audit.staff import audit_staff_views
from practice.auth.access import current_staff, staff_required
from practice.booking.models import Consultation
from practice.booking.tokens import InvalidLink
from practice.csrf import ProtectedForm
from practice.db import get_session
from practice.intake import fhir, service
from practice.intake.forms import build_form
from practice.intake.links import link_works_at, read_intake_token
from practice.intake.models import Intake
from practice.intake.notifications import catalog, queue_urgent_alert
from practice.intake.scoring import LEVELS, safety_screen
from practice.mail.delivery import send_after_commit

bp = Blueprint("intake", __name__)

# How long after submitting the same person may still be shown the help they were shown then
# (a double click replaces the first response page in the browser).
URGENT_PAGE_GRACE = timedelta(minutes=10)
SENT_KEY = "practice_intake_sent"
HELP_KEY = "practice_intake_help"


def _no_store(response):  # noqa: ANN001, ANN202
    # Health data must never sit in a shared cache or the browser's back-forward history.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


bp.after_request(_no_store)


# --- the client's side ------------------------------------------------------------------------


def _intake_from_token(token: str) -> Intake | None:
    try:
        public_id, nonce, issued_at = read_intake_token(token)
    except InvalidLink:
        return None
    intake = service.by_public_id(get_session(), public_id)
    if intake is None or intake.link_nonce != nonce:
        return None
    if not link_works_at(intake, issued_at, clock.now()):
        return None
    return intake


def _link_invalid():  # noqa: ANN202
    return render_template("practice/intake/link_invalid.html"), 404


@bp.route("/intake/<token>", methods=["GET", "POST"])
def answer(token: str):  # noqa: ANN201
    """The private intake: answers save as they go; submitting closes it for good."""
    intake = _intake_from_token(token)
    if intake is None:
        return _link_invalid()
    if intake.consultation.status == "cancelled" and not intake.submitted:
        return render_template("practice/intake/closed.html", intake=intake), 410
    form_def = service.form_for(catalog(), intake)
    session = get_session()

    if request.method == "GET":
        if intake.submitted:
            return render_template("practice/intake/thanks.html", intake=intake, urgent=False)
        answers = intake.answer_map()
        # Safety answers are never shown again once saved: whoever opens this link next (a
        # partner with the calendar entry, say) must not find them. They stay stored.
        safety_ids = {item.id for item in form_def.safety_items}
        shown = {k: v for k, v in answers.items() if k not in safety_ids}
        form = build_form(form_def, shown, formdata=None)
        return _render_form(
            intake,
            form,
            token,
            # Crisis help again only in the browser that gave the answer (see _remember_help).
            urgent=flask_session.get(HELP_KEY) == intake.public_id,
            safety_saved=bool(safety_ids & answers.keys()),
        )

    form = build_form(form_def)
    if intake.submitted:
        # A double click or a retried POST: the first submission stands.
        return _thanks_again(intake)
    valid = form.validate()
    action = request.form.get("action", "save")
    if not valid and form.csrf_token.errors:
        return _render_form(intake, form, token, stale=True), 400
    # Only what this page posted: a stale tab must not blank answers saved from another one.
    posted = _posted(form.answers())
    # Whatever passed validation is kept even if the rest needs another look: nothing is lost.
    if action != "submit" or not valid or not form.check_required():
        try:
            urgent = service.save_progress(
                session,
                intake,
                _posted(form.valid_answers()),
                clock.now(),
                form_def,
                on_urgent=queue_urgent_alert,
            )
        except service.AlreadySubmitted:  # sent from another tab a moment ago: that stands
            return _thanks_again(service.by_public_id(session, intake.public_id))
        if urgent:
            _remember_help(intake)
            send_after_commit(intake.consultation_id)
        if action == "submit" or not valid:
            return _render_form(intake, form, token, errors=True, urgent=urgent), 400
        flash("Saved. You can come back to this page from your link at any time.")
        # After a safety "yes", land on the crisis help, not on a note at the top of a long page.
        anchor = "crisis-help" if urgent else "saved"
        return redirect(url_for(".answer", token=token, _anchor=anchor))

    submission = service.submit(
        session, intake, posted, form_def, clock.now(), on_urgent=queue_urgent_alert
    )
    if submission.first_time:
        sent, safety = submission.intake, submission.result.safety
        # Crisis help for the person who said "yes": in this post, or earlier in this browser.
        # Urgency raised from another browser (a partner holding the link) shows nothing here.
        said_yes_here = any(item in posted for item in safety.endorsed) or (
            flask_session.get(HELP_KEY) == sent.public_id
        )
        if said_yes_here:
            _remember_help(sent)
        # Neutral and per browser: lets a retried POST from here show the same page again.
        flask_session[SENT_KEY] = sent.public_id
        if sent.urgent:
            send_after_commit(sent.consultation_id)
        return render_template(
            "practice/intake/thanks.html",
            intake=sent,
            urgent=sent.urgent and said_yes_here,
            support=bool(safety.mentioned_in),
        )
    return _thanks_again(submission.intake)


def _posted(answers: dict[str, str]) -> dict[str, str]:
    """Only the answers this request carried: a field a page never showed keeps its saved value."""
    return {item: value for item, value in answers.items() if item in request.form}


def _remember_help(intake: Intake) -> None:
    """This browser gave a safety "yes": its next views of the form show crisis help again.
    A neutral session key, so the cookie says nothing about the answer."""
    flask_session[HELP_KEY] = intake.public_id


def _thanks_again(intake: Intake):  # noqa: ANN202
    """The thanks page for an intake already sent. Crisis help shows again only in the browser
    that sent it, and only for a while: anyone else holding the link learns nothing."""
    urgent = (
        intake.urgent
        and flask_session.get(SENT_KEY) == intake.public_id
        and flask_session.get(HELP_KEY) == intake.public_id
        and clock.now() - intake.submitted_at < URGENT_PAGE_GRACE
    )
    return render_template("practice/intake/thanks.html", intake=intake, urgent=urgent)


@bp.post("/intake/<token>/autosave")
def autosave(token: str):  # noqa: ANN201
    """The page's script saves each answer as it changes; the form works without it too."""
    intake = _intake_from_token(token)
    if intake is None:
        return jsonify(error="This link doesn't work any more."), 404
    if intake.submitted:
        return jsonify(error="Already sent."), 409
    form = build_form(service.form_for(catalog(), intake))
    form.validate()
    if form.csrf_token.errors:
        return jsonify(error="Please reload the page."), 400
    posted = _posted(form.valid_answers())
    try:
        urgent = service.save_progress(
            get_session(), intake, posted, clock.now(), form.questionnaire, queue_urgent_alert
        )
    except service.AlreadySubmitted:  # sent from another tab while this save was on its way
        return jsonify(error="Already sent."), 409
    if urgent:
        _remember_help(intake)
        send_after_commit(intake.consultation_id)
    # `urgent` tells the page to show crisis help now, without waiting for Send.
    return jsonify(saved=len(posted), urgent=urgent)


def _render_form(
    intake: Intake,
    form,  # noqa: ANN001
    token: str,
    errors: bool = False,
    stale: bool = False,
    urgent: bool = False,
    safety_saved: bool = False,
):  # noqa: ANN202
    return render_template(
        "practice/intake/form.html",
        intake=intake,
        form=form,
        questionnaire=form.questionnaire,
        token=token,
        errors=errors,
        stale=stale,
        urgent=urgent,
        safety_saved=safety_saved,
    )


# --- the therapist's side ---------------------------------------------------------------------


class ReviewForm(ProtectedForm):
    note = TextAreaField(
        "Private clinician note",
        validators=[Length(max=5000, message="Please keep the note under 5,000 characters.")],
    )


def _visible_intake(public_id: str) -> Intake:
    """The intake if this staff member may open it; otherwise the same 404 as no intake at all."""
    intake = service.by_public_id(get_session(), public_id)
    staff = current_staff()
    if intake is None or staff is None or not service.visible_to(staff, intake):
        abort(404)
    return intake


@bp.get("/staff/intakes")
@staff_required
def queue():  # noqa: ANN201
    level = request.args.get("flag") or None
    reviewed_arg = request.args.get("reviewed", "")
    reviewed = {"yes": True, "no": False}.get(reviewed_arg)
    intakes = service.review_queue(get_session(), current_staff(), level, reviewed)
    # The queue shows flag levels next to names: clinical data, so each row is audited.
    shown = [i.public_id for i in intakes if i.queue_level != "pending"]
    audit_staff_views("intake.list", "intake", shown)
    return render_template(
        "practice/intake/queue.html",
        intakes=intakes,
        level=level,
        reviewed=reviewed_arg,
        filters=service.QUEUE_FILTERS,
    )


@bp.route("/staff/intakes/<public_id>", methods=["GET", "POST"])
@staff_required
def review(public_id: str):  # noqa: ANN201
    intake = _visible_intake(public_id)
    form = ReviewForm(data={"note": intake.clinician_note})
    if request.method == "POST":
        form = ReviewForm()
        if form.validate():
            service.mark_reviewed(
                get_session(), intake, current_staff(), form.note.data or "", clock.now()
            )
            flash("Marked as reviewed; your note is saved.")
            return redirect(url_for(".review", public_id=public_id))
    audit_staff_views("intake.view", "intake", [intake.public_id])
    form_def = service.form_for(catalog(), intake)
    answers = service.answers_of(get_session(), intake)
    return render_template(
        "practice/intake/review.html",
        intake=intake,
        questionnaire=form_def,
        answers=answers,
        early_safety=None if intake.submitted else safety_screen(form_def, answers),
        result=intake.result,
        form=form,
        levels=LEVELS,
    ), (400 if form.errors else 200)


@bp.get("/staff/intakes/<public_id>/fhir.json")
@staff_required
def export_fhir(public_id: str):  # noqa: ANN201
    intake = _visible_intake(public_id)
    if not intake.submitted:
        abort(404)
    audit_staff_views("intake.export", "intake", [intake.public_id])
    resource = fhir.response_resource(
        service.form_for(catalog(), intake),
        intake.answer_map(),
        response_id=intake.public_id,
        authored=intake.submitted_at,
    )
    response = jsonify(resource)
    response.mimetype = "application/fhir+json"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="intake-{intake.public_id}.json"'
    )
    return response


@bp.get("/staff/forms/<form_id>/v<int:version>/fhir.json")
@staff_required
def questionnaire_fhir(form_id: str, version: int):  # noqa: ANN201
    try:
        form_def = catalog().get(form_id, version)
    except KeyError:
        abort(404)
    response = jsonify(fhir.questionnaire_resource(form_def))
    response.mimetype = "application/fhir+json"
    return response


@bp.get("/staff/couples/<consultation_id>")
@staff_required
def couple(consultation_id: str):  # noqa: ANN201
    """Both partners side by side. Safety answers never appear here, only a pointer."""
    session = get_session()
    consultation = (
        session.query(Consultation).filter(Consultation.public_id == consultation_id).first()
    )
    staff = current_staff()
    if consultation is None or not consultation.is_couple:
        abort(404)
    intakes = service.intakes_for(session, consultation.id)
    if not intakes or not all(service.visible_to(staff, i) for i in intakes):
        abort(404)
    audit_staff_views("couple.view", "consultation", [consultation.public_id])
    both_done = len(intakes) == 2 and all(i.submitted for i in intakes)
    cycle = both_done and service.pursue_withdraw_between(intakes[0], intakes[1])
    return render_template(
        "practice/intake/couple.html",
        consultation=consultation,
        intakes=intakes,
        both_done=both_done,
        cycle=cycle,
    )
