"""An invoice's lines on its admin page read in the currency's major unit: their titles said
"adjustment Goodwill discount -250" and their breakdown was the stored JSON in minor units."""

import re

import pytest
from lxml import html

from billing import invoicing
from billing.models import Invoice
from tests.invoicing.conftest import JAN, adjust_in_admin

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


def test_line_titles_and_breakdowns_are_in_euros(admin_session, draft):
    client, _ = admin_session("finance")
    adjust_in_admin(client, draft, "Goodwill discount", "-2.50")

    page = html.fromstring(client.get(f"{URL}{draft.pk}/change/").content)

    titles = [" ".join(p.text_content().split()) for p in page.xpath('//td[@class="original"]/p')]
    assert "adjustment Goodwill discount -2.50 EUR" in titles, titles
    assert all(re.search(r" -?\d+\.\d{2} EUR$", title) for title in titles), titles
    breakdowns = [
        " ".join(cell.text_content().split())
        for cell in page.xpath('//td[contains(@class, "field-breakdown_shown")]')
    ]
    assert "agent-hours 0-10: 3 x 1.00 = 3.00 EUR" in breakdowns, breakdowns
    assert not any("{" in text for text in breakdowns), breakdowns


@pytest.mark.parametrize(
    ("currency", "typed", "said"),
    [
        (
            "JPY",
            "-12.5",
            "The amount has more decimals than JPY allows: enter an amount in "
            "JPY with at most 0 decimals, e.g. -12.",
        ),
        (
            "KWD",
            "x",
            "The amount is not a number in the digits 0-9: enter an amount in KWD with at most 3 "
            "decimals, e.g. -12.500.",
        ),
        # Decimal read it as -100, the finance clerk may have meant -1.2 or a typo.
        (
            "EUR",
            "-1e2",
            "The amount is not a number in the digits 0-9: enter an amount in EUR with at most 2 "
            "decimals, e.g. -12.50.",
        ),
        (
            "EUR",
            "0.00",
            "The amount is zero: enter an amount in EUR with at most 2 decimals, e.g. -12.50.",
        ),
    ],
)
def test_an_amount_refused_is_said_in_the_draft_s_currency(
    admin_session, customer, currency, typed, said
):
    """The example fits the currency (it said -12.50 for yen), and a zero is said in the
    currency typed, not in minor units; the field's placeholder is that example too."""
    customer.account(currency=currency)
    customer.ran(customer.metered(currency=currency), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    client, _ = admin_session("finance")

    page = adjust_in_admin(client, Invoice.objects.get(pk=pk), "Goodwill", typed, follow=True)

    refusal = html.fromstring(page.content).get_element_by_id("adjust-refusal")
    assert said in " ".join(refusal.text_content().split())
    example = said.rsplit("e.g. ", 1)[1].rstrip(".")
    field = html.fromstring(page.content).get_element_by_id("id_adjust_amount")
    assert field.get("placeholder") == example
    # Marked and described by the refusal in the page as served, not by JavaScript alone.
    assert (field.get("aria-invalid"), field.get("aria-describedby")) == ("true", "adjust-refusal")
    other = html.fromstring(page.content).get_element_by_id("id_adjust_description")
    assert other.get("aria-invalid") is None
    assert not Invoice.objects.get(pk=pk).lines.filter(kind="adjustment").exists()
