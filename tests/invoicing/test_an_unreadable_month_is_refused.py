"""Every door that takes a month reads it as ``YYYY-MM`` (a year from 2000 to 2999, a
two-digit month) through ``billing.periods.parse_month``, and says so when it cannot: the API
answers ``400 invalid_period``, the admin and finance pages show a message instead of failing,
the command and the Celery task refuse with ``InvalidPeriod``'s text."""

import pytest
from django.core.management import CommandError, call_command

from billing import invoicing, tasks
from billing.errors import InvalidPeriod
from billing.models import Invoice
from tests.invoicing.conftest import FEB, JAN

UNREADABLE = [
    "x",
    "2026-1",
    "1999-01",
    "9999-12",  # its next month would not exist
    "2026-13",
    "2026-01-05",
    "26-01",
    "2026-01\n",
    "\u0662\u0660\u0662\u0666-01",
]
INVOICES = "/admin/billing/invoice/"
FINANCE = "/admin/billing/finance/"


@pytest.fixture
def two_months(customer):
    customer.account()
    customer.ran(customer.metered(), JAN, 2)
    customer.ran(customer.metered(since=FEB), FEB, 2)
    invoicing.close_billing_period(JAN)
    invoicing.close_billing_period(FEB)
    return customer


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("period", UNREADABLE)
def test_the_invoice_api_refuses_an_unreadable_period_with_its_code(
    member_client, customer, period
):
    client, _ = member_client("billing", tenant=customer.tenant)
    response = client.get("/api/v1/invoices", {"period": period})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_period"
    assert "YYYY-MM" in response.json()["detail"]
    assert response.json()["field"] == "period"


STATUSES = "draft, open, paid, payment_failed, uncollectible, void"
PERIOD_IGNORED = (
    "Period filter ignored: A period is a calendar month written YYYY-MM, years 2000 to 2999, "
    "e.g. 2026-03."
)


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [("period", period, PERIOD_IGNORED) for period in UNREADABLE]
    # A typed or stale vendor id (the filter takes one) was a 500, or emptied the list; a
    # superscript two, a digit to str.isdigit but not to int(), was a 500 still.
    + [
        ("vendor", vendor, f"Vendor filter ignored: {vendor!r} names no vendor.")
        for vendor in ("abc", "99999999999999999999", "-1", "\u00b2")
    ]
    # A status or kind that is none of the field's choices, and a money-back way that is none
    # of the filter's: the first two emptied the list, the last was dropped without a word.
    + [
        (name, value, f"{title} filter ignored: {value!r} is not one of {choices}.")
        for name, value, title, choices in (
            ("status", "bogus", "Status", STATUSES),
            ("status__exact", "OPEN", "Status", STATUSES),
            ("kind", "refund", "Kind", "invoice, credit_note"),
            ("money_back", "bogus", "Money back", "owed, paid_back"),
            # A currency no invoice is in (the filter lists those held, stored upper case),
            # and a tenant that does not exist: both emptied the list without a word.
            ("currency", "eur", "Currency", "EUR"),
            ("currency__exact", "usd", "Currency", "EUR"),
        )
    ]
    + [
        (name, tenant, f"Tenant filter ignored: {tenant!r} names no tenant.")
        for name in ("tenant__id__exact", "tenant")
        for tenant in ("999999", "abc", "\u00b2")
    ],
)
def test_the_admin_invoice_list_ignores_an_unreadable_filter_and_says_so(
    admin_session, two_months, name, value, said
):
    client, _ = admin_session("finance")
    page = client.get(INVOICES, {name: value})
    assert page.status_code == 200
    assert page.context["cl"].result_count == Invoice.objects.count() == 2
    assert _messages(page) == [said]


def test_the_admin_invoice_list_still_filters_by_a_held_currency_and_a_tenant(
    admin_session, two_months
):
    client, _ = admin_session("finance")
    tenant = Invoice.objects.first().tenant_id
    for query in ({"currency__exact": "EUR"}, {"tenant__id__exact": tenant}, {"tenant": tenant}):
        page = client.get(INVOICES, query)
        assert page.context["cl"].result_count == 2, query
        assert not _messages(page), query


def test_the_admin_invoice_list_still_filters_by_a_readable_period(admin_session, two_months):
    client, _ = admin_session("finance")
    page = client.get(INVOICES, {"period": "2026-02"})
    assert [i.period_start for i in page.context["cl"].result_list] == [FEB]
    assert not _messages(page)


@pytest.mark.parametrize("period", ["2026-1", ""])  # given but empty: not the default month
@pytest.mark.parametrize("page", ["exports/", "payouts/", "charts/", "exports/invoices.csv"])
def test_a_finance_page_says_an_unreadable_period_instead_of_failing(admin_session, page, period):
    client, _ = admin_session("finance")
    response = client.get(f"{FINANCE}{page}", {"period": period}, follow=True)
    assert response.status_code == 200
    assert response.get("Content-Disposition") is None  # no export of a month not asked for
    assert any("YYYY-MM" in message for message in _messages(response))


@pytest.mark.parametrize("period", UNREADABLE)
def test_the_close_task_refuses_an_unreadable_month(customer, period):
    customer.ran(customer.metered(), JAN, 2)
    with pytest.raises(InvalidPeriod, match="YYYY-MM"):
        tasks.close_billing_month(period)
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("period", UNREADABLE)
def test_the_close_command_refuses_an_unreadable_month(customer, period):
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("close_month", "--period", period)
