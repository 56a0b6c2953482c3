"""The certificate that currently vouches for a version: the newest one not yet expired."""

from django.utils import timezone

from certification.models import Certificate
from marketplace.models import AgentVersion


def current_certificates(versions) -> dict[int, Certificate]:
    """The current certificate of each of ``versions`` (by version id), in one query."""
    found: dict[int, Certificate] = {}
    rows = Certificate.objects.filter(version__in=versions, expires_at__gt=timezone.now())
    for certificate in rows.order_by("version_id", "-issued_at"):
        found.setdefault(certificate.version_id, certificate)
    return found


def current_certificate(version: AgentVersion) -> Certificate | None:
    return (
        Certificate.objects.filter(version=version, expires_at__gt=timezone.now())
        .order_by("-issued_at")
        .first()
    )
