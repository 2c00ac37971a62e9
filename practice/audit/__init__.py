"""The audit log: who opened or printed what, and when. Never the content itself."""

from practice.audit.models import AuditEvent
from practice.audit.service import record

__all__ = ["AuditEvent", "record"]
