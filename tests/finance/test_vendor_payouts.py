"""Vendor payouts as finance reads them: what counts for which vendor and month, the CSV
statement, and the payouts page in the admin (finance group only)."""

import csv
import io
from datetime import datetime

import pytest

from billing import payout_queries
from billing.models import Invoice, line_agent
from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Tenant
from tests.finance.conftest import APR, assert_statuses
from tests.invoicing.conftest import FEB, MAR

pytestmark = pytest.mark.django_db


def figures(rows):
    return {
        (row.vendor_slug, row.period, row.payout.currency): (
            row.payout.gross,
            row.payout.refunds,
            row.payout.platform_fee,
            row.payout.net,
        )
        for row in rows
    }


def test_each_vendor_is_paid_for_its_own_finalized_sales_less_fee(books):
    assert_statuses(books)
    assert figures(payout_queries.vendor_payouts(FEB)) == {
        # fee 1000 + usage 1100 + one-time order 5000; the adjustment and the draft do not count
        ("vendor-one", "2026-02", "EUR"): (7100, 0, 1420, 5680),
        ("vendor-two", "2026-02", "USD"): (1300, 0, 260, 1040),
    }


def test_refunds_and_credit_notes_fall_in_the_month_they_are_given(books):
    # March: V1's fee 1000; the credit note (1000) and the order refund (5000) of March.
    assert figures(payout_queries.vendor_payouts(MAR)) == {
        ("vendor-one", "2026-03", "EUR"): (1000, 6000, -1000, -4000),
    }
    # February's statement did not change.
    assert figures(payout_queries.vendor_payouts(FEB))[("vendor-one", "2026-02", "EUR")] == (
        7100,
        0,
        1420,
        5680,
    )


def test_a_voided_invoice_pays_nothing(books):
    from billing import invoicing

    invoicing.void_invoice(books.feb_c2, reason="sent to the wrong company")
    assert ("vendor-two", "2026-02", "USD") not in figures(payout_queries.vendor_payouts(FEB))


def test_the_fee_percentage_is_a_setting(books, settings):
    from decimal import Decimal

    settings.PLATFORM_FEE_PERCENT = Decimal("12.5")
    row = figures(payout_queries.vendor_payouts(FEB))[("vendor-two", "2026-02", "USD")]
    assert row == (1300, 0, 163, 1137)  # 162.5 rounds half-up


def test_months_in_a_range_are_listed_per_vendor(books):
    rows = payout_queries.vendor_payouts(FEB, APR, vendor_id=books.v1.pk)
    assert [(row.period, row.payout.net) for row in rows] == [("2026-02", 5680), ("2026-03", -4000)]


def statement_rows(chunks) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))


def test_the_csv_statement_lists_every_line_then_the_sums(books):
    rows = statement_rows(payout_queries.statement_csv(payout_queries.statement(books.v1.pk, MAR)))
    assert list(rows[0]) == payout_queries.STATEMENT_HEADER
    items = [(r["record"], r["document"], r["line_kind"], r["amount_minor"]) for r in rows[:3]]
    assert items == [
        ("sale", books.mar_c1.number, "flat_fee", "1000"),
        ("refund", books.credit_note.number, "credit", "1000"),
        ("refund", books.refund_note.number, "credit", "5000"),
    ]
    assert all(r["customer"] == "customer-one" for r in rows[:3])
    issued = [r["issued_at"] for r in rows[:3]]
    assert all(t.endswith("Z") and datetime.fromisoformat(t).tzinfo for t in issued), issued
    assert all(r["currency"] == "EUR" for r in rows)
    assert [(r["record"], r["amount_minor"]) for r in rows[3:]] == [
        ("gross", "1000"),
        ("refunds", "6000"),
        ("platform_fee", "-1000"),
        ("net", "-4000"),
    ]


def test_another_vendors_lines_never_appear_in_a_statement(books):
    rows = statement_rows(payout_queries.statement_csv(payout_queries.statement(books.v2.pk, FEB)))
    assert {r["customer"] for r in rows if r["record"] == "sale"} == {books.c2.tenant.slug}
    assert all(r["currency"] == "USD" for r in rows)


