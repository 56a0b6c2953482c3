"""The sales page: agent-hours, customers and one-time revenue per agent and month, as the
vendor's admins and billing members see them, with a CSV of the same figures."""

import csv
import io
import re
from html import unescape

import pytest
from django.utils.html import escape
from rest_framework.test import APIClient

from marketplace.models import Order, OrderStatus
from tests.conftest import sign_in
from tests.factories import AgentFactory, OrderFactory, PricePlanFactory

pytestmark = pytest.mark.django_db


def _vendor(portal_vendor, sold, role):
    from marketplace.models import Agent

    return portal_vendor(role=role, tenant=Agent.objects.get(pk=sold.agent_id).tenant)


@pytest.mark.parametrize("role", ["admin", "billing"])
def test_admins_and_billing_members_see_hours_customers_and_revenue(portal_vendor, sold, role):
    vendor = _vendor(portal_vendor, sold, role)
    page = vendor.client.get("/portal/sales/")
    assert page.status_code == 200
    html = page.content.decode()
    month = sold.base.strftime("%Y-%m")
    assert "<td>1.5</td>" in html  # agent-hours, as a person reads them
    assert "1500 JPY" in html
    chart = page.context["chart"]
    assert chart["labels"][-1] == sold.now.strftime("%Y-%m")
    assert month in chart["labels"]
    assert chart["exponents"] == {"JPY": 0}
    assert page.context["table"][0]["customers"] == 1


def test_the_csv_holds_the_same_figures(portal_vendor, sold):
    vendor = _vendor(portal_vendor, sold, "admin")
    response = vendor.client.get("/portal/sales.csv?months=3")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    hours = sum(float(r["agent_hours"]) for r in rows)
    revenue = {r["currency"]: int(r["revenue_minor_units"]) for r in rows if r["currency"]}
    assert hours == 1.5
    assert revenue == {"JPY": 1500}
    assert {r["customers"] for r in rows} == {"1"}


def test_revenue_in_two_currencies_counts_hours_and_customers_once(portal_vendor, sold):
    """A month's agent-hours and customers are on the first of its currency rows only, so a
    spreadsheet summing the columns counts them once; each currency keeps its revenue."""
    order = Order.objects.get()
    OrderFactory(
        tenant=order.tenant, plan=order.plan, currency="EUR", amount=900, completed_at=sold.now
    )
    vendor = _vendor(portal_vendor, sold, "admin")
    response = vendor.client.get("/portal/sales.csv?months=3")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert [r["currency"] for r in rows] == ["EUR", "JPY"]
    assert sum(float(r["agent_hours"] or 0) for r in rows) == 1.5
    assert sum(int(r["customers"] or 0) for r in rows) == 1
    assert {r["currency"]: r["revenue_minor_units"] for r in rows} == {"EUR": "900", "JPY": "1500"}
    assert rows[1]["agent_hours"] == rows[1]["customers"] == ""


def test_newest_month_first_and_agents_a_to_z_within_it(portal_vendor, sold):
    from marketplace.models import Agent

    vendor_tenant = Agent.objects.get(pk=sold.agent_id).tenant
    customer = Order.objects.get().tenant
    for name in ("aardvark", "zebra"):
        plan = PricePlanFactory(agent=AgentFactory(tenant=vendor_tenant, name=name))
        OrderFactory(tenant=customer, plan=plan, amount=100, completed_at=sold.now)
    vendor = _vendor(portal_vendor, sold, "admin")
    table = vendor.client.get("/portal/sales/").context["table"]
    assert [row["agent"].name for row in table] == sorted(row["agent"].name for row in table)
    assert table[0]["agent"].name == "aardvark"


@pytest.mark.parametrize("query", ["?months=", "?foo=1"])
def test_the_csv_link_downloads_with_months_left_empty(portal_vendor, sold, query):
    """ "Months shown" cleared (or a stray parameter): the page shows the default twelve
    months, and its Download CSV link gives those months, not a 400."""
    vendor = _vendor(portal_vendor, sold, "admin")
    page = vendor.client.get(f"/portal/sales/{query}")
    assert page.status_code == 200
    link = re.search(r'href="([^"]*sales\.csv[^"]*)"', page.content.decode()).group(1)
    response = vendor.client.get(unescape(link))
    assert response.status_code == 200, link
    assert "--" in response["Content-Disposition"]


def test_developers_do_not_see_revenue(portal_vendor, sold):
    vendor = _vendor(portal_vendor, sold, "developer")
    assert vendor.client.get("/portal/sales/").status_code == 403
    assert vendor.client.get("/portal/sales.csv").status_code == 403


def test_another_vendor_sees_none_of_it(portal_vendor, sold):
    other = portal_vendor(role="admin", slug="other-vendor")
    page = other.client.get("/portal/sales/")
    assert page.status_code == 200
    assert page.context["table"] == []
    assert "Nothing yet in this period" in page.content.decode()
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(other.client.get("/portal/sales.csv").streaming_content).decode(
                    "utf-8-sig"
                )
            )
        )
    )
    header = ["month", "agent", "agent_hours", "customers", "currency", "revenue_minor_units"]
    assert rows == [header]


def test_a_bad_period_is_a_clear_400(portal_vendor, sold):
    vendor = _vendor(portal_vendor, sold, "admin")
    page = vendor.client.get("/portal/sales/?months=99")
    assert page.status_code == 400
    assert "less than or equal to 36" in page.content.decode()


