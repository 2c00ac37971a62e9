"""The audit log: who opened or printed what, and when. Never the content itself."""

from practice.audit.models import AuditEvent
from practice.audit.service import record, record_views

__all__ = ["AuditEvent", "record", "record_views"]
