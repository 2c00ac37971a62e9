"""No personal or clinical data in logs, whatever a host sets its log level to."""

from __future__ import annotations

import logging

from conftest import add_therapist, csrf_from
from helpers import book, text
from sqlalchemy import select
from test_data_protection import with_free_text
from test_intake_flow import answer, deliver, intake_links, persona

from practice.booking.models import Consultation
from practice.db import get_session
from practice.intake.models import Intake

MONDAY_9 = "2030-01-07T09:00Z"
PERSON = {
    "name": "Philippa Quenby",
    "email": "philippa.quenby@example.com",
    "phone": "+1 555 0177",
    "kind": "couple",
    "partner_name": "Ottoline Brackwater",
    "partner_email": "ottoline@example.com",
    "note": "My sister Winifred says I should finally talk to someone.",
}
FREE_TEXT = "Every winter in Thunder Bay the silence between us gets heavier"


def test_booking_an_urgent_intake_and_a_packet_leave_nothing_personal_in_the_logs(
    app, client, runner, caplog, tmp_path
):
    # Everything, from every logger, at the most verbose level.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    _, slug = add_therapist(app)

    refused = book(client, slug, MONDAY_9, **{**PERSON, "email": "not an email"})
    assert refused.status_code == 422  # a rejected form logs nothing of what was typed
    booked = book(client, slug, MONDAY_9, **PERSON)
    assert booked.status_code == 303
    deliver(runner)
    link = intake_links(tmp_path / "mail")[PERSON["email"]]
    answers = with_free_text(app, persona(app, 5, 1, safety="yes"), FREE_TEXT)
    assert answer(client, link, answers).status_code == 200
    deliver(runner)  # the therapist's discreet alert

    staff = app.test_client()
    login = staff.get("/staff/login")
    staff.post(
        "/staff/login",
        data={
            "email": "maya@example.org",
            "password": "correct horse battery staple",
            "csrf_token": csrf_from(login.get_data(as_text=True)),
        },
    )
    with app.app_context():
        intake = get_session().scalars(select(Intake).where(Intake.respondent == "client")).one()
        assert intake.urgent
        consultation_id = get_session().scalars(select(Consultation.id)).one()
    queue = staff.get("/staff/intakes")
    assert PERSON["name"] in text(queue)  # the pages show it; the logs must not
    review = staff.get(f"/staff/intakes/{intake.public_id}")
    assert FREE_TEXT in text(review)
    page = staff.get("/staff/worksheets/", query_string={"consultation": consultation_id})
    packet = staff.post(
        "/staff/worksheets/print",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "consultation": str(consultation_id),
            "worksheets": ["our-cycle"],
            "copy": "personal",
            "partner_one": PERSON["name"],
            "partner_two": PERSON["partner_name"],
            "session_date": "2030-01-07",
            "paper": "letter",
        },
    )
    assert packet.mimetype == "application/pdf"
    assert staff.get("/staff/intakes/no-such-intake").status_code == 404

    logged = "\n".join(
        [caplog.text]
        + [r.getMessage() for r in caplog.records]
        + [repr(r.args) for r in caplog.records]
        + [repr(r.__dict__) for r in caplog.records]
    )
    assert len(caplog.records) > 0  # the capture works: something was logged
    secrets = [
        PERSON["name"],
        "Philippa",
        "Quenby",
        PERSON["email"],
        "philippa.quenby",
        PERSON["phone"],
        "555 0177",
        PERSON["partner_name"],
        "Brackwater",
        PERSON["partner_email"],
        PERSON["note"],
        "Winifred",
        FREE_TEXT,
        "Thunder Bay",
    ]
    leaked = [s for s in secrets if s.lower() in logged.lower()]
    assert leaked == []
