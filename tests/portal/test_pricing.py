"""An agent's pricing page: plans written in major units become the pricing module's terms,
the calculator prices a month of agent-hours with that module, retire stops new orders."""

from decimal import Decimal

import pytest
from django.utils.html import escape

from marketplace import pricing
from marketplace.models import PricePlan
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

GRADUATED = {
    "key": "metered",
    "name": "Pay as you go",
    "kind": "metered",
    "currency": "usd",
    "scheme": "graduated",
    "tiers": "100 at 0.10\n* at 0.05",
    "included_hours": "10",
    "flat_fee": "5.00",
}


# Another kind's prices left out: a plan of that kind as typed.
ONE_TIME = {"kind": "one_time", "tiers": "", "included_hours": "", "flat_fee": ""}
FREE = {**ONE_TIME, "kind": "free"}


@pytest.fixture
def vendor(portal_vendor):
    return portal_vendor("developer")


def test_a_metered_plan_and_its_calculator(vendor):
    agent = AgentFactory(tenant=vendor.tenant)
    url = f"/portal/agents/{agent.pk}/pricing/"
    assert vendor.client.post(url, GRADUATED)["Location"] == url
    plan = PricePlan.objects.get(agent=agent)
    written = {
        "scheme": "graduated",
        "tiers": [{"up_to": "100", "unit_amount": 10}, {"up_to": None, "unit_amount": 5}],
        "included_hours": "10",
        "flat_fee": 500,
    }
    assert plan.terms == pricing.terms_as_json(pricing.parse_metered_terms("USD", written))
    page = vendor.client.get(url, {"plan": plan.pk, "hours": "150"}).content.decode()
    expected = pricing.price_usage(
        pricing.parse_metered_terms("USD", plan.terms), Decimal("150")
    ).total
    assert expected == 10 * 100 + 5 * 40 + 500  # 10 included hours come off first
    assert f'<td id="quote-total">{pricing.format_amount(expected, "USD")}</td>' in page
    assert "0.10 USD per hour" in page and "first 10 hours a month included" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"tiers": "100 at 0.1\n200 at 0.05"},
            "tiers",
            "End the tiers with a line “* at PRICE”: the price of the hours above 200.",
        ),
        (
            {"tiers": "99999999999999999999 at 0.1\n* at 0.05"},
            "tiers",
            "Tier “99999999999999999999 at 0.1”: 99999999999999999999 must be at most "
            "10,000,000,000 hours.",
        ),
        # A bound the plan rules refuse for its decimals was said in the API's words over the
        # whole form ("tiers[0].up_to may have at most 6 decimals."), no field marked.
        (
            {"tiers": "100.0000001 at 0.1\n* at 0.05"},
            "tiers",
            "Tier “100.0000001 at 0.1”: 100.0000001 may have at most 6 decimals.",
        ),
        # The name's length is counted as typed, as the API and the page's maxlength count it:
        # padded to 101 it was stripped first and taken, where the API refuses it.
        (
            {"name": " " + "a" * 100},
            "name",
            "Ensure this value has at most 100 characters (it has 101).",
        ),
        ({"name": "   "}, "name", "This field is required."),
        # The included hours are held to the plan rules' words (pricing.new_hours_refusal),
        # as the tier bounds are, not to Django's own limits beside them.
        (
            {"included_hours": "99999999999999999"},
            "included_hours",
            "99999999999999999 must be at most 10,000,000,000 hours.",
        ),
        (
            {"included_hours": "10.0000001"},
            "included_hours",
            "10.0000001 may have at most 6 decimals.",
        ),
        (
            {
                "scheme": "package",
                "tiers": "",
                "package_price": "4",
                "package_size": "9999999999999999",
            },
            "package_size",
            "Ensure this value is less than or equal to 1000000000000.",
        ),
        (
            {"tiers": "100 at 0.1\n50 at 0.2\n* at 0.05"},
            "tiers",
            "Tier “50 at 0.2”: its hours must be above the line before's (100).",
        ),
        (
            {"tiers": "0 at 0.1\n* at 0.05"},
            "tiers",
            "Tier “0 at 0.1”: its hours must be above 0.",
        ),
        # The plan rules' refusal of the amount is the one-time price's.
        (
            {**ONE_TIME, "price": "0.10", "currency": "eur"},
            "price",
            "A one-time plan is paid by card at checkout: 0.10 EUR is below the card "
            "processor's minimum charge of 0.50 EUR.",
        ),
        ({**FREE, "price": "49"}, "price", "A free plan takes no one-time price: clear it."),
        (
            {"kind": "one_time", "price": "49"},
            "included_hours",
            "A one-time plan takes no included hours per month: clear it.",
        ),
    ],
)
def test_terms_the_plan_rules_refuse_are_said_in_the_forms_words_at_their_field(
    vendor, changes, field, message
):
    """They were the API's words over the whole form ('The last tier must have "up_to":
    null', 'tiers[0].up_to must be at most …', 'package_size must be between 0 and …'), the
    field unmarked."""
    agent = AgentFactory(tenant=vendor.tenant)
    response = vendor.client.post(f"/portal/agents/{agent.pk}/pricing/", GRADUATED | changes)
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert not PricePlan.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tiers": "100 at 0.101"}, "more decimals than USD allows"),
        # Refused, not rounded to 1.00, however many digits (the default context has 28).
        ({"flat_fee": "0." + "9" * 29}, "The flat fee has more decimals than USD allows"),
        # A number too large for any price was a 500 (decimal.Overflow while scaling it).
        ({"flat_fee": "9" * 40}, "The flat fee is more than 10000000000.00 USD"),
        # Read only in ASCII digits: Decimal took 1e2 as 100, 1_0 as 10, other scripts' digits
        # at their value, so a price was stored that the vendor may not have meant.
        ({"flat_fee": "1e999999"}, "Enter a number in the digits 0-9, such as 12.50."),
        ({"flat_fee": "1e2"}, "Enter a number in the digits 0-9, such as 12.50."),
        ({"included_hours": "1_0"}, "Enter a number in the digits 0-9, such as 12.50."),
        ({"flat_fee": "\u0661\u0660"}, "Enter a number in the digits 0-9, such as 12.50."),
        ({"tiers": "\u0661\u0660\u0660 at 0.10\n* at 0.05"}, "is not “HOURS at PRICE”"),
        (
            {"scheme": "package", "tiers": "", "package_size": "1_0", "package_price": "1"},
            "Enter a whole number in the digits 0-9, such as 12.",
        ),
        ({"tiers": "100 at " + "9" * 40}, "A tier price is more than 10000000000.00 USD"),
        ({"tiers": "lots at cheap"}, "is not “HOURS at PRICE”"),
        ({"tiers": "* at 0.05\n100 at 0.10"}, "prices the hours above the last bound: make it"),
        ({"currency": "XYZ"}, "Unknown currency"),
        # Another kind's prices are refused, not dropped (the API refuses them too).
        ({**FREE, "price": "49"}, "A free plan takes no one-time price: clear it."),
        ({"kind": "one_time", "price": "49"}, "A one-time plan takes no tiers: clear it."),
    ],
)
def test_a_plan_that_cannot_be_priced_is_explained(vendor, changes, message):
    agent = AgentFactory(tenant=vendor.tenant)
    response = vendor.client.post(f"/portal/agents/{agent.pk}/pricing/", GRADUATED | changes)
    assert response.status_code in (400, 422)
    assert message in response.content.decode()
    assert not PricePlan.objects.exists()


