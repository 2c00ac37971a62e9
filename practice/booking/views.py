"""Public booking pages: therapists, open slots in the client's zone, book, manage."""

from __future__ import annotations

import hmac
from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote as url_quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import Row, select
from sqlalchemy.orm import selectinload

from practice import clock, timefmt
from practice.booking import service
from practice.booking import slots as slot_core
from practice.booking.forms import BookingForm, CancelForm, RescheduleForm
from practice.booking.models import Consultation, Therapist
from practice.booking.notifications import calendar_for, manage_token, notify
from practice.booking.tokens import InvalidLink, link_expires_at, read_manage_token
from practice.db import get_session
from practice.intake.links import intake_url
from practice.intake.models import Intake
from practice.intake.service import intakes_for
from practice.mail.delivery import send_after_commit

bp = Blueprint("booking", __name__)

TZ_COOKIE = "practice_tz"


# --- time zone of the visitor -------------------------------------------------------------


def visitor_zone() -> tuple[str, str]:
    """(zone, where it came from): the ?tz= they chose, their saved choice, or our default."""
    for source, value in (
        ("query", request.args.get("tz")),
        ("form", request.form.get("tz")),
        ("cookie", request.cookies.get(TZ_COOKIE)),
    ):
        if value and timefmt.zone_or_none(value) is not None:
            return value, source
    return current_app.config["PRACTICE_DEFAULT_TIMEZONE"], "default"


def remember_zone(response: Response, zone: str, source: str) -> Response:
    if source in ("query", "form"):
        response.set_cookie(
            TZ_COOKIE,
            zone,
            max_age=60 * 60 * 24 * 365,
            samesite="Lax",
            httponly=False,
            secure=request.is_secure,
        )
    return response


# No slot lies further off than the longest horizon (a year), and nothing a client asks about
# needs more than this: it keeps year 1 and year 9999 away from date arithmetic (OverflowError).
MAX_DISTANCE = timedelta(days=731)
WITHIN = "within two years of now"


def parse_start(value: str | None) -> datetime | None:
    """A slot start from a link or form: ISO 8601 with an offset, read as UTC, and within
    MAX_DISTANCE of now; None for anything else."""
    if not value or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None or moment.utcoffset() is None:
            return None
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    now = clock.now()
    if not now - MAX_DISTANCE <= moment <= now + MAX_DISTANCE:
        return None
    return moment


