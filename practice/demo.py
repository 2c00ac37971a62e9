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
            booking = service.book(
                session,
                therapist.id,
                slots[0].start,
                details,
                f"demo{therapist.id:028d}",
                now,
                notify,
            )
            _answer_demo_intakes(session, booking.consultation, now)
    return created


# Who leans which way in the demo (agreement 1-5 with each pattern's items): the couple shows
# the pursue-withdraw cycle; Priya leaves hers unanswered so the queue shows that state too.
DEMO_LEANINGS = {"Jordan Lee": (3, 2), "Alex Rivera": (5, 2), "Sam Rivera": (2, 5)}


def _answer_demo_intakes(session, consultation, now) -> None:  # noqa: ANN001
    from flask import current_app

    from practice.intake.service import form_for, intakes_for, submit

    catalog = current_app.extensions["practice"].questionnaires
    for intake in intakes_for(session, consultation.id):
        leaning = DEMO_LEANINGS.get(intake.respondent_name)
        if leaning is None:
            continue
        form = form_for(catalog, intake)
        answers = demo_answers(form, *leaning)
        submit(session, intake, answers, form, now, on_urgent=lambda *_: None)


def demo_answers(form, codependent: int, hyper: int) -> dict[str, str]:  # noqa: ANN001
    """Consistent answers for a demo person: reverse-keyed items mirrored, safety all 'no'."""
    level = {"codependent": codependent, "hyper_independent": hyper}
    answers = {}
    for sub in form.subscales:
        for item_id in sub.items:
            agree = level.get(sub.pattern, 3)
            answers[item_id] = str(6 - agree if form.item(item_id).reverse else agree)
    for item in form.items.values():
        if item.safety:
            answers[item.id] = "no"
        elif item.kind == "long_text" and item.required:
            answers[item.id] = "We keep having the same argument and I'd like us to be closer."
        elif item.kind == "choice" and item.id not in answers:
            answers[item.id] = item.choices[0].value
    return answers