PAYOUTS = "/admin/billing/finance/payouts/"


def test_finance_sees_all_vendors_payouts_and_downloads_a_statement(books, admin_session):
    client, user = admin_session("finance")
    page = client.get(PAYOUTS, {"period": "2026-02"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-vendor="vendor-one"' in html and 'data-vendor="vendor-two"' in html
    assert "5680" in html and "1040" in html
    statement = client.get(f"{PAYOUTS}{books.v1.pk}/statement.csv", {"period": "2026-02"})
    assert statement.status_code == 200 and statement.streaming
    disposition = 'attachment; filename="payout-vendor-one-2026-02.csv"'
    assert statement["Content-Disposition"] == disposition
    rows = statement_rows(statement.streaming_content)
    assert rows[-1]["record"] == "net" and rows[-1]["amount_minor"] == "5680"
    event = AuditEvent.objects.get(action="finance_export")
    assert event.actor == user and event.details["export"] == "payout_statement"
    # A month without sales or refunds has no statement, as the vendor's API says (404).
    none = client.get(f"{PAYOUTS}{books.v1.pk}/statement.csv", {"period": "2025-06"})
    assert none.status_code == 404
    assert AuditEvent.objects.filter(action="finance_export").count() == 1


def test_an_unreadable_period_is_said_so(books, admin_session):
    client, _ = admin_session("finance")
    response = client.get(PAYOUTS, {"period": "2026-13"}, follow=True)
    assert "calendar month written YYYY-MM" in response.content.decode()


@pytest.mark.parametrize("group", ["reviewers", "platform-admins"])
def test_other_staff_groups_are_refused(books, admin_session, group):
    client, _ = admin_session(group)
    assert client.get(PAYOUTS).status_code == 403
    assert client.get(f"{PAYOUTS}{books.v1.pk}/statement.csv").status_code == 403


def test_staff_without_totp_is_sent_to_sign_in(books, client):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="finance"))
    client.force_login(user)  # a password session, no verified second factor
    response = client.get(PAYOUTS)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_former_vendors_payouts_stay_readable_by_finance_and_by_it(
    books, admin_session, member_client
):
    """Staff untick "is vendor" on a tenant that keeps its agents (docs/roles.md): its sales
    still count, so finance's statement link and the tenant's own payouts answer as before
    (the link was a 404 and the API a 403 while the page listed its payout)."""
    Tenant.objects.filter(pk=books.v1.pk).update(is_vendor=False, is_customer=True)
    finance, _ = admin_session("finance")
    billing, _ = member_client("billing", tenant=books.v1)

    page = finance.get(PAYOUTS, {"period": "2026-02"}).content.decode()
    statement = finance.get(f"{PAYOUTS}{books.v1.pk}/statement.csv", {"period": "2026-02"})
    own = billing.get("/api/v1/vendor/payouts", {"from": "2026-02", "to": "2026-02"})

    assert 'data-vendor="vendor-one"' in page
    assert statement.status_code == 200
    assert statement_rows(statement.streaming_content)[-1]["amount_minor"] == "5680"
    assert own.status_code == 200 and own.json()["payouts"][0]["net"] == 5680
    # The invoice list's vendor filter counts it as the payouts page does: it was neither
    # offered nor taken typed ("names no vendor").
    invoices = finance.get("/admin/billing/invoice/", {"vendor": books.v1.pk})
    assert [str(m) for m in invoices.context["messages"]] == []
    billed = Invoice.objects.alias(vendor=line_agent("tenant_id", "lines__"))
    assert (
        invoices.context["cl"].result_count
        == (billed.filter(vendor=books.v1.pk).distinct().count())
        > 0
    )
    (vendors,) = (f for f in invoices.context["cl"].filter_specs if f.title == "vendor")
    assert (books.v1.pk, books.v1.name) in vendors.lookup_choices
