"""Voiding the uncollectible invoice that suspended a tenant gives its entitlements back, as
paying it would; while another invoice of the tenant is still uncollectible they stay
suspended."""

import pytest

from billing import invoicing
from billing.models import Invoice, InvoiceStatus
from edgeplug.audit.models import AuditEvent
from marketplace.models import Entitlement, EntitlementStatus
from tests.dunning.conftest import INVOICES, twin_of

pytestmark = pytest.mark.django_db


def status_of(entitlement) -> str:
    return Entitlement.objects.get(pk=entitlement.pk).status


def test_finance_voids_the_uncollectible_invoice_and_the_tenant_runs_again(
    uncollectible, admin_session
):
    customer, invoice = uncollectible
    client, user = admin_session("finance")
    response = client.post(
        f"{INVOICES}{invoice.pk}/void/", {"reason": "Billed the wrong entity"}, follow=True
    )
    assert f"{invoice.number} voided." in response.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.VOID
    entitlement = Entitlement.objects.get(pk=customer.entitlement.pk)
    assert (entitlement.status, entitlement.status_reason) == (EntitlementStatus.ACTIVE, "")
    reactivated = AuditEvent.objects.get(action="entitlement_reactivated")
    assert reactivated.details["invoice"] == invoice.number
    assert AuditEvent.objects.get(action="invoice_voided").actor == user


def test_another_uncollectible_invoice_keeps_the_tenant_suspended_until_it_is_voided_too(
    uncollectible,
):
    customer, invoice = uncollectible
    twin = twin_of(invoice)
    invoicing.void_invoice(invoice, reason="duplicate")
    assert status_of(customer.entitlement) == EntitlementStatus.SUSPENDED
    invoicing.void_invoice(twin, reason="duplicate")
    assert status_of(customer.entitlement) == EntitlementStatus.ACTIVE


def test_voiding_an_open_invoice_leaves_other_suspensions_alone(uncollectible):
    customer, invoice = uncollectible
    twin = twin_of(invoice)
    Invoice.objects.filter(pk=twin.pk).update(status=InvoiceStatus.OPEN)
    invoicing.void_invoice(twin, reason="not owed")
    assert status_of(customer.entitlement) == EntitlementStatus.SUSPENDED
    assert not AuditEvent.objects.filter(action="entitlement_reactivated").exists()
