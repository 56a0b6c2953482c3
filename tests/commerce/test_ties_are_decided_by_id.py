"""Rows picked "first" or "newest" by a timestamp two rows can share are picked by their id
as well: the current certificate of a version (its download, its certificate API, the
catalogue, which read it one row and many rows at a time) and the invoice an order refusal
names; the dashboard's yanked versions too (tests/portal/test_dashboard_yanked_ties.py). On a
tie the database's order was the rows' places on disk, so the download and the catalogue
could name different certificates of one version."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus
from certification.models import Certificate
from marketplace.certified import current_certificate, current_certificates
from marketplace.orders import _uncollectible
from tests.factories import AgentVersionFactory, TenantFactory, simulated_certificate

pytestmark = pytest.mark.django_db


def test_of_two_certificates_issued_in_one_instant_the_later_is_current():
    version = AgentVersionFactory()
    first, later = simulated_certificate(version), simulated_certificate(version)
    assert first.pk < later.pk
    issued = timezone.now().replace(microsecond=0)
    # The later row is written last, so it lies after the first on disk.
    for certificate in (first, later):
        Certificate.objects.filter(pk=certificate.pk).update(issued_at=issued)
    assert current_certificate(version) == later
    assert current_certificates([version]) == {version.pk: later}
    assert list(Certificate.objects.filter(version=version)) == [later, first]


def test_of_two_uncollectible_invoices_finalized_in_one_instant_the_first_is_named():
    tenant = TenantFactory()
    finalized = timezone.now().replace(microsecond=0)
    start = finalized.replace(day=1, hour=0, minute=0, second=0) - timedelta(days=40)
    invoices = [
        Invoice.objects.create(
            tenant=tenant,
            currency=currency,
            period_start=start,
            period_end=finalized,
            finalize_after=finalized,
        )
        for currency in ("EUR", "USD")
    ]
    # The first row is written last, so it lies after the second on disk.
    for number, invoice in reversed(list(enumerate(invoices, 1))):
        Invoice.objects.filter(pk=invoice.pk).update(
            status=InvoiceStatus.UNCOLLECTIBLE,
            number=f"EP-2026-00000{number}",
            finalized_at=finalized,
        )
    assert _uncollectible(tenant) == invoices[0]