def test_a_name_holding_nul_is_refused_in_the_forms_words(vendor):
    """The page said it over the form in JSON's spelling, 'Strings may not contain the NUL
    character (\\u0000).', beside the field's own 'Null characters are not allowed.'."""
    agent = AgentFactory(tenant=vendor.tenant)
    url = f"/portal/agents/{agent.pk}/pricing/"
    response = vendor.client.post(url, GRADUATED | {"name": "Pay\x00go"})
    page = response.content.decode()
    assert response.status_code == 400 and "nul_character" in page
    assert "Plan name holds a NUL character (U+0000)" in page and "\\u0000" not in page
    assert "name: Plan name" not in page  # its own words, not said of the field twice
    assert response.context["form"].has_error("name")
    assert not PricePlan.objects.exists()


PER_UNIT = GRADUATED | {"scheme": "per_unit", "unit_price": "0.50", "tiers": ""}
PACKAGE = GRADUATED | {"scheme": "package", "package_size": "50", "package_price": "4", "tiers": ""}


@pytest.mark.parametrize(
    ("form", "refused"),
    [
        (
            PER_UNIT | {"tiers": "100 at 0.10\n* at 0.05"},
            "The per_unit scheme does not take ['tiers']",
        ),
        (
            PER_UNIT | {"package_size": "50", "package_price": "4"},
            "The per_unit scheme does not take ['package_amount', 'package_size']",
        ),
        (GRADUATED | {"unit_price": "0.50"}, "The graduated scheme does not take ['unit_amount']"),
        (
            GRADUATED | {"scheme": "volume", "package_price": "4"},
            "The volume scheme does not take ['package_amount']",
        ),
        (PACKAGE | {"tiers": "* at 0.05"}, "The package scheme does not take ['tiers']"),
        (PACKAGE | {"unit_price": "0"}, "The package scheme does not take ['unit_amount']"),
    ],
    ids=[
        "per_unit tiers",
        "per_unit package",
        "graduated unit",
        "volume package",
        "package tiers",
        "package unit 0",
    ],
)
def test_a_price_of_another_scheme_is_refused_not_dropped(vendor, form, refused):
    """A per-hour plan with tiers typed too was stored without them (302): the action's
    refusal now, as the API gives it for the same terms."""
    agent = AgentFactory(tenant=vendor.tenant)
    response = vendor.client.post(f"/portal/agents/{agent.pk}/pricing/", form)
    page = response.content.decode()
    assert response.status_code == 400, page[-1500:]
    assert "invalid_price_terms" in page and escape(refused) in page
    assert not PricePlan.objects.exists()


