"""Every model, imported in one place so metadata (and Alembic) sees all tables."""

from practice.audit.models import AuditEvent
from practice.auth.models import StaffSession, StaffUser
from practice.booking.models import (
    AvailabilityWindow,
    Consultation,
    Therapist,
    TimeOffPeriod,
)
from practice.db import Base
from practice.intake.models import Intake, IntakeAnswer
from practice.mail.models import OutboxMessage

__all__ = [
    "AuditEvent",
    "AvailabilityWindow",
    "Base",
    "Consultation",
    "Intake",
    "IntakeAnswer",
    "OutboxMessage",
    "StaffSession",
    "StaffUser",
    "Therapist",
    "TimeOffPeriod",
]
