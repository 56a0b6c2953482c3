"""The certificate that currently vouches for a version: the newest one not yet expired.

Every door that hands out or relies on a version's certificate (the API, the vendor portal,
deploy, device assignments, the bundle, the catalogue) asks here.
"""

from datetime import datetime

from django.db.models import Max
from django.utils import timezone

from certification.models import Certificate
from marketplace.models import AgentVersion


def _unexpired():
    return Certificate.objects.filter(expires_at__gt=timezone.now())


def current_certificates(versions) -> dict[int, Certificate]:
    """The current certificate of each of ``versions`` (by version id), in one query."""
    found: dict[int, Certificate] = {}
    rows = _unexpired().filter(version__in=versions)
    for certificate in rows.order_by("version_id", "-issued_at"):
        found.setdefault(certificate.version_id, certificate)
    return found


def current_certificate(version: AgentVersion) -> Certificate | None:
    return _unexpired().filter(version=version).order_by("-issued_at").first()


def certified_until(version: AgentVersion) -> datetime | None:
    """When the version's last certificate expires, or expired: in the past when none is
    current any more; None when it never had one."""
    return Certificate.objects.filter(version=version).aggregate(until=Max("expires_at"))["until"]
