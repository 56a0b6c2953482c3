"""The append-only audit log of security-relevant events."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "edgeplug.audit"
    label = "audit"
