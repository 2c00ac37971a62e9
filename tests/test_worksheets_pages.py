"""The therapist's worksheet pages and the `practice worksheet` commands."""

from __future__ import annotations

import io
import unicodedata

from conftest import add_therapist, csrf_from
from helpers import book, text
from pypdf import PdfReader
from sqlalchemy import select

from practice.audit import AuditEvent
from practice.booking.models import Consultation
from practice.db import get_session

MONDAY_9 = "2030-01-07T09:00Z"
COUPLE = {"kind": "couple", "name": "Sam Rivera", "partner_name": "Alex Moreau"}


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in reader.pages))


def book_couple(app, slug: str) -> int:  # noqa: ANN001
    response = book(app.test_client(), slug, MONDAY_9, partner_email="alex@example.com", **COUPLE)
    assert response.status_code in (302, 303), text(response)[:400]
    with app.app_context():
        return get_session().scalars(select(Consultation.id)).one()


def print_form(client, consultation_id: int | None = None) -> dict:  # noqa: ANN001
    query = {"consultation": consultation_id} if consultation_id else {}
    page = client.get("/staff/worksheets/", query_string=query)
    assert page.status_code == 200
    return {"csrf_token": csrf_from(page.get_data(as_text=True))}


def audit_events(app) -> list[tuple]:  # noqa: ANN001
    with app.app_context():
        rows = get_session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(e.actor_id, e.action, e.subject_type, e.subject_id) for e in rows]


