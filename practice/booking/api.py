"""A small public JSON API for host sites that build their own booking widget."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, request, url_for
from werkzeug.datastructures import MultiDict

from practice import clock, timefmt
from practice.booking import service
from practice.booking.forms import BookingForm
from practice.booking.models import Therapist
from practice.booking.notifications import manage_token, notify
from practice.booking.openapi import openapi_document
from practice.booking.views import WITHIN, find_by_token, parse_start, slot_param
from practice.db import get_session
from practice.mail.delivery import send_after_commit

bp = Blueprint("api", __name__)

MAX_DAYS = 31


def _error(status: int, message: str, **extra):  # noqa: ANN003, ANN202
    return jsonify({"error": message, **extra}), status


def _therapist_json(t: Therapist) -> dict:
    return {
        "slug": t.slug,
        "name": t.display_name,
        "credentials": t.credentials,
        "bio": t.bio,
        "timezone": t.timezone,
        "consultation_minutes": t.consultation_minutes,
        "accepting_new_clients": t.accepting_new_clients,
    }


def _slot_json(slot, zone: str, therapist: Therapist | None = None) -> dict:  # noqa: ANN001
    data = {
        "start": slot_param(slot.start),
        "end": slot_param(slot.end),
        "local_start": timefmt.in_zone(slot.start, zone).isoformat(),
        "timezone": zone,
    }
    if therapist is not None:
        data["therapist"] = therapist.slug
    return data


def _zone_param() -> str | None:
    zone = request.args.get("tz") or current_app.config["PRACTICE_DEFAULT_TIMEZONE"]
    return zone if timefmt.zone_or_none(zone) else None


@bp.get("/therapists")
def list_therapists():  # noqa: ANN201
    return jsonify(
        {"therapists": [_therapist_json(t) for t in service.bookable_therapists(get_session())]}
    )


@bp.get("/therapists/<slug>/slots")
def therapist_slots(slug: str):  # noqa: ANN201
    zone = _zone_param()
    if zone is None:
        return _error(400, "Unknown time zone: use an IANA name such as Europe/London.")
    try:
        days = int(request.args.get("days", 7))
    except ValueError:
        return _error(400, "days must be a whole number.")
    if not 1 <= days <= MAX_DAYS:
        return _error(400, f"days must be between 1 and {MAX_DAYS}.")
    session = get_session()
    therapist = session.query(Therapist).filter_by(slug=slug).one_or_none()
    if therapist is None:
        return _error(404, "No therapist with that name.")
    now = clock.now()
    start = parse_start(request.args.get("from")) if request.args.get("from") else now
    if start is None:
        return _error(
            400,
            f"from must be an ISO 8601 time with an offset, {WITHIN}, e.g. 2026-03-02T00:00Z.",
        )
    found = service.open_slots(
        session, therapist, now, start=start, end=start + timedelta(days=days)
    )
    return jsonify(
        {
            "therapist": therapist.slug,
            "timezone": zone,
            "slots": [_slot_json(s, zone) for s in found],
        }
    )


@bp.get("/first-available")
def first_available():  # noqa: ANN201
    zone = _zone_param()
    if zone is None:
        return _error(400, "Unknown time zone: use an IANA name such as Europe/London.")
    found = service.first_available(get_session(), clock.now())
    return jsonify({"timezone": zone, "slots": [_slot_json(s, zone, t) for s, t in found]})


@bp.post("/consultations")
def create_consultation():  # noqa: ANN201
    """Book from JSON; fields as the booking form; Idempotency-Key header makes retries safe."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return _error(400, "Send a JSON object.")
    fields = {k: v for k, v in payload.items() if isinstance(v, str | bool)}
    fields = {k: ("y" if v is True else v) for k, v in fields.items() if v is not False}
    if request.headers.get("Idempotency-Key"):
        fields["idempotency_key"] = request.headers["Idempotency-Key"]
    form = BookingForm(formdata=MultiDict(fields), meta={"csrf": False})
    therapist = (
        get_session()
        .query(Therapist)
        .filter_by(slug=str(payload.get("therapist", "")))
        .one_or_none()
    )
    if therapist is None:
        return _error(404, "No therapist by that name: choose one from /therapists.")
    errors: dict[str, list[str]] = {}
    start = parse_start(fields.get("start"))
    if start is None:
        errors["start"] = [
            f"Please give the slot's start time as the slots endpoint lists it ({WITHIN})."
        ]
    zone = fields.get("tz") or current_app.config["PRACTICE_DEFAULT_TIMEZONE"]
    if timefmt.zone_or_none(zone) is None:
        errors["tz"] = ["Unknown time zone: use an IANA name such as Europe/London."]
    if not form.validate():
        errors.update({k: v for k, v in form.errors.items() if v})
    if errors:
        return _error(422, "Some details need another look.", fields=errors)
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
        message = (
            "That time was just taken."
            if taken.booked_by_someone
            else "That time isn't one of this therapist's open times (any more)."
        )
        return _error(409, message, nearest=[_slot_json(s, zone) for s in taken.nearest])
    except service.NotBookable:
        return _error(409, "This therapist isn't taking new clients right now.")
    except service.KeyReused:
        message = "This idempotency key was already used for a different booking."
        return _error(
            422,
            f"{message} Use a fresh key for each new booking.",
            fields={"idempotency_key": [message]},
        )
    if booking.created:
        send_after_commit(booking.consultation.id)
    token = manage_token(booking.consultation)
    c = booking.consultation
    return jsonify(
        {
            "consultation": {
                "id": c.public_id,
                "therapist": c.therapist.slug,
                "start": slot_param(c.starts_at),
                "end": slot_param(c.ends_at),
                "status": c.status,
            },
            "manage_token": token,
            "manage_url": url_for("practice.booking.manage", token=token, _external=True),
        }
    ), (201 if booking.created else 200)


@bp.post("/consultations/<token>/cancel")
def cancel_consultation(token: str):  # noqa: ANN201
    consultation = find_by_token(token)
    if consultation is None:
        return _error(404, "This link is not valid any more.")
    if consultation.status == "booked":
        try:
            service.cancel(get_session(), consultation.id, clock.now(), notify)
        except service.AlreadyStarted:
            return _error(
                409,
                "This consultation has already started, so it can't be cancelled now. "
                "Please contact the practice if something has come up.",
            )
        send_after_commit(consultation.id)
    # The status it really has: a consultation already completed is not "cancelled".
    return jsonify({"id": consultation.public_id, "status": consultation.status})


@bp.get("/openapi.json")
def openapi():  # noqa: ANN201
    return jsonify(openapi_document(url_for("practice.api.list_therapists").rsplit("/", 1)[0]))


VIEWS = (
    list_therapists,
    therapist_slots,
    first_available,
    create_consultation,
    cancel_consultation,
    openapi,
)
