"""The certificate that currently vouches for a version: its newest one that a verifier still
accepts, that is not yet expired and signed by a platform key still published and not revoked.

``edgeplug.certificates.verify_certificate`` (the ``edgeplug verify`` CLI, devices) refuses a
certificate past its ``expires_at``, or whose key the published key set marks revoked
(``key_revoked``) or does not hold (``unknown_key``); the server follows the same rule. Every
door that hands out or relies on a version's certificate (the API, the vendor portal, deploy,
device assignments, the bundle, the catalogue) and the beat task that marks versions
``expired`` ask here.
"""

from datetime import datetime

from django.db.models import Max, QuerySet
from django.utils import timezone

from certification.certificates.platform_keys import keyring
from certification.models import Certificate
from marketplace.models import AgentVersion


def vouching_certificates(now: datetime | None = None) -> QuerySet:
    """Certificates that vouch at ``now`` (default: now): unexpired, of a key the published
    key set holds and does not mark revoked.

    The keys come from the key ring (configuration, parsed once), so this is one condition on
    the certificates' ``key_id``, no query of its own."""
    return Certificate.objects.filter(
        expires_at__gt=now or timezone.now(), key_id__in=keyring().vouching_key_ids()
    )


def current_certificates(versions) -> dict[int, Certificate]:
    """The current certificate of each of ``versions`` (by version id), in one query."""
    found: dict[int, Certificate] = {}
    rows = vouching_certificates().filter(version__in=versions)
    for certificate in rows.order_by("version_id", "-issued_at"):
        found.setdefault(certificate.version_id, certificate)
    return found


def current_certificate(version: AgentVersion) -> Certificate | None:
    return vouching_certificates().filter(version=version).order_by("-issued_at").first()


def certified_until(version: AgentVersion) -> datetime | None:
    """When the version's last certificate expires, or expired: in the past when none is
    current any more; None when it never had one."""
    return Certificate.objects.filter(version=version).aggregate(until=Max("expires_at"))["until"]