def test_worksheet_pages_and_prints_need_a_signed_in_staff_member(client, therapist):
    for path in (
        "/staff/worksheets/",
        "/staff/worksheets/our-cycle",
        "/staff/worksheets/our-cycle/blank.pdf",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    response = client.post(
        "/staff/worksheets/print",
        data={"worksheets": "our-cycle", "partner_one": "A", "partner_two": "B"},
    )
    assert response.status_code in (302, 400)
    assert not response.get_data().startswith(b"%PDF")


def test_the_library_lists_every_worksheet_with_a_preview_and_is_in_the_staff_nav(
    client, auth, therapist
):
    auth.login("maya@example.org")
    page = text(client.get("/staff/worksheets/"))
    for title in ("I and We", "Asking for what I need", "Our support map", "Our cycle"):
        assert title in page
    assert 'href="/staff/worksheets/"' in text(client.get("/staff/"))
    preview = client.get("/staff/worksheets/support-map")
    assert preview.status_code == 200
    assert "Who is there for me, and how?" in text(preview)
    assert "Lends a hand" in text(preview)
    assert client.get("/staff/worksheets/no-such-sheet").status_code == 404


def test_the_booking_fills_in_names_and_date_and_the_print_is_audited(app, client, auth, therapist):
    _, slug = therapist
    consultation_id = book_couple(app, slug)
    auth.login("maya@example.org")
    page = text(client.get("/staff/worksheets/", query_string={"consultation": consultation_id}))
    assert 'value="Sam Rivera"' in page and 'value="Alex Moreau"' in page
    assert 'value="2030-01-07"' in page

    data = {
        **print_form(client, consultation_id),
        "consultation": str(consultation_id),
        "worksheets": ["our-cycle", "boundaries"],
        "copy": "personal",
        "partner_one": "Sam Rivera",
        "partner_two": "Alex M.",  # edited by the therapist
        "session_date": "2030-01-07",
        "paper": "a4",
        "cover": "y",
    }
    response = client.post("/staff/worksheets/print", data=data)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    reader = PdfReader(io.BytesIO(response.get_data()))
    assert len(reader.pages) == 4  # cover, contents, two worksheets
    assert round(float(reader.pages[0].mediabox.height)) == 842  # A4
    words = pdf_text(response.get_data())
    assert "Alex M." in words and "Sam Rivera" in words and "Monday, January 7, 2030" in words
    assert "Our cycle" in words and "Boundaries we agree on" in words

    with app.app_context():
        booked = get_session().get(Consultation, consultation_id)
        maya, public_id = booked.therapist.user_id, booked.public_id
    assert audit_events(app) == [(maya, "worksheet.print", "consultation", public_id)]


def test_a_personalised_print_without_a_booking_is_audited_per_worksheet(
    app, client, auth, therapist
):
    auth.login("maya@example.org")
    data = {
        **print_form(client),
        "worksheets": ["i-and-we", "weekly-check-in"],
        "copy": "personal",
        "partner_one": "Robin",
        "partner_two": "Kai",
        "session_date": "2030-02-01",
        "paper": "letter",
    }
    response = client.post("/staff/worksheets/print", data=data)
    assert response.status_code == 200
    assert round(float(PdfReader(io.BytesIO(response.get_data())).pages[0].mediabox.height)) == 792
    subjects = [(kind, subject) for _, _, kind, subject in audit_events(app)]
    assert subjects == [("worksheet", "i-and-we"), ("worksheet", "weekly-check-in")]


def test_blank_copies_print_without_names_and_leave_no_audit_event(app, client, auth, therapist):
    auth.login("maya@example.org")
    data = {
        **print_form(client),
        "worksheets": ["support-map"],
        "copy": "blank",
        "partner_one": "Ignored Name",
        "partner_two": "",
        "paper": "letter",
    }
    response = client.post("/staff/worksheets/print", data=data)
    assert response.status_code == 200
    words = pdf_text(response.get_data())
    assert "Our support map" in words and "Ignored Name" not in words
    blank = client.get("/staff/worksheets/our-cycle/blank.pdf?paper=a4")
    assert blank.status_code == 200 and "Our cycle" in pdf_text(blank.get_data())
    assert client.get("/staff/worksheets/our-cycle/blank.pdf?paper=legal").status_code == 404
    assert audit_events(app) == []


def test_a_worksheet_asked_for_twice_prints_once(client, auth, therapist):
    auth.login("maya@example.org")
    data = {**print_form(client), "copy": "blank", "paper": "letter"}
    data["worksheets"] = ["support-map", "support-map"]
    response = client.post("/staff/worksheets/print", data=data)
    assert response.status_code == 200
    assert len(PdfReader(io.BytesIO(response.get_data())).pages) == 1


def test_invalid_input_explains_itself_and_keeps_what_was_typed(app, client, auth, therapist):
    auth.login("maya@example.org")
    data = {
        **print_form(client),
        "copy": "personal",
        "partner_one": "Sam Rivera",
        "partner_two": "A" * 61,
        "session_date": "next tuesday",
        "focus": "Evenings",
    }
    response = client.post("/staff/worksheets/print", data=data)
    assert response.status_code == 422
    page = text(response)
    assert "Please choose at least one worksheet." in page
    assert "Names can be at most 60 characters." in page
    assert "Please give the date as YYYY-MM-DD" in page
    assert 'value="Sam Rivera"' in page and 'value="next tuesday"' in page
    assert 'value="Evenings"' in page
    missing_name = {**data, "worksheets": "our-cycle", "partner_two": "", "session_date": ""}
    page = text(client.post("/staff/worksheets/print", data=missing_name))
    assert "Please give both names, or choose blank copies." in page
    unknown = {**data, "worksheets": "no-such-sheet", "partner_two": "Alex"}
    assert client.post("/staff/worksheets/print", data=unknown).status_code == 422
    no_token = {k: v for k, v in missing_name.items() if k != "csrf_token"}
    assert client.post("/staff/worksheets/print", data=no_token).status_code == 422
    assert audit_events(app) == []


def test_a_therapist_cannot_print_for_another_therapists_client(app, client, auth, therapist):
    _, tom_slug = add_therapist(app, name="Tom Okafor")
    consultation_id = book_couple(app, tom_slug)
    auth.login("maya@example.org")
    page = text(client.get("/staff/worksheets/", query_string={"consultation": consultation_id}))
    assert "Sam Rivera" not in page  # not prefilled, not in the picker
    data = {
        **print_form(client),
        "consultation": str(consultation_id),
        "worksheets": "our-cycle",
        "copy": "personal",
        "partner_one": "Sam Rivera",
        "partner_two": "Alex Moreau",
    }
    assert client.post("/staff/worksheets/print", data=data).status_code == 404
    assert audit_events(app) == []


def test_hostile_names_from_the_web_print_as_text(app, client, auth, therapist):
    auth.login("maya@example.org")
    hostile = '<img src="file:///etc/passwd">'
    data = {
        **print_form(client),
        "worksheets": "i-and-we",
        "copy": "personal",
        "partner_one": hostile,
        "partner_two": "Kai",
    }
    response = client.post("/staff/worksheets/print", data=data)
    assert response.status_code == 200
    assert hostile in pdf_text(response.get_data())


def test_worksheet_list_command_shows_the_library(runner):
    result = runner.invoke(args=["practice", "worksheet", "list"])
    assert result.exit_code == 0, result.output
    assert "our-cycle" in result.output and "Our cycle" in result.output
    assert "pursue_withdraw" in result.output
    assert len(result.output.strip().splitlines()) == 8


def test_worksheet_render_command_prints_a_personalised_packet_and_audits_it(app, runner, tmp_path):
    out = tmp_path / "packet.pdf"
    result = runner.invoke(
        args=[
            "practice", "worksheet", "render", "our-cycle", "boundaries",
            "--names", "Sam", "Alex", "--date", "2030-01-09",
            "--paper", "a4", "--packet", "-o", str(out),
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    assert len(reader.pages) == 4
    assert round(float(reader.pages[0].mediabox.width)) == 595
    words = pdf_text(out.read_bytes())
    assert "Sam and Alex" in words and "Wednesday, January 9, 2030" in words
    assert [e[1:3] for e in audit_events(app)] == [
        ("worksheet.print", "worksheet"),
        ("worksheet.print", "worksheet"),
    ]
    assert all(actor is None for actor, *_ in audit_events(app))


def test_worksheet_render_command_prints_blank_copies_and_refuses_bad_input(app, runner, tmp_path):
    out = tmp_path / "blank.pdf"
    result = runner.invoke(args=["practice", "worksheet", "render", "i-and-we", "-o", str(out)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    assert round(float(reader.pages[0].mediabox.height)) == 792  # US Letter by default
    assert "I and We" in pdf_text(out.read_bytes())
    assert audit_events(app) == []

    unknown = runner.invoke(args=["practice", "worksheet", "render", "nope", "-o", str(out)])
    assert unknown.exit_code == 2 and "no worksheet 'nope'" in unknown.output
    dated = runner.invoke(
        args=["practice", "worksheet", "render", "i-and-we", "--date", "2030-01-09", "-o", str(out)]
    )
    assert dated.exit_code == 2 and "--date goes with --names" in dated.output
    long_name = runner.invoke(
        args=[
            "practice",
            "worksheet",
            "render",
            "i-and-we",
            "--names",
            "A",
            "B" * 61,
            "-o",
            str(out),
        ]
    )
    assert long_name.exit_code == 2 and "at most 60" in long_name.output
