"""Billing 0029 keeps the tenants' Stripe customers that Stripe deleted
(``DeletedStripeCustomer``), which were read back from their ``stripe_customer_deleted`` audit
events: it fills the table from those events, so a charge made on a customer deleted before the
upgrade is still the tenant's, and its next customer's key still counts the deletions."""

import pytest

from billing.models import DeletedStripeCustomer
from edgeplug.audit.models import AuditEvent
from tests.factories import TenantFactory
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db(transaction=True)  # migrating (SQLite) needs no atomic


def test_the_customers_deleted_before_the_upgrade_are_remembered():
    tenant, other = TenantFactory(), TenantFactory()

    with migrated_back("billing", "0028_card_refund_reference_index"):
        told = [
            AuditEvent.objects.create(
                action="stripe_customer_deleted",
                tenant=who,
                target=f"Stripe customer {customer}",
                details={"customer": customer, "cards_forgotten": []},
            )
            for who, customer in ((tenant, "cus_a1"), (tenant, "cus_a2"), (other, "cus_b1"))
        ]

    rows = DeletedStripeCustomer.objects.order_by("customer_id")
    assert [(row.tenant_id, row.customer_id, row.deleted_at) for row in rows] == [
        (tenant.pk, "cus_a1", told[0].created_at),
        (tenant.pk, "cus_a2", told[1].created_at),
        (other.pk, "cus_b1", told[2].created_at),
    ]
