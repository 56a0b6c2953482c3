"""A vendor's payout statement of one month reads that month's invoice lines, not every line
ever issued: the month is a computed value (an invoice's billing month, a credit note's month
of issue), so it is also filtered as ranges the invoice indexes serve
(``billing.models.in_revenue_months``). Rows read are counted from EXPLAIN (ANALYZE) with
sequential scans priced out: what is left is what no index narrows."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from billing.models import Invoice, InvoiceLine
from billing.periods import add_months, next_month
from edgeplug.tenancy.models import Tenant
from tests.factories import EntitlementFactory, VendorTenantFactory
from tests.query_plans import analyze, counts_rows_read, queries_of, rows_read, touching

pytestmark = [pytest.mark.django_db, counts_rows_read]

START = datetime(2024, 1, 1, tzinfo=UTC)
MONTHS, CUSTOMERS, VENDORS = 24, 150, 15
STATEMENT = "/api/v1/vendor/payouts"
FEE = 1500  # each invoice: a flat fee and a usage line of FEE each, for one vendor's agent


def _issue(documents: list[Invoice]) -> None:
    # Lines go in while the documents are drafts: a finalized one refuses them.
    for n, document in enumerate(documents):
        document.status, document.finalized_at = "open", document.finalize_after
        document.number = f"{'CN' if document.kind == 'credit_note' else 'EP'}-{n:07d}"
    Invoice.objects.bulk_update(documents, ["status", "number", "finalized_at"], batch_size=2000)


def _two_years_of_books():
    """Every customer's invoice of every month, each for one vendor's agent; from the second
    month on, the first VENDORS customers each get a credit note of last month's invoice,
    issued on the 10th (it counts in the month issued, though its period is last month's)."""
    vendors = [VendorTenantFactory(slug=f"vendor-{n}") for n in range(VENDORS)]
    entitlements = [EntitlementFactory(order__plan__agent__tenant=v) for v in vendors]
    customers = Tenant.objects.bulk_create(
        Tenant(name=f"C {n}", slug=f"customer-{n}", is_customer=True) for n in range(CUSTOMERS)
    )
    months = [add_months(START, m) for m in range(MONTHS)]
    invoices = Invoice.objects.bulk_create(
        Invoice(
            tenant=c,
            currency="EUR",
            period_start=month,
            period_end=next_month(month),
            finalize_after=next_month(month),
            subtotal=2 * FEE,
            total=2 * FEE,
        )
        for month in months
        for c in customers
    )
    crediting = {c.pk for c in customers[:VENDORS]}
    credited = [inv for inv in invoices[:-CUSTOMERS] if inv.tenant_id in crediting]
    notes = Invoice.objects.bulk_create(
        Invoice(
            tenant_id=inv.tenant_id,
            kind="credit_note",
            credit_of=inv,
            currency="EUR",
            period_start=inv.period_start,
            period_end=inv.period_end,
            finalize_after=inv.period_end + timedelta(days=9),
            subtotal=-FEE,
            total=-FEE,
        )
        for inv in credited
    )
    vendor_of = {inv.pk: entitlements[n % VENDORS] for n, inv in enumerate(invoices)}
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=inv,
                position=pos,
                kind=kind,
                description=kind,
                amount=FEE,
                entitlement=vendor_of[inv.pk],
                period_start=inv.period_start,
                period_end=inv.period_end,
            )
            for inv in invoices
            for pos, kind in enumerate(("flat_fee", "usage"))
        ]
        + [
            InvoiceLine(
                invoice=note,
                kind="usage",
                description="credit",
                amount=-FEE,
                entitlement=vendor_of[note.credit_of_id],
                period_start=note.period_start,
                period_end=note.period_end,
            )
            for note in notes
        ]
    )
    _issue(invoices + notes)
    analyze(Invoice, InvoiceLine)
    return vendors[0], months[-1]


def test_one_months_statement_reads_only_that_months_lines(member_client):
    vendor, month = _two_years_of_books()
    client, _ = member_client("billing", tenant=vendor)
    in_all = InvoiceLine.objects.count()
    of_the_month = (
        InvoiceLine.objects.filter(invoice__kind="invoice", invoice__period_start=month).count()
        + InvoiceLine.objects.filter(
            invoice__kind="credit_note", invoice__finalized_at__gte=month
        ).count()
    )
    assert (in_all, of_the_month) == (7200 + 23 * VENDORS, 300 + VENDORS)

    for url in (f"{STATEMENT}/{month:%Y-%m}", f"{STATEMENT}/{month:%Y-%m}.csv"):
        response, sqls = queries_of(partial(client.get, url))
        assert response.status_code == 200
        read = max(
            rows_read(sql, InvoiceLine, seqscan=False) for sql in touching(sqls, InvoiceLine)
        )
        # about the month's lines (each statement's loops are rounded to whole rows)
        assert read <= 2 * of_the_month, (
            f"{url} read {read} invoice lines of {in_all} ({of_the_month} that month)"
        )

    body = client.get(f"{STATEMENT}/{month:%Y-%m}").json()
    # ten invoices of the month (2 x FEE each) and last month's credit note issued in this one
    assert [(p["gross"], p["refunds"]) for p in body["payouts"]] == [(20 * FEE, FEE)]