def slot_param(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def therapist_or_404(slug: str) -> Therapist:
    therapist = (
        get_session()
        .scalars(
            select(Therapist)
            .where(Therapist.slug == slug)
            .options(selectinload(Therapist.windows), selectinload(Therapist.time_off))
        )
        .unique()
        .one_or_none()
    )
    if therapist is None:
        abort(404)
    return therapist


def days_of_slots(slot_list, zone: str, first_day: date, days: int):  # noqa: ANN001, ANN201
    """Slots grouped by the visitor's local day, with empty days kept so the week reads true."""
    grouped: OrderedDict[date, list] = OrderedDict(
        (first_day + timedelta(days=i), []) for i in range(days)
    )
    for slot in slot_list:
        local_day = timefmt.in_zone(slot.start, zone).date()
        if local_day in grouped:
            grouped[local_day].append(slot)
    return grouped


def week_bounds(zone: str, now: datetime) -> tuple[date, datetime, datetime, int]:
    """The visitor's chosen first day (?from=) and the UTC range of the days shown."""
    days = int(current_app.config["PRACTICE_SLOT_PAGE_DAYS"])
    today = timefmt.in_zone(now, zone).date()
    try:
        first = date.fromisoformat(request.args.get("from", ""))
    except ValueError:
        first = today
    first = min(max(first, today), today + timedelta(days=366))
    tzinfo = timefmt.zone_or_none(zone)
    start = datetime.combine(first, time(0), tzinfo).astimezone(UTC)
    end = datetime.combine(first + timedelta(days=days), time(0), tzinfo).astimezone(UTC)
    return first, start, end, days


def neighbour_weeks(
    first: date, days: int, now: datetime, zone: str, horizon_days: int
) -> tuple[date | None, date | None]:
    """The first days of the weeks before and after the one shown, where there is one to show:
    nothing before today, nothing past the booking horizon."""
    today = timefmt.in_zone(now, zone).date()
    horizon_end = timefmt.in_zone(now + timedelta(days=horizon_days), zone).date()
    later = first + timedelta(days=days)
    return (
        first - timedelta(days=days) if first > today else None,
        later if later <= horizon_end else None,
    )


def slot_page_body(therapist: Row, now: datetime, zone: str, zone_source: str) -> Markup:
    """The slot page's content, rendered once per distinct input (see booking.pagecache)."""
    first, start, end, days = week_bounds(zone, now)
    # Whole minutes, rounded up: never shows a time that is already inside the notice period.
    minute = (now + timedelta(minutes=1) - timedelta(microseconds=1)).replace(
        second=0, microsecond=0
    )
    book_url = url_for("practice.booking.book", slug=therapist.slug)
    # The therapist's row carries schedule_version, which triggers move with every change to
    # windows, days off or held time (migration 0007): no other read is needed to reuse a page.
    # book_url stands for where the app is mounted, which the links depend on.
    key = (tuple(therapist), book_url, minute, zone, zone_source, first, days)

    def render() -> Markup:
        days_shown = {}
        if therapist.accepting_new_clients:
            session = get_session()
            rules = service.page_rules(session, therapist)
            window = slots_lookup_range(rules, minute, start, end)
            busy = service.busy_intervals(session, therapist.id, window)
            found = slot_core.open_slots(rules, busy, minute, start=start, end=end)
            days_shown = days_of_slots(found, zone, first, days)
        prev_from, next_from = neighbour_weeks(first, days, minute, zone, therapist.horizon_days)
        return Markup(
            render_template(
                "practice/booking/_slots_body.html",
                therapist=therapist,
                zone=zone,
                zone_source=zone_source,
                zones=timefmt.known_zones(),
                days=days_shown,
                first=first,
                prev_from=prev_from,
                next_from=next_from,
                book_url=book_url,
                zone_query=url_quote(zone, safe="/"),
                slot_param=slot_param,
            )
        )

    return current_app.extensions["practice"].slot_pages.get_or_make(key, render)


def slots_lookup_range(rules, now: datetime, start: datetime, end: datetime):  # noqa: ANN001, ANN201
    """Busy time that can touch a slot starting in [start, end): no more rows than needed."""
    full = slot_core.lookup_range(rules, now)
    return slot_core.Interval(
        max(full.start, start - rules.buffer_before),
        min(full.end, end + rules.length + rules.buffer_after),
    )


# --- pages ---------------------------------------------------------------------------------


@bp.get("/")
def home():  # noqa: ANN201
    """The practice's therapists, and a way to the soonest time with anyone."""
    zone, source = visitor_zone()
    therapists = service.bookable_therapists(get_session())
    response = make_response(
        render_template(
            "practice/booking/home.html",
            therapists=therapists,
            zone=zone,
            zone_source=source,
            zones=timefmt.known_zones(),
        )
    )
    return remember_zone(response, zone, source)


@bp.get("/therapists/<slug>")
def slots(slug: str):  # noqa: ANN201
    """A therapist's open slots, a week at a time, in the visitor's own time zone."""
    therapist = service.therapist_page(get_session(), slug)
    if therapist is None:
        abort(404)
    zone, source = visitor_zone()
    body = slot_page_body(therapist, clock.now(), zone, source)
    response = make_response(
        render_template("practice/booking/slots.html", therapist=therapist, zone=zone, body=body)
    )
    return remember_zone(response, zone, source)


@bp.get("/first-available")
def first_available():  # noqa: ANN201
    zone, source = visitor_zone()
    found = service.first_available(get_session(), clock.now())
    response = make_response(
        render_template(
            "practice/booking/first_available.html",
            found=found,
            zone=zone,
            zone_source=source,
            zones=timefmt.known_zones(),
            slot_param=slot_param,
        )
    )
    return remember_zone(response, zone, source)


@bp.route("/book/<slug>", methods=["GET", "POST"])
def book(slug: str):  # noqa: ANN201
    """The booking form for one slot; a repeated submit lands on the same booking."""
    therapist = therapist_or_404(slug)
    zone, source = visitor_zone()
    form = BookingForm()
    if request.method == "GET":
        form.start.data = request.args.get("start", "")
        form.tz.data = zone
        form.ensure_idempotency_key()
    start = parse_start(form.start.data)
    if start is None:
        return render_template("practice/booking/no_slot.html", therapist=therapist, zone=zone), 400

    if form.validate_on_submit():
        try:
            booking = service.book(
                get_session(),
                therapist.id,
                start,
                form.client_details(zone),
                form.idempotency_key.data,
                clock.now(),
                notify,
            )
        except service.SlotTaken as taken:
            return render_template(
                "practice/booking/taken.html",
                therapist=therapist,
                zone=zone,
                nearest=taken.nearest,
                booked_by_someone=taken.booked_by_someone,
                slot_param=slot_param,
            ), 409
        except service.NotBookable:
            return render_template("practice/booking/not_bookable.html", therapist=therapist), 409
        except service.KeyReused:
            return render_template(
                "practice/booking/form_used.html", therapist=therapist, zone=zone
            ), 409
        if booking.created:
            send_after_commit(booking.consultation.id)
        token = manage_token(booking.consultation)
        return redirect(url_for(".manage", token=token, booked=1), code=303)

    if request.method == "POST" and not form.idempotency_key.errors:
        form.ensure_idempotency_key()
    status = 422 if request.method == "POST" else 200
    response = make_response(
        render_template(
            "practice/booking/book.html",
            therapist=therapist,
            form=form,
            start=start,
            zone=zone,
            length=therapist.consultation_minutes,
        ),
        status,
    )
    return remember_zone(response, zone, source)


@bp.get("/privacy")
def privacy():  # noqa: ANN201
    return render_template("practice/booking/privacy.html")


# --- managing a booking from the emailed link ---------------------------------------------


def find_by_token(token: str) -> Consultation | None:
    """The booking a manage link names, if the link is genuine, unexpired and still current."""
    config = current_app.config
    try:
        link = read_manage_token(config["SECRET_KEY"], token)
    except InvalidLink:
        return None
    consultation = (
        get_session()
        .scalars(select(Consultation).where(Consultation.public_id == link.public_id))
        .unique()
        .one_or_none()
    )
    if consultation is None or not hmac.compare_digest(consultation.manage_nonce, link.nonce):
        return None
    expires = link_expires_at(
        link.issued_at,
        timedelta(days=int(config["PRACTICE_MANAGE_LINK_MAX_AGE_DAYS"])),
        consultation.ends_at,
        timedelta(days=int(config["PRACTICE_MANAGE_LINK_DAYS_AFTER_END"])),
    )
    if clock.now() > expires:
        return None
    return consultation


def consultation_from_token(token: str) -> Consultation:
    consultation = find_by_token(token)
    if consultation is None:
        abort(Response(render_template("practice/booking/link_invalid.html"), 404))
    return consultation


@bp.get("/consultations/<token>")
def manage(token: str):  # noqa: ANN201
    return manage_page(consultation_from_token(token), token)


def manage_page(
    consultation: Consultation, token: str, status: int = 200, too_late: bool = False
) -> Response:
    response = make_response(
        render_template(
            "practice/booking/manage.html",
            c=consultation,
            token=token,
            just_booked=request.args.get("booked") == "1",
            cancel_form=CancelForm(),
            is_past=consultation.starts_at <= clock.now(),
            too_late_to_cancel=too_late,
            intake_links=intake_links_for(consultation),
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def intake_links_for(consultation: Consultation) -> list[tuple[Intake, str | None]]:
    """The client's own intake link, and the partner's when we had no email to send it to.

    Only while nothing is saved yet: this page is reached by anyone with the booking's link
    (a shared calendar entry, a partner's inbox), and an intake link shows saved answers. Once
    someone has started, the page says so and they carry on from the link they already have."""
    if consultation.status == "cancelled":
        return []
    return [
        (intake, intake_url(intake) if intake.status == "not_started" else None)
        for intake in intakes_for(get_session(), consultation.id)
        if not intake.submitted
        and (intake.respondent == "client" or not consultation.partner_email)
    ]


@bp.get("/consultations/<token>/calendar.ics")
def calendar_file(token: str):  # noqa: ANN201
    consultation = consultation_from_token(token)
    body = calendar_for(consultation, url_for(".manage", token=token, _external=True))
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": "attachment; filename=consultation.ics",
            "Cache-Control": "no-store",
        },
    )


@bp.post("/consultations/<token>/cancel")
def cancel(token: str):  # noqa: ANN201
    consultation = consultation_from_token(token)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    if consultation.status == "booked":
        try:
            service.cancel(get_session(), consultation.id, clock.now(), notify)
        except service.AlreadyStarted:
            return manage_page(consultation, token, status=409, too_late=True)
        send_after_commit(consultation.id)
    return redirect(url_for(".manage", token=token), code=303)


@bp.route("/consultations/<token>/reschedule", methods=["GET", "POST"])
def reschedule(token: str):  # noqa: ANN201
    """Choose a new time; the move happens in one transaction or not at all."""
    consultation = consultation_from_token(token)
    if consultation.status != "booked" or consultation.starts_at <= clock.now():
        return redirect(url_for(".manage", token=token), code=303)
    zone, source = visitor_zone()
    now = clock.now()
    form = RescheduleForm()
    taken_message = None
    if form.validate_on_submit():
        new_start = parse_start(form.start.data)
        if new_start is None:
            form.start.errors = ["Please choose one of the times shown."]
        else:
            try:
                moved = service.reschedule(get_session(), consultation.id, new_start, now, notify)
            except service.SlotTaken as taken:
                taken_message = (
                    "Sorry, that time was just taken. Please choose another."
                    if taken.booked_by_someone
                    else "Sorry, that time isn't open any more. Please choose another."
                )
            except service.NotBookable:
                return redirect(url_for(".manage", token=token), code=303)
            else:
                send_after_commit(moved.id)
                return redirect(url_for(".manage", token=manage_token(moved), moved=1), code=303)
    first, start, end, days = week_bounds(zone, now)
    found = service.slots_for_move(get_session(), consultation, now, start, end)
    form.tz.data = zone
    # Week by week, as on the booking page: a client may need a time weeks ahead.
    prev_from, next_from = neighbour_weeks(
        first, days, now, zone, consultation.therapist.horizon_days
    )
    status = 409 if taken_message else (422 if request.method == "POST" else 200)
    response = make_response(
        render_template(
            "practice/booking/reschedule.html",
            c=consultation,
            token=token,
            form=form,
            zone=zone,
            zone_source=source,
            zones=timefmt.known_zones(),
            days=days_of_slots(found, zone, first, days),
            first=first,
            prev_from=prev_from,
            next_from=next_from,
            slot_param=slot_param,
            taken_message=taken_message,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return remember_zone(response, zone, source)
