"""Who may open what: one table of every route of ours, checked the same way row by row.

Every rule under our blueprint is either in TABLE or named in PUBLIC; a route added without a
decision here fails test_every_route_is_in_the_table_or_public. For each row, in a fresh world
(Maya's couple booked, their intakes opened, Jordan's submitted):

- staff routes: a logged-out visitor, a cookie signed with another key, a cookie with no live
  sign-in behind it and a sign-in idle past 30 minutes all go to the login page; Tom, another
  therapist, gets a 404 for Maya's client (or, on a list, a page without them; or a 403 on an
  admin page); the rightful user gets the route's success;
- private links: an altered link, a link signed with another key and a link past its maximum
  age are refused with a 404; the link's owner gets the route's success.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from conftest import PASSWORD, add_therapist, csrf_from
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from helpers import book, manage_path
from sqlalchemy import select
from test_intake_flow import persona
from werkzeug.security import generate_password_hash

from practice.auth.service import create_staff_user
from practice.booking.models import Consultation
from practice.booking.tokens import make_manage_token, serializer
from practice.db import get_session
from practice.intake import links
from practice.intake.models import Intake

MONDAY_9 = "2030-01-07T09:00Z"
CLIENT_NAME = "Jordan Lee"  # helpers.CLIENT, the person who booked

# Routes that hold no client data and need no sign-in. Everything else must be in TABLE.
PUBLIC = {
    "practice.static": "the stylesheet and script",
    "practice.booking.home": "the therapists",
    "practice.booking.slots": "a therapist's open times",
    "practice.booking.first_available": "the soonest open times",
    "practice.booking.book": "the empty booking form; posting it books",
    "practice.booking.privacy": "the privacy notice",
    "practice.api.list_therapists": "public API: the therapists",
    "practice.api.therapist_slots": "public API: open times",
    "practice.api.first_available": "public API: soonest times",
    "practice.api.create_consultation": "public API: booking (answers only the booker)",
    "practice.api.openapi": "the API's description",
    "practice.auth.login": "the sign-in form",
    "practice.auth.second_factor": "the sign-in code form (needs a password first)",
    "practice.auth.logout": "signing out",
}


@dataclass
class World:
    app: Flask
    manage_token: str
    consultation_id: int
    consultation_public_id: str
    client_intake: str  # public id, submitted
    client_intake_token: str
    partner_intake_token: str  # still open
    public_id: str = ""
    nonce: str = ""
    intake_nonces: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    kind: str  # "link" | "item" | "list" | "staff" | "admin"
    path: Callable[[World], str]
    ok: int = 200
    data: Callable[[World], dict] = lambda w: {}
    link: str = ""  # for "link" rows: "manage" or "intake"

    @property
    def id(self) -> str:
        return f"{self.method} {self.endpoint}"


def _manage(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/consultations/{w.manage_token}{suffix}"


def _print_data(w: World) -> dict:
    return {
        "consultation": str(w.consultation_id),
        "worksheets": "our-cycle",
        "copy": "personal",
        "partner_one": "Jordan Lee",
        "partner_two": "Sam Rivera",
    }


TABLE = [
    # Private links: the link is the key.
    Row("practice.booking.manage", "GET", "link", _manage(), link="manage"),
    Row("practice.booking.calendar_file", "GET", "link", _manage("/calendar.ics"), link="manage"),
    Row("practice.booking.reschedule", "GET", "link", _manage("/reschedule"), link="manage"),
    Row(
        "practice.booking.reschedule",
        "POST",
        "link",
        _manage("/reschedule"),
        ok=422,  # the form, asking for a time: the link opened it
        link="manage",
    ),
    Row("practice.booking.cancel", "POST", "link", _manage("/cancel"), ok=303, link="manage"),
    Row(
        "practice.api.cancel_consultation",
        "POST",
        "link",
        lambda w: f"/api/v1/consultations/{w.manage_token}/cancel",
        link="manage",
    ),
    Row(
        "practice.intake.answer",
        "GET",
        "link",
        lambda w: f"/intake/{w.partner_intake_token}",
        link="intake",
    ),
    Row(
        "practice.intake.answer",
        "POST",
        "link",
        lambda w: f"/intake/{w.partner_intake_token}",
        ok=302,  # saved, back to the form
        data=lambda w: {"action": "save"},
        link="intake",
    ),
    Row(
        "practice.intake.autosave",
        "POST",
        "link",
        lambda w: f"/intake/{w.partner_intake_token}/autosave",
        link="intake",
    ),
    # One client's record: only their therapist (and admins).
    Row("practice.intake.review", "GET", "item", lambda w: f"/staff/intakes/{w.client_intake}"),
    Row(
        "practice.intake.review",
        "POST",
        "item",
        lambda w: f"/staff/intakes/{w.client_intake}",
        ok=302,
        data=lambda w: {"note": "Seen."},
    ),
    Row(
        "practice.intake.export_fhir",
        "GET",
        "item",
        lambda w: f"/staff/intakes/{w.client_intake}/fhir.json",
    ),
    Row(
        "practice.intake.couple",
        "GET",
        "item",
        lambda w: f"/staff/couples/{w.consultation_public_id}",
    ),
    Row(
        "practice.clinician.outcome",
        "POST",
        "item",
        lambda w: f"/staff/consultations/{w.consultation_id}/outcome",
        ok=302,
        data=lambda w: {"status": "cancelled"},
    ),
    Row(
        "practice.worksheets.print_worksheets",
        "POST",
        "item",
        lambda w: "/staff/worksheets/print",
        data=_print_data,
    ),
    # Lists: each therapist sees only their own clients in them.
    Row("practice.clinician.schedule", "GET", "list", lambda w: "/staff/"),
    Row("practice.intake.queue", "GET", "list", lambda w: "/staff/intakes"),
    Row(
        "practice.worksheets.library",
        "GET",
        "list",
        lambda w: f"/staff/worksheets/?consultation={w.consultation_id}",
    ),
    # Staff pages without client data: signed-in staff only.
    Row("practice.clinician.settings", "GET", "staff", lambda w: "/staff/settings"),
    Row("practice.clinician.settings", "POST", "staff", lambda w: "/staff/settings", ok=422),
    Row(
        "practice.clinician.add_time_off",
        "POST",
        "staff",
        lambda w: "/staff/settings/time-off",
        ok=302,
    ),
    Row(
        "practice.clinician.delete_time_off",
        "POST",
        "staff",
        lambda w: "/staff/settings/time-off/999/delete",
        ok=302,
    ),
    Row("practice.auth.security", "GET", "staff", lambda w: "/staff/security"),
    Row(
        "practice.auth.two_factor_start",
        "POST",
        "staff",
        lambda w: "/staff/security/two-factor/start",
        ok=302,
    ),
    Row(
        "practice.auth.two_factor_confirm",
        "POST",
        "staff",
        lambda w: "/staff/security/two-factor/confirm",
        ok=302,
    ),
    Row(
        "practice.auth.two_factor_disable",
        "POST",
        "staff",
        lambda w: "/staff/security/two-factor/disable",
        ok=422,
    ),
    Row("practice.auth.password", "POST", "staff", lambda w: "/staff/security/password", ok=422),
    Row(
        "practice.auth.sign_out_others",
        "POST",
        "staff",
        lambda w: "/staff/security/sign-out-others",
        ok=302,
    ),
    Row("practice.worksheets.preview", "GET", "staff", lambda w: "/staff/worksheets/our-cycle"),
    Row(
        "practice.worksheets.blank_pdf",
        "GET",
        "staff",
        lambda w: "/staff/worksheets/our-cycle/blank.pdf",
    ),
    Row(
        "practice.intake.questionnaire_fhir",
        "GET",
        "staff",
        lambda w: "/staff/forms/relationship-intake/v1/fhir.json",
    ),
    # Admins only.
    Row("practice.clinician.therapists", "GET", "admin", lambda w: "/staff/therapists"),
    Row("practice.clinician.therapists", "POST", "admin", lambda w: "/staff/therapists", ok=422),
    Row("practice.privacy.erase", "GET", "admin", lambda w: "/staff/privacy/erase"),
    Row(
        "practice.privacy.erase",
        "POST",
        "admin",
        lambda w: "/staff/privacy/erase",
        data=lambda w: {"email": "jordan@example.com"},
    ),
    Row(
        "practice.privacy.erase_confirm",
        "POST",
        "admin",
        lambda w: "/staff/privacy/erase/confirm",
        ok=302,
        data=lambda w: {"email": "jordan@example.com"},
    ),
]


def our_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("practice.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_is_in_the_table_or_public(app):
    routes = our_routes(app)
    listed = {(row.endpoint, row.method) for row in TABLE}
    undecided = {r for r in routes if r not in listed and r[0] not in PUBLIC}
    assert undecided == set(), "add these routes to TABLE, or to PUBLIC if they hold no client data"
    assert listed - routes == set(), "TABLE names routes that no longer exist"
    assert {e for e in PUBLIC if e not in {r[0] for r in routes}} == set()
    assert len(listed) == len(TABLE), "a route is listed twice"


# --- the world each row is checked in ---------------------------------------------------------


def build_world(app: Flask, client, submit: bool = True) -> World:  # noqa: ANN001
    add_therapist(app)  # Maya
    add_therapist(app, name="Tom Okafor")
    with app.app_context():
        create_staff_user(get_session(), "admin@example.org", "Ada Admin", "admin", PASSWORD)
        get_session().commit()
    booked = book(
        client,
        "maya-chen",
        MONDAY_9,
        kind="couple",
        partner_name="Sam Rivera",
        partner_email="sam@example.com",
    )
    assert booked.status_code == 303
    token = manage_path(booked).rsplit("/", 1)[1]
    with app.app_context():
        db = get_session()
        consultation = db.scalars(select(Consultation)).one()
        intakes = {i.respondent: i for i in db.scalars(select(Intake))}
        world = World(
            app=app,
            manage_token=token,
            consultation_id=consultation.id,
            consultation_public_id=consultation.public_id,
            client_intake=intakes["client"].public_id,
            client_intake_token=links.intake_token(intakes["client"]),
            partner_intake_token=links.intake_token(intakes["partner"]),
            public_id=consultation.public_id,
            nonce=consultation.manage_nonce,
            intake_nonces={
                "partner": (intakes["partner"].public_id, intakes["partner"].link_nonce)
            },
        )
    if not submit:
        return world
    page = client.get(f"/intake/{world.client_intake_token}")
    sent = client.post(
        f"/intake/{world.client_intake_token}",
        data={**persona(app, 4, 2), "csrf_token": csrf_from(page.text), "action": "submit"},
    )
    assert sent.status_code == 200
    with app.app_context():
        assert get_session().scalars(select(Intake.submitted_at)).all().count(None) == 1
    return world


def sign_in(app: Flask, email: str):  # noqa: ANN201
    client = app.test_client()
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302, email
    return client


def call(client, row: Row, world: World, path: str | None = None):  # noqa: ANN001, ANN201
    path = path or row.path(world)
    if row.method == "GET":
        return client.get(path)
    if row.endpoint == "practice.api.cancel_consultation":
        return client.post(path)  # the JSON API: the link is its only credential
    # A genuine CSRF token for this browser, so a refusal is about who asks, not the form.
    page = client.get("/staff/login")
    return client.post(path, data={"csrf_token": csrf_from(page.text), **row.data(world)})


def refused_to_login(response) -> bool:  # noqa: ANN001
    return response.status_code == 302 and "/staff/login" in response.headers["Location"]


def rightful_email(row: Row) -> str:
    return "admin@example.org" if row.kind == "admin" else "maya@example.org"


def forged_cookie(user_id: int) -> str:
    forger = Flask("forger")
    forger.secret_key = "a guess at the key"
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    return serializer.dumps(
        {"_user_id": f"practice-staff:{user_id}", "_practice_sid": "guessed", "_fresh": True}
    )


def altered(token: str) -> str:
    """One character of the signed content changed (not the signature's last character: its
    low bits are base64 padding, so some changes there decode to the same signature)."""
    i = 5
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


def tokens_signed_elsewhere(world: World, row: Row) -> str:
    if row.link == "manage":
        return make_manage_token("another-secret-key", world.public_id, world.nonce)
    return serializer("another-secret-key", links.SALT).dumps(list(world.intake_nonces["partner"]))


@pytest.fixture
def quick_hashes(monkeypatch):  # noqa: ANN001, ANN201
    """Each row signs in several people in a fresh world: a light password hash keeps the table
    quick. (Hashing is not what this test checks; the accounts still need their password.)"""
    monkeypatch.setattr(
        "practice.auth.models.generate_password_hash",
        lambda password: generate_password_hash(password, "pbkdf2:sha256:1000"),
    )


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.id)
def test_access(app, client, clock, row, quick_hashes):  # noqa: ANN001
    if row.endpoint not in {e for e, _ in our_routes(app)}:
        pytest.fail(f"{row.endpoint} is not a route any more: remove it from TABLE")
    world = build_world(app, client, submit=row.kind in ("item", "list"))
    start = clock.now

    if row.kind == "link":
        real = world.manage_token if row.link == "manage" else world.partner_intake_token
        path = row.path(world)
        max_days = app.config[
            "PRACTICE_MANAGE_LINK_MAX_AGE_DAYS"
            if row.link == "manage"
            else "PRACTICE_INTAKE_LINK_MAX_AGE_DAYS"
        ]
        for name, other in (
            ("altered link", altered(real)),
            ("link signed with another key", tokens_signed_elsewhere(world, row)),
            ("made-up link", "not-a-real-link"),
        ):
            response = call(app.test_client(), row, world, path.replace(real, other))
            assert response.status_code == 404, name
        clock.advance(days=max_days + 1)
        assert call(app.test_client(), row, world).status_code == 404, "expired link"
        clock.now = start
        response = call(app.test_client(), row, world)
        assert response.status_code == row.ok, response.get_data(as_text=True)[:300]
        assert response.headers["Cache-Control"] == "no-store"
        return

    # Staff routes.
    assert refused_to_login(call(app.test_client(), row, world)), "logged-out visitor"
    with app.app_context():
        from practice.auth.models import StaffUser

        user_id = (
            get_session()
            .scalars(select(StaffUser.id).where(StaffUser.email == rightful_email(row)))
            .one()
        )
    forged = app.test_client()
    forged.set_cookie("session", forged_cookie(user_id))
    assert refused_to_login(call(forged, row, world)), "cookie signed with another key"
    stale = app.test_client()
    with stale.session_transaction() as session:
        session["_user_id"] = f"practice-staff:{user_id}"  # right key, no live sign-in
    assert refused_to_login(call(stale, row, world)), "cookie with no sign-in behind it"
    idle = sign_in(app, rightful_email(row))
    clock.advance(minutes=31)
    assert refused_to_login(call(idle, row, world)), "sign-in idle past 30 minutes"
    clock.now = start

    tom = sign_in(app, "tom@example.org")
    response = call(tom, row, world)
    if row.kind == "item":
        assert response.status_code == 404, "another therapist"
    elif row.kind == "list":
        assert response.status_code == 200 and CLIENT_NAME not in response.text
    elif row.kind == "admin":
        assert response.status_code == 403, "a therapist on an admin page"

    rightful = sign_in(app, rightful_email(row))
    response = call(rightful, row, world)
    assert response.status_code == row.ok, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "no-store"
    if row.kind == "list":
        assert CLIENT_NAME in response.text
    if row.kind == "item" and row.method == "GET":
        body = response.get_data(as_text=True)
        assert re.search(r"Jordan|Sam Rivera|answer", body), "the rightful page shows the client"
