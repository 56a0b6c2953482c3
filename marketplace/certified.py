"""The certificate that currently vouches for a version: the newest one not yet expired."""

from django.utils import timezone

from certification.models import Certificate
from marketplace.models import AgentVersion


def current_certificate(version: AgentVersion) -> Certificate | None:
    return (
        Certificate.objects.filter(version=version, expires_at__gt=timezone.now())
        .order_by("-issued_at")
        .first()
    )
