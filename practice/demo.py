"""Demo data: a small practice with three therapists in three time zones."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from practice import clock
from practice.auth.models import StaffUser
from practice.auth.service import create_staff_user
from practice.booking import service
from practice.booking.notifications import notify
from practice.clinician.service import add_therapist, save_availability
from practice.db import get_session

THERAPISTS = [
    {
        "email": "maya@example.org",
        "name": "Maya Chen",
        "credentials": "LMFT",
        "timezone": "America/New_York",
        "bio": "Maya works with couples who love each other and keep having the same argument. "
        "She helps partners find their footing as a team without losing themselves.",
        "hours": [(d, time(9), time(12)) for d in range(5)]
        + [(d, time(14), time(17)) for d in (1, 3)],
    },
    {
        "email": "tom@example.org",
        "name": "Tom Okafor",
        "credentials": "MSc, UKCP",
        "timezone": "Europe/London",
        "bio": "Tom sees individuals and couples. He is especially interested in people who "
        "find it hard to lean on anyone, and in the quiet cost of always coping alone.",
        "hours": [(d, time(10), time(13)) for d in (0, 2, 4)]
        + [(d, time(17), time(19, 30)) for d in (1, 3)],
    },
    {
        "email": "sarah@example.org",
        "name": "Sarah Whitfield",
        "credentials": "Clinical Psychologist",
        "timezone": "Australia/Sydney",
        "bio": "Sarah helps people notice when caring for others has crowded out caring for "
        "themselves, and find a kinder balance.",
        "hours": [(d, time(8), time(11)) for d in range(1, 6)],
    },
]

CLIENTS = [
    ("Jordan Lee", "jordan@example.com", "individual", ""),
    ("Alex Rivera", "alex@example.com", "couple", "Sam Rivera"),
    ("Priya Nair", "priya@example.com", "individual", ""),
]


def seed(password: str) -> list[str]:
    """Create the demo once; returns the staff emails created (empty if already seeded)."""
    session = get_session()
    if session.scalars(select(StaffUser).where(StaffUser.email == "admin@example.org")).first():
        return []
    create_staff_user(session, "admin@example.org", "Practice Admin", "admin", password)
    session.commit()
    created = ["admin@example.org"]
    now = clock.now()
    for spec, client in zip(THERAPISTS, CLIENTS, strict=True):
        therapist = add_therapist(
            session,
            email=spec["email"],
            name=spec["name"],
            password=password,
            timezone=spec["timezone"],
            credentials=spec["credentials"],
            bio=spec["bio"],
        )
        save_availability(session, therapist, {"minimum_notice_hours": 12}, spec["hours"])
        created.append(spec["email"])
        # A booking a few days out, so each schedule has something on it.
        slots = service.open_slots(session, therapist, now, start=now + timedelta(days=2))
        if slots:
            name, email, kind, partner = client
            details = service.ClientDetails(
                name=name, email=email, timezone=spec["timezone"], kind=kind, partner_name=partner
            )
            service.book(
                session,
                therapist.id,
                slots[0].start,
                details,
                f"demo{therapist.id:028d}",
                now,
                notify,
            )
    return created
