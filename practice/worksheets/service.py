"""The worksheet library per app: loading it at start-up, prefills, and audited printing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.orm import Session

from practice import timefmt
from practice.audit import record_views
from practice.auth.models import StaffUser
from practice.booking.models import Consultation
from practice.clinician.service import therapist_for, upcoming
from practice.paths import FORMS_DIR
from practice.worksheets.assembly import Packet
from practice.worksheets.catalog import PATTERN_FLAGS, Catalog, load_catalog
from practice.worksheets.rendering import Printer


@dataclass
class WorksheetState:
    """What the worksheet feature keeps per app, in app.extensions["practice_worksheets"]."""

    catalog: Catalog
    printer: Printer


def init_app(app: Flask) -> None:
    """Load and check the library now, so a bad file stops start-up rather than a print."""
    folder = app.config["PRACTICE_WORKSHEETS_DIR"] or FORMS_DIR / "worksheets"
    app.extensions["practice_worksheets"] = WorksheetState(
        catalog=load_catalog(Path(folder)),
        printer=Printer(cache_size=int(app.config["PRACTICE_WORKSHEET_CACHE_SIZE"])),
    )


def state() -> WorksheetState:
    return current_app.extensions["practice_worksheets"]


def flags_for_consultation(session: Session, consultation: Consultation) -> set[str]:
    """The couple's intake pattern flags, used only to order suggestions; never printed."""
    from practice.intake.service import pattern_flags

    # Only pattern flags pass: a safety answer must never steer or reach a worksheet.
    return pattern_flags(session, consultation) & PATTERN_FLAGS


def visible_consultation(
    session: Session, staff: StaffUser, consultation_id: int | None
) -> Consultation | None:
    """A consultation this staff member may print for: their own client's, or any for admins."""
    if consultation_id is None:
        return None
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        return None
    if staff.is_admin:
        return consultation
    therapist = therapist_for(session, staff)
    return consultation if therapist and therapist.id == consultation.therapist_id else None


def consultations_to_choose(session: Session, staff: StaffUser, now: datetime) -> list:
    """Upcoming consultations the picker offers, couples first (worksheets are for couples)."""
    therapist = therapist_for(session, staff)
    if therapist is None and not staff.is_admin:
        return []
    found = upcoming(session, now, therapist)
    return sorted(found, key=lambda c: not c.is_couple)


def session_day(consultation: Consultation) -> date:
    """The consultation's date as its therapist sees it on their calendar."""
    return timefmt.in_zone(consultation.starts_at, consultation.therapist.timezone).date()


def print_pdf(
    session: Session,
    packet: Packet,
    *,
    actor_id: int | None,
    consultation: Consultation | None,
    at: datetime,
) -> bytes:
    """The PDF; a personalised one is written to the audit log before it is handed over."""
    pdf = state().printer.pdf(packet)
    if packet.personalised:
        if consultation is not None:
            # The public id, as every other audit event about a consultation records it.
            subjects = [("consultation", consultation.public_id)]
        else:
            subjects = [("worksheet", sheet.id) for sheet in packet.sheets]
        events = [
            {
                "actor_id": actor_id,
                "action": "worksheet.print",
                "subject_type": subject_type,
                "subject_id": subject_id,
            }
            for subject_type, subject_id in subjects
        ]
        record_views(session, events, at)
    return pdf
