"""The certificate that currently vouches for a version: its newest one that a verifier still
accepts, that is not yet expired and signed by a platform key still published and not revoked,
and that a reviewer did not reject.

``edgeplug.certificates.verify_certificate`` (the ``edgeplug verify`` CLI, devices) refuses a
certificate past its ``expires_at``, or whose key the published key set marks revoked
(``key_revoked``) or does not hold (``unknown_key``); the server follows the same rule. Every
door that hands out or relies on a version's certificate (the API, the vendor portal, deploy,
device assignments, the bundle, the catalogue) and the beat task that marks versions
``expired`` ask here.

A run a reviewer rejected issued its certificate when it passed, before the review; that
certificate verifies offline like any other, so the server never hands it out as the
version's: it stays only the run's record (``GET /api/v1/certification/{id}/certificate``).
"""

from datetime import datetime

from django.db.models import Max, QuerySet
from django.utils import timezone

from certification.certificates.platform_keys import keyring
from certification.models import Certificate
from marketplace.models import AgentVersion, ReviewStatus


def unrejected_certificates() -> QuerySet:
    """Certificates of runs a reviewer did not reject (approved, or not decided yet): the
    only ones that may vouch, now or once did."""
    return Certificate.objects.exclude(run__review_status=ReviewStatus.REJECTED)


def vouching_certificates(now: datetime | None = None) -> QuerySet:
    """Certificates that vouch at ``now`` (default: now): unexpired, of a key the published
    key set holds and does not mark revoked, of a run a reviewer did not reject.

    The keys come from the key ring (configuration, parsed once), so this is one condition on
    the certificates' ``key_id``, no query of its own."""
    return unrejected_certificates().filter(
        expires_at__gt=now or timezone.now(), key_id__in=keyring().vouching_key_ids()
    )


def current_certificates(versions) -> dict[int, Certificate]:
    """The current certificate of each of ``versions`` (by version id), in one query."""
    found: dict[int, Certificate] = {}
    rows = vouching_certificates().filter(version__in=versions)
    for certificate in rows.order_by("version_id", "-issued_at", "-id"):
        found.setdefault(certificate.version_id, certificate)
    return found


def current_certificate(version: AgentVersion) -> Certificate | None:
    return vouching_certificates().filter(version=version).order_by("-issued_at", "-id").first()


def certified_until(version: AgentVersion) -> datetime | None:
    """When the version's last certificate expires, or expired: in the past when none is
    current any more; None when it never had one (a rejected run's does not count)."""
    rows = unrejected_certificates().filter(version=version)
    return rows.aggregate(until=Max("expires_at"))["until"]
