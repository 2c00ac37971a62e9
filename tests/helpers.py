"""Test helpers that act as a client would: read the page, fill the form, send it."""

from __future__ import annotations

import email
import html as html_lib
import re
from email.message import Message
from pathlib import Path

from conftest import csrf_from, hidden

CLIENT = {
    "name": "Jordan Lee",
    "email": "jordan@example.com",
    "phone": "+1 555 0100",
    "kind": "individual",
    "note": "I keep putting everyone else first.",
    "consent": "y",
    "not_emergency": "y",
}


def booking_form(client, slug: str, start: str, tz: str = "UTC"):  # noqa: ANN001, ANN201
    page = client.get(f"/book/{slug}", query_string={"start": start, "tz": tz})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    html = page.get_data(as_text=True)
    return {
        "csrf_token": csrf_from(html),
        "idempotency_key": hidden(html, "idempotency_key"),
        "start": start,
        "tz": tz,
    }


def book(client, slug: str, start: str, tz: str = "UTC", **overrides):  # noqa: ANN001, ANN003, ANN201
    data = {**booking_form(client, slug, start, tz), **CLIENT, **overrides}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"/book/{slug}", data=data)


def manage_path(response) -> str:  # noqa: ANN001
    location = response.headers["Location"]
    match = re.search(r"(/consultations/[^?]+)", location)
    assert match, location
    return match.group(1)


def slot_starts(html: str) -> list[str]:
    return re.findall(r"start=([0-9T:\-]+Z)", html.replace("%3A", ":"))


def read_eml(directory: Path) -> list[Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(directory.glob("*.eml"))]


def body_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def calendar_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no calendar part")


def text(response) -> str:  # noqa: ANN001
    """The page as a reader sees it: entities such as &#39; turned back into characters."""
    return html_lib.unescape(response.get_data(as_text=True))
