"""Staff pages: the worksheet library with previews, and printing for a couple or blank."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request

from practice import clock
from practice.audit.staff import audit_staff_views
from practice.auth.access import current_staff, staff_required
from practice.booking.models import Consultation
from practice.db import get_session
from practice.worksheets import service
from practice.worksheets.assembly import PAPERS, assemble
from practice.worksheets.forms import PrintForm, record_id
from practice.worksheets.suggest import suggest, suited

bp = Blueprint("worksheets", __name__)


@bp.after_request
def _staff_pages_are_private(response: Response) -> Response:
    # Personalised PDFs and prefilled names must not linger in shared or browser caches.
    response.headers["Cache-Control"] = "no-store"
    return response


def _pdf_response(pdf: bytes, filename: str) -> Response:
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _library_page(form: PrintForm, consultation: Consultation | None, status: int = 200):  # noqa: ANN202
    session = get_session()
    flags = service.flags_for_consultation(session, consultation) if consultation else set()
    if flags:
        # Suggestions follow the intake's pattern flags, which this page then reveals: a view
        # of clinical data, audited like the intake page itself.
        audit_staff_views("intake.flags_view", "consultation", [consultation.public_id])
    return render_template(
        "practice/worksheets/library.html",
        form=form,
        worksheets=suggest(service.state().catalog.worksheets, flags),
        suggested={w.id for w in service.state().catalog.worksheets if suited(w, flags)},
        consultation=consultation,
        consultations=service.consultations_to_choose(session, current_staff(), clock.now()),
    ), status


@bp.get("/")
@staff_required
def library():  # noqa: ANN201
    catalog = service.state().catalog
    consultation = service.visible_consultation(
        get_session(), current_staff(), record_id(request.args.get("consultation"))
    )
    form = PrintForm(list(catalog.worksheets), paper=current_app.config["PRACTICE_WORKSHEET_PAPER"])
    if consultation is not None:
        form.consultation.data = str(consultation.id)
        form.partner_one.data = consultation.client_name
        form.partner_two.data = consultation.partner_name
        form.session_date.data = service.session_day(consultation)
    return _library_page(form, consultation)


@bp.post("/print")
@staff_required
def print_worksheets():  # noqa: ANN201
    session = get_session()
    staff = current_staff()
    catalog = service.state().catalog
    form = PrintForm(list(catalog.worksheets))
    consultation = service.visible_consultation(session, staff, form.consultation_id())
    if form.consultation_id() is not None and consultation is None:
        abort(404)  # another therapist's client: as if it did not exist
    if not form.validate_on_submit():
        return _library_page(form, consultation, 422)
    personal = form.personal
    packet = assemble(
        catalog.pick(form.worksheets.data),
        practice_name=current_app.config["PRACTICE_NAME"],
        partners=(form.partner_one.data, form.partner_two.data) if personal else None,
        session_date=form.session_date.data if personal else None,
        focus=form.focus.data if personal else "",
        cover=form.cover.data,
        paper=form.paper.data,
        fillable=form.fillable.data,
    )
    pdf = service.print_pdf(
        session,
        packet,
        actor_id=staff.id,
        consultation=consultation if personal else None,
        at=clock.now(),
    )
    day = form.session_date.data if personal and form.session_date.data else None
    name = "worksheets" if len(packet.sheets) > 1 or packet.cover else packet.sheets[0].id
    return _pdf_response(pdf, f"{name}-{day.isoformat()}.pdf" if day else f"{name}.pdf")


@bp.get("/<worksheet_id>")
@staff_required
def preview(worksheet_id: str):  # noqa: ANN201
    worksheet = service.state().catalog.get(worksheet_id)
    if worksheet is None:
        abort(404)
    return render_template("practice/worksheets/preview.html", worksheet=worksheet)


@bp.get("/<worksheet_id>/blank.pdf")
@staff_required
def blank_pdf(worksheet_id: str):  # noqa: ANN201
    worksheet = service.state().catalog.get(worksheet_id)
    paper = request.args.get("paper", current_app.config["PRACTICE_WORKSHEET_PAPER"])
    if worksheet is None or paper not in PAPERS:
        abort(404)
    packet = assemble([worksheet], practice_name=current_app.config["PRACTICE_NAME"], paper=paper)
    pdf = service.state().printer.pdf(packet)
    return _pdf_response(pdf, f"{worksheet.id}-blank-{paper}.pdf")
