"""The public JSON API and its OpenAPI description."""

from __future__ import annotations

from sqlalchemy import func, select

from practice.booking.models import Consultation
from practice.db import get_session

MONDAY_9 = "2030-01-07T09:00Z"
BODY = {
    "start": MONDAY_9,
    "tz": "Europe/Paris",
    "name": "Jordan Lee",
    "email": "jordan@example.com",
    "consent": True,
    "not_emergency": True,
    "idempotency_key": "0" * 31 + "1",
}


def test_therapists_and_their_slots_in_the_clients_zone(client, therapist):
    _, slug = therapist
    listing = client.get("/api/v1/therapists").get_json()
    assert [t["slug"] for t in listing["therapists"]] == [slug]
    data = client.get(f"/api/v1/therapists/{slug}/slots?tz=Asia/Kolkata&days=1").get_json()
    first = data["slots"][0]
    assert first["start"] == MONDAY_9
    assert first["local_start"] == "2030-01-07T14:30:00+05:30"
    assert len(data["slots"]) == 6


def test_bad_parameters_get_explained_not_a_500(client, therapist):
    _, slug = therapist
    assert client.get(f"/api/v1/therapists/{slug}/slots?tz=Nowhere/Land").status_code == 400
    assert client.get(f"/api/v1/therapists/{slug}/slots?days=lots").status_code == 400
    assert client.get(f"/api/v1/therapists/{slug}/slots?days=400").status_code == 400
    assert client.get(f"/api/v1/therapists/{slug}/slots?from=soon").status_code == 400
    missing = client.get("/api/v1/therapists/nobody/slots")
    assert missing.status_code == 404 and "error" in missing.get_json()
    assert client.post("/api/v1/consultations", data="not json").status_code == 400
    assert client.post("/api/v1/consultations", json=[1, 2]).status_code == 400


def test_book_by_api_and_retry_safely(app, client, therapist):
    _, slug = therapist
    first = client.post("/api/v1/consultations", json={**BODY, "therapist": slug})
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/consultations", json={**BODY, "therapist": slug})
    assert again.status_code == 200
    assert again.get_json()["consultation"]["id"] == first.get_json()["consultation"]["id"]
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Consultation)) == 1
    rival = client.post(
        "/api/v1/consultations",
        json={**BODY, "therapist": slug, "idempotency_key": "f" * 32, "email": "sam@example.com"},
    )
    assert rival.status_code == 409
    assert rival.get_json()["nearest"][0]["start"] == "2030-01-07T09:30Z"


def test_validation_errors_name_each_field(client, therapist):
    _, slug = therapist
    response = client.post(
        "/api/v1/consultations",
        json={"therapist": slug, "start": MONDAY_9, "email": "nope", "idempotency_key": "a" * 32},
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert {"name", "email", "consent", "not_emergency"} <= set(fields)


def test_cancel_by_token(app, client, therapist):
    _, slug = therapist
    token = client.post("/api/v1/consultations", json={**BODY, "therapist": slug}).get_json()[
        "manage_token"
    ]
    assert client.post(f"/api/v1/consultations/{token}/cancel").get_json()["status"] == "cancelled"
    assert client.post("/api/v1/consultations/forged.token/cancel").status_code == 404
    with app.app_context():
        assert get_session().scalars(select(Consultation.status)).one() == "cancelled"


def test_openapi_document_describes_every_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = set(doc["paths"])
    served = {
        rule.rule.replace("/api/v1", "").replace("<slug>", "{slug}").replace("<token>", "{token}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
    }
    served.discard("/openapi.json")
    assert served == documented
