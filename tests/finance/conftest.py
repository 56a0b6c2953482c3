"""Finance fixtures: the books of two months built by the real actions (close, adjust,
finalize, credit note, order refund), for exports, payouts and charts to read."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from billing import invoicing
from billing.models import Invoice, InvoiceStatus, LineKind
from marketplace import orders
from tests.factories import TenantFactory, VendorTenantFactory
from tests.invoicing.conftest import FEB, MAR, Customer

APR = datetime(2026, 4, 1, tzinfo=UTC)


@dataclass
class Books:
    """Vendor V1 (EUR) sells to customer C1; vendor V2 (USD) to customer C2.

    February: C1 pays V1's metered agent (fee 1000 + 12 h graduated = 1100) and a one-time
    order (5000); finance adds a 300 adjustment (the platform's); C2 runs V2's agent
    (fee 1000, 3 h at 100 = 300). A third customer's draft stays unfinalized.
    March: V1's fee again (1000, no usage), a credit note for C1's February fee (1000) and a
    refund of the one-time order (5000), given back by a second credit note of February's
    invoice as it is refunded."""

    v1: object
    v2: object
    c1: Customer
    c2: Customer
    feb_c1: Invoice
    feb_c2: Invoice
    mar_c1: Invoice
    credit_note: Invoice
    refund_note: Invoice
    draft: Invoice


def _finalize(customer: Customer, month: datetime, now: datetime) -> Invoice:
    invoice = Invoice.objects.get(tenant=customer.tenant, period_start=month, kind="invoice")
    return invoicing.finalize_invoice(invoice, now=now)


@pytest.fixture
def books(db) -> Books:
    v1, v2 = VendorTenantFactory(slug="vendor-one"), VendorTenantFactory(slug="vendor-two")
    c1, c2 = Customer(TenantFactory(slug="customer-one"), v1), Customer(TenantFactory(), v2)
    c1.account()
    c2.account(currency="USD", tax_rate="0.00")
    metered = c1.metered(since=FEB)
    c1.ran(metered, FEB + timedelta(days=2), 12)
    order = c1.one_time(amount=5000, at=FEB + timedelta(days=5))
    c2_metered = c2.metered(currency="USD", since=FEB)
    c2.ran(c2_metered, FEB + timedelta(days=1), 3)
    c3 = Customer(TenantFactory(), v1)
    c3.ran(c3.metered(since=FEB), FEB, 1)

    invoicing.close_billing_period(FEB)
    feb_c1 = Invoice.objects.get(tenant=c1.tenant, period_start=FEB)
    invoicing.add_adjustment_line(feb_c1, description="Onboarding help", amount=300)
    feb_c1 = _finalize(c1, FEB, FEB + timedelta(days=32))
    feb_c2 = _finalize(c2, FEB, FEB + timedelta(days=32))
    draft = Invoice.objects.get(tenant=c3.tenant, period_start=FEB)

    with time_machine.travel(datetime(2026, 3, 10, 12, tzinfo=UTC), tick=False):
        fee_line = feb_c1.lines.get(kind=LineKind.FLAT_FEE)
        credit_note = invoicing.issue_credit_note(feb_c1, line_ids=[fee_line.pk], reason="goodwill")
    with time_machine.travel(datetime(2026, 3, 11, tzinfo=UTC), tick=False):
        orders.refund_order(order)  # February's invoice is finalized: a credit note of it
    refund_note = Invoice.objects.get(kind="credit_note", lines__order=order)
    invoicing.close_billing_period(MAR)
    mar_c1 = _finalize(c1, MAR, APR + timedelta(days=4))
    return Books(v1, v2, c1, c2, feb_c1, feb_c2, mar_c1, credit_note, refund_note, draft)


def assert_statuses(books: Books) -> None:
    assert books.draft.status == InvoiceStatus.DRAFT
    assert books.feb_c1.status == InvoiceStatus.OPEN