@pytest.mark.parametrize("form", [PER_UNIT, PACKAGE], ids=["per_unit", "package"])
def test_a_plan_of_one_scheme_with_only_its_prices_is_offered(vendor, form):
    agent = AgentFactory(tenant=vendor.tenant)
    response = vendor.client.post(f"/portal/agents/{agent.pk}/pricing/", form)
    assert response.status_code == 302, response.content.decode()[-1500:]
    terms = PricePlan.objects.get(agent=agent).terms
    assert "tiers" not in terms and terms["scheme"] == form["scheme"]


def test_one_time_and_free_plans(vendor):
    agent = AgentFactory(tenant=vendor.tenant)
    url = f"/portal/agents/{agent.pk}/pricing/"
    vendor.client.post(
        url,
        {"key": "once", "name": "Buy once", "kind": "one_time", "currency": "JPY", "price": "4900"},
    )
    vendor.client.post(url, {"key": "trial", "name": "Trial", "kind": "free"})
    plans = {p.key: p for p in PricePlan.objects.filter(agent=agent)}
    assert (plans["once"].currency, plans["once"].amount) == ("JPY", 4900)
    assert (plans["trial"].currency, plans["trial"].amount) == ("", 0)
    page = vendor.client.get(url).content.decode()
    assert "4900 JPY once, per seat" in page


def test_retiring_a_plan(vendor):
    agent = AgentFactory(tenant=vendor.tenant)
    vendor.client.post(f"/portal/agents/{agent.pk}/pricing/", GRADUATED)
    plan = PricePlan.objects.get()
    vendor.client.post(f"/portal/agents/{agent.pk}/pricing/{plan.pk}/retire/")
    plan.refresh_from_db()
    assert plan.retired_at is not None


def test_another_vendors_pricing_is_not_found(vendor, portal_vendor):
    theirs = AgentFactory()
    assert vendor.client.get(f"/portal/agents/{theirs.pk}/pricing/").status_code == 404
    assert vendor.client.post(f"/portal/agents/{theirs.pk}/pricing/", GRADUATED).status_code == 404
    assert not PricePlan.objects.exists()


def test_included_hours_with_trailing_zeros_are_taken_as_the_api_takes_them(vendor):
    """Django's decimal-places check counted the zeros of 10.5000000 and refused it ("no more
    than 6 decimal places"), which the API's plan rules take as 10.5."""
    agent = AgentFactory(tenant=vendor.tenant)
    url = f"/portal/agents/{agent.pk}/pricing/"
    response = vendor.client.post(url, GRADUATED | {"included_hours": "10.5000000"})
    assert response.status_code == 302, response.context["form"].errors
    assert PricePlan.objects.get(agent=agent).terms["included_hours"] == "10.5"


def test_hours_are_written_as_people_write_them_never_in_scientific_notation():
    """A plan's words read "first 0.0000001 hours", not "first 1E-7 hours"."""
    from marketplace.models import PricePlan
    from marketplace.portal.plan_text import describe_plan

    terms = {
        "scheme": "graduated",
        "tiers": [{"up_to": "1E+3", "unit_amount": 10}, {"up_to": None, "unit_amount": 5}],
        "included_hours": "0.0000001",
    }
    plan = PricePlan(kind="metered", currency="USD", terms=terms)
    words = describe_plan(plan)
    assert "first 0.0000001 hours a month included" in words
    assert "0 to 1000 h: 0.10 USD per hour" in words