@pytest.mark.parametrize(
    "months, why",
    [("0", "greater than or equal to 1"), ("99", "less than or equal to 36"), ("abc", "whole")],
)
def test_a_bad_months_shown_in_the_csvs_address_is_refused_on_the_portals_page(
    portal_vendor, sold, months, why
):
    """An address edited by hand (?months=abc): the portal's page in its frame, saying which
    value is wrong and why (400 invalid_period, field months), not Django's bare text."""
    vendor = _vendor(portal_vendor, sold, "admin")
    response = vendor.client.get(f"/portal/sales.csv?months={months}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response
    html = unescape(response.content.decode())
    assert '<strong class="code">invalid_period</strong>: Months shown: ' in html
    assert why in html
    assert '<nav aria-label="Portal">' in html
    scripted = vendor.client.get(
        f"/portal/sales.csv?months={months}", HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    ).json()
    assert (scripted["code"], scripted["field"]) == ("invalid_period", "months")


def test_a_month_without_a_payout_statement_says_so_and_leads_back_to_sales(portal_vendor, sold):
    """No sale and no refund that month: a 404 naming the month and why, with a link back to
    Sales, not the page that suggests the statement is another vendor's."""
    vendor = _vendor(portal_vendor, sold, "billing")
    response = vendor.client.get("/portal/sales/payouts/2024-02.csv")
    assert response.status_code == 404
    html = unescape(response.content.decode())
    assert "<h1>No payout statement for 2024-02</h1>" in html
    assert "no sales and no refunds" in html
    assert 'href="/portal/sales/">Back to Sales</a>' in html
    assert "another vendor" not in html


def test_payout_statements_show_gross_fee_and_net_with_a_csv_per_month(portal_vendor, sold):
    vendor = _vendor(portal_vendor, sold, "billing")
    page = vendor.client.get("/portal/sales/")
    (payout,) = page.context["payouts"]
    period = sold.now.strftime("%Y-%m")
    assert payout["period"] == period
    assert (payout["gross"], payout["platform_fee"], payout["net"]) == (
        "100.00 EUR",
        "20.00 EUR",
        "80.00 EUR",
    )
    statement = vendor.client.get(f"/portal/sales/payouts/{period}.csv")
    assert statement.status_code == 200
    text = b"".join(statement.streaming_content).decode("utf-8-sig")
    assert "EP-2026-000001" in text
    assert vendor.client.get("/portal/sales/payouts/2001-01.csv").status_code == 404
    other = portal_vendor(role="admin", slug="other-vendor")
    assert other.client.get(f"/portal/sales/payouts/{period}.csv").status_code == 404


@pytest.mark.parametrize("period", ["2026-13", "nonsense", "2026-1", "1999-12"])
def test_a_malformed_payout_period_is_refused_as_the_api_refuses_it(portal_vendor, sold, period):
    """400 invalid_period with the API's detail, not a 404; on the portal's page, in its
    frame (the address is followed in a browser), where it was the API's JSON."""
    vendor = _vendor(portal_vendor, sold, "billing")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, vendor.user)['access']}")
    from_api = api.get(f"/api/v1/vendor/payouts/{period}.csv")
    assert (from_api.status_code, from_api.json()["code"]) == (400, "invalid_period")

    response = vendor.client.get(f"/portal/sales/payouts/{period}.csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response
    html = response.content.decode()
    assert (
        '<strong class="code">invalid_period</strong>: ' + escape(from_api.json()["detail"]) in html
    )
    assert '<nav aria-label="Portal">' in html
    scripted = vendor.client.get(
        f"/portal/sales/payouts/{period}.csv", HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    assert (scripted.status_code, scripted.json()) == (400, from_api.json())


def test_an_order_refunded_later_still_counts_where_it_was_sold(portal_vendor, sold):
    """As the month's invoice bills it: the refund is its own event (the payout statement of
    the month it is given), so the month the order was sold does not lose its sale."""
    Order.objects.update(status=OrderStatus.REFUNDED)
    vendor = _vendor(portal_vendor, sold, "admin")
    assert "1500 JPY" in vendor.client.get("/portal/sales/").content.decode()


def test_the_portals_csvs_open_in_a_spreadsheet_with_their_accents(portal_vendor, sold):
    """Excel reads a CSV without a byte order mark as the computer's legacy code page, so
    "Überwachung" showed as "Ãœberwachung": the portal's downloads (opened by a person) start
    with one; the API's statement (read by programs) does not."""
    from marketplace.models import Agent

    Agent.objects.filter(pk=sold.agent_id).update(name="Überwachung")
    vendor = _vendor(portal_vendor, sold, "billing")
    period = sold.now.strftime("%Y-%m")
    for path in ("/portal/sales.csv", f"/portal/sales/payouts/{period}.csv"):
        body = b"".join(vendor.client.get(path).streaming_content)
        assert body.startswith(b"\xef\xbb\xbf"), path
        assert "Überwachung" in body.decode("utf-8-sig"), path
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, vendor.user)['access']}")
    from_api = b"".join(api.get(f"/api/v1/vendor/payouts/{period}.csv").streaming_content)
    assert from_api.startswith(b"record,")
