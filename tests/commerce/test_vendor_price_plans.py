"""Vendors price their agents; a plan someone holds never changes under them."""

import threading

import pytest
from django.db import connection, connections

from edgeplug.audit.models import AuditEvent
from marketplace import orders
from marketplace.models import Entitlement, Order, PricePlan
from tests.commerce.conftest import place_order, save_card
from tests.concurrency import wait_for_blocked_backend
from tests.factories import EntitlementFactory
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db

GRADUATED = {
    "scheme": "graduated",
    "tiers": [{"up_to": 100, "unit_amount": 10}, {"up_to": None, "unit_amount": 5}],
    "included_hours": "10",
    "monthly_minimum": 1000,
    "flat_fee": 500,
}

TOO_MANY_HOURS = {**GRADUATED, "included_hours": "1E+30"}
TOO_FINE_HOURS = {**GRADUATED, "included_hours": "1E-7"}


def plans_url(agent_id):
    return f"/api/v1/vendor/agents/{agent_id}/plans"


def test_vendor_creates_free_one_time_and_metered_plans(vendor, agent):
    url = plans_url(agent.pk)
    free = vendor.client.post(url, {"key": "trial", "name": "Trial", "kind": "free"}, format="json")
    assert free.status_code == 201, free.json()
    once = vendor.client.post(
        url,
        {
            "key": "perpetual",
            "name": "Perpetual",
            "kind": "one_time",
            "currency": "eur",
            "amount": 4900,
        },
        format="json",
    )
    assert once.status_code == 201, once.json()
    assert (once.json()["currency"], once.json()["amount"]) == ("EUR", 4900)
    metered = vendor.client.post(
        url,
        {
            "key": "hourly",
            "name": "Hourly",
            "kind": "metered",
            "currency": "USD",
            "terms": GRADUATED,
        },
        format="json",
    )
    assert metered.status_code == 201, metered.json()
    assert metered.json()["terms"]["tiers"][0] == {
        "up_to": "100",
        "unit_amount": 10,
        "flat_amount": 0,
    }
    listed = vendor.client.get(url).json()
    assert sorted(p["key"] for p in listed["results"]) == ["hourly", "perpetual", "trial"]
    assert AuditEvent.objects.filter(action="price_plan_created").count() == 3


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "one_time", "currency": "USD", "amount": 0}, "invalid_price_terms"),
        ({"kind": "one_time", "currency": "ZZZ", "amount": 10}, "invalid_price_terms"),
        # Charged by card at checkout: below the processor's minimum, no order could be paid.
        ({"kind": "one_time", "currency": "EUR", "amount": 49}, "invalid_price_terms"),
        # Also in a currency Stripe's table of minimums does not list (KRW 1 can't be paid).
        ({"kind": "one_time", "currency": "KRW", "amount": 1}, "invalid_price_terms"),
        ({"kind": "free", "currency": "USD", "amount": 10}, "invalid_price_terms"),
        (
            {"kind": "metered", "currency": "USD", "terms": {"scheme": "volume"}},
            "invalid_price_terms",
        ),
        (
            {"kind": "metered", "currency": "USD", "amount": 5, "terms": GRADUATED},
            "invalid_price_terms",
        ),
        # Hours beyond any month of any fleet, or finer than usage is counted in.
        ({"kind": "metered", "currency": "USD", "terms": TOO_MANY_HOURS}, "invalid_price_terms"),
        ({"kind": "metered", "currency": "USD", "terms": TOO_FINE_HOURS}, "invalid_price_terms"),
        ({"kind": "subscription"}, "invalid_choice"),
        # JSON types as the schema publishes them: minor units are an integer, a name text.
        ({"kind": "one_time", "currency": "EUR", "amount": "1000"}, "invalid"),
        ({"kind": "one_time", "currency": "EUR", "amount": True}, "invalid"),
        ({"kind": "one_time", "currency": "EUR", "amount": 1000.0}, "invalid"),
        ({"kind": "free", "name": 123}, "invalid"),
        # Printed on buyers' invoices, whose XML cannot carry a control character.
        ({"kind": "free", "name": "Tri\x1fal"}, "invalid_plan_name"),
        # A bidirectional override would print another price than it holds on them.
        ({"kind": "free", "name": "Basic \u202e00.001 EUR"}, "invalid_plan_name"),
        # Only invisible characters: a blank on the catalogue and the invoice.
        ({"kind": "free", "name": "\u200b\u2060"}, "invalid_plan_name"),
    ],
)
def test_invalid_plans_are_refused_and_nothing_is_stored(vendor, agent, body, code):
    response = vendor.client.post(
        plans_url(agent.pk), {"key": "p", "name": "P", **body}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not PricePlan.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"kind": "one_time", "currency": "ZZZ", "amount": 10}, "currency", "Unknown currency"),
        ({"kind": "one_time", "currency": "EUR", "amount": 0}, "amount", "above zero"),
        ({"kind": "one_time", "currency": "EUR", "amount": 49}, "amount", "paid by card"),
        ({"kind": "one_time", "currency": "EUR", "amount": 900, "terms": GRADUATED}, "terms", ""),
        ({"kind": "metered", "currency": "USD", "amount": 5, "terms": GRADUATED}, "amount", ""),
        ({"kind": "metered", "currency": "USD", "terms": {"scheme": "volume"}}, "terms", ""),
        ({"kind": "metered", "currency": "USD", "terms": TOO_MANY_HOURS}, "terms", ""),
        ({"kind": "free", "amount": 10, "terms": GRADUATED}, "amount", "leave out amount, terms"),
        ({"kind": "free", "currency": "USD"}, "currency", "leave out currency."),
        ({"kind": "free", "name": "Basic \u202e00.001 EUR"}, "name", "name: "),
    ],
)
def test_a_refused_plan_names_the_field_to_correct(vendor, agent, body, field, detail):
    """The body's ``field`` says where (the portal marks and focuses that field of its form),
    one field even when several are wrong: the first, in the order the form shows them."""
    response = vendor.client.post(
        plans_url(agent.pk), {"key": "p", "name": "P", **body}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert detail in response.json()["detail"]


def test_plan_key_is_unique_per_agent(vendor, agent, make_plan):
    make_plan("free", key="trial")
    again = vendor.client.post(
        plans_url(agent.pk), {"key": "trial", "name": "T", "kind": "free"}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "plan_exists")
    # Said for every door: what to do at each, and why a retired plan's key stays taken.
    detail = again.json()["detail"]
    assert "even once retired. Choose another key" in detail
    assert "“Change name or price” on the portal's pricing page, or PATCH" in detail
    # In another case too: 'Trial' beside 'trial' was a second plan, which customers and the
    # vendor told apart by case alone. The refusal names the key as it was taken.
    other_case = vendor.client.post(
        plans_url(agent.pk), {"key": "Trial", "name": "T", "kind": "free"}, format="json"
    )
    assert (other_case.status_code, other_case.json()["code"]) == (409, "plan_exists")
    assert other_case.json()["field"] == "key"
    assert "has a plan 'trial' already" in other_case.json()["detail"]


def test_editing_an_unheld_plan_changes_it_in_place(vendor, agent, make_plan):
    plan = make_plan("one_time", currency="USD", amount=1000)
    response = vendor.client.patch(
        f"{plans_url(agent.pk)}/{plan.pk}", {"amount": 1200}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["version"], response.json()["amount"]) == (
        plan.pk,
        1,
        1200,
    )


def test_editing_a_held_plan_creates_a_new_version_and_keeps_the_bought_terms(
    vendor, agent, make_plan, customer
):
    plan = make_plan("one_time", currency="USD", amount=1000)
    buyer = customer[1].tenant
    EntitlementFactory(order__tenant=buyer, order__plan=plan)
    response = vendor.client.patch(
        f"{plans_url(agent.pk)}/{plan.pk}", {"amount": 1500}, format="json"
    )
    assert response.status_code == 200
    revised = response.json()
    assert (revised["version"], revised["amount"], revised["is_current"]) == (2, 1500, True)
    assert revised["id"] != plan.pk
    assert response["Content-Location"] == f"{plans_url(agent.pk)}/{revised['id']}"
    plan.refresh_from_db()
    assert (plan.amount, plan.is_current) == (1000, False)
    assert Entitlement.objects.get().plan_snapshot["amount"] == 1000
    assert AuditEvent.objects.filter(action="price_plan_revised").exists()


def test_a_change_made_on_a_plan_read_before_a_colleagues_change_is_refused(
    vendor, agent, make_plan
):
    """A client sends back the ETag it read in If-Match: a plan changed since is refused
    (412 plan_changed) and kept as the colleague left it; without If-Match, or with *, the
    change is made as before."""
    plan = make_plan("one_time", currency="USD", amount=1000)
    url = f"{plans_url(agent.pk)}/{plan.pk}"
    read = vendor.client.get(url)
    tag = read["ETag"]
    assert tag.startswith('"') and tag.endswith('"')
    colleague = vendor.client.patch(url, {"amount": 1200}, format="json", HTTP_IF_MATCH=tag)
    assert colleague.status_code == 200, colleague.json()
    assert colleague["ETag"] != tag
    stale = vendor.client.patch(url, {"name": "Renamed"}, format="json", HTTP_IF_MATCH=tag)
    assert (stale.status_code, stale.json()["code"]) == (412, "plan_changed")
    plan.refresh_from_db()
    assert (plan.name, plan.amount) == ("one_time plan", 1200)
    assert AuditEvent.objects.filter(action="price_plan_edited").count() == 1
    weak = vendor.client.patch(
        url, {"name": "Renamed"}, format="json", HTTP_IF_MATCH=f"W/{colleague['ETag']}"
    )
    assert (weak.status_code, weak.json()["code"]) == (412, "plan_changed")
    either = vendor.client.patch(
        url, {"name": "Renamed"}, format="json", HTTP_IF_MATCH=f"{tag}, {colleague['ETag']}"
    )
    assert either.status_code == 200 and either.json()["name"] == "Renamed"
    assert (
        vendor.client.patch(url, {"amount": 1300}, format="json", HTTP_IF_MATCH="*").json()[
            "amount"
        ]
        == 1300
    )
    assert vendor.client.get(url)["ETag"] == vendor.client.patch(url, {}, format="json")["ETag"]


def test_terms_stored_before_the_hours_limits_still_work_and_only_new_terms_meet_them(
    vendor, agent, make_plan
):
    """1E+30 included hours were accepted once: such a plan still shows and is renamed; only
    terms given now are held to the limits."""
    plan = make_plan("metered", currency="USD", terms=GRADUATED)
    PricePlan.objects.filter(pk=plan.pk).update(terms={**GRADUATED, "included_hours": "1E+30"})
    url = f"{plans_url(agent.pk)}/{plan.pk}"
    assert vendor.client.get(url).json()["terms"]["included_hours"] == "1E+30"
    renamed = vendor.client.patch(url, {"name": "Hourly, renamed"}, format="json")
    assert renamed.status_code == 200, renamed.json()
    again = vendor.client.patch(url, {"terms": TOO_MANY_HOURS}, format="json")
    assert (again.status_code, again.json()["code"]) == (400, "invalid_price_terms")


def test_retired_plan_cannot_be_revised(vendor, agent, make_plan):
    plan = make_plan("free")
    retired = vendor.client.post(f"{plans_url(agent.pk)}/{plan.pk}/retire")
    assert retired.status_code == 200 and retired.json()["retired"] is True
    edit = vendor.client.patch(f"{plans_url(agent.pk)}/{plan.pk}", {"name": "x"}, format="json")
    assert (edit.status_code, edit.json()["code"]) == (409, "plan_retired")


def test_retiring_a_version_a_revision_replaced_is_refused_naming_the_one_on_offer(
    vendor, agent, make_plan, customer
):
    """The old id, kept by a client: 200 said retired while v2 stayed on sale."""
    plan = make_plan("one_time", currency="USD", amount=1000)
    EntitlementFactory(order__tenant=customer[1].tenant, order__plan=plan)
    url = f"{plans_url(agent.pk)}/{plan.pk}"
    revised = vendor.client.patch(url, {"amount": 1500}, format="json").json()
    refused = vendor.client.post(f"{url}/retire")
    assert (refused.status_code, refused.json()["code"]) == (409, "plan_retired")
    assert f"retire v2 (id {revised['id']}), the version on offer" in refused.json()["detail"]
    before = vendor.client.get(f"{plans_url(agent.pk)}/{revised['id']}")["ETag"]
    retired = vendor.client.post(f"{plans_url(agent.pk)}/{revised['id']}/retire")
    assert retired.status_code == 200 and retired.json()["retired"] is True
    assert retired["ETag"] != before  # the answer changed, and so did its tag
    again = vendor.client.post(f"{plans_url(agent.pk)}/{revised['id']}/retire")
    assert again.status_code == 200  # retiring it again changes nothing
    assert AuditEvent.objects.filter(action="price_plan_retired").count() == 1


def test_other_tenants_cannot_see_or_price_the_agent(agent, make_plan, member_client, make_vendor):
    plan = make_plan("free")
    rival = make_vendor(slug="rival")
    assert rival.client.get(plans_url(agent.pk)).status_code == 404
    assert (
        rival.client.patch(
            f"{plans_url(agent.pk)}/{plan.pk}", {"name": "x"}, format="json"
        ).status_code
        == 404
    )
    customer, _ = member_client("admin")
    assert customer.get(plans_url(agent.pk)).status_code == 403
    operator, _ = member_client("operator", tenant=agent.tenant)
    assert operator.get(plans_url(agent.pk)).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_revise_made_while_an_order_is_placed_waits_and_keeps_the_ordered_version(
    vendor, agent, make_plan, customer, monkeypatch
):
    """The order holds the plan's row until it is stored: the vendor's revise waits, then
    finds the plan held and makes a version 2. Unlocked, it found the plan not held yet and
    edited version 1 in place under the order being placed."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    plan = make_plan("free")
    checked, go = threading.Event(), threading.Event()
    real = orders._reject_own_agent

    def after_the_plan_is_read(tenant, bought):
        checked.set()
        go.wait(30)
        return real(tenant, bought)

    monkeypatch.setattr(orders, "_reject_own_agent", after_the_plan_is_read)
    answers = {}

    def order():
        answers["order"] = place_order(customer[0], agent, plan, "while-revised")
        connections.close_all()

    def revise():
        checked.wait(30)
        answers["revise"] = vendor.client.patch(
            f"{plans_url(agent.pk)}/{plan.pk}", {"name": "Renamed"}, format="json"
        )
        connections.close_all()

    threads = [threading.Thread(target=order), threading.Thread(target=revise)]
    for thread in threads:
        thread.start()
    try:
        wait_for_blocked_backend()  # the revise waits for the order's lock
    finally:
        go.set()
        for thread in threads:
            thread.join()

    assert answers["order"].status_code == 201
    assert answers["revise"].json()["version"] == 2
    plan.refresh_from_db()
    assert plan.name == "free plan"  # the version the order names is as it was bought


def test_a_one_time_price_below_the_card_minimum_says_so_and_the_minimum_is_taken(vendor, agent):
    def create(key: str, amount: int):
        body = {"key": key, "name": key, "kind": "one_time", "currency": "GBP", "amount": amount}
        return vendor.client.post(plans_url(agent.pk), body, format="json")

    refused = create("pennies", 29)
    assert refused.status_code == 400, refused.json()
    assert "below the card processor's minimum charge of 0.30 GBP" in refused.json()["detail"]
    assert create("thirty-pence", 30).status_code == 201


def test_a_one_time_price_stripe_cannot_charge_in_its_currency_is_refused(vendor, agent):
    """A seat is charged at checkout as it is priced, and Stripe charges the three-decimal
    currencies (KWD …) in steps of 0.010: 1.215 KWD could never be paid."""

    def create(key: str, amount: int):
        body = {"key": key, "name": key, "kind": "one_time", "currency": "KWD", "amount": amount}
        return vendor.client.post(plans_url(agent.pk), body, format="json")

    refused = create("odd-fils", 1215)
    assert refused.status_code == 400, refused.json()
    assert refused.json()["code"] == "invalid_price_terms"
    assert "KWD card charges are multiples of 0.010 KWD" in refused.json()["detail"]
    assert create("round-fils", 1210).status_code == 201


def test_a_one_time_price_above_the_largest_card_charge_is_refused(vendor, agent):
    """Stripe charges at most eight digits of minor units (999,999.99 EUR): a seat priced above
    it could never be paid at checkout."""

    def create(key: str, amount: int):
        body = {"key": key, "name": key, "kind": "one_time", "currency": "EUR", "amount": amount}
        return vendor.client.post(plans_url(agent.pk), body, format="json")

    refused = create("too-dear", 100_000_000)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_price_terms")
    assert refused.json()["field"] == "amount"
    assert "above the card processor's largest charge of 999999.99 EUR" in refused.json()["detail"]
    assert create("dearest", 99_999_999).status_code == 201


def test_a_buyer_pins_the_price_it_read_with_if_match(
    vendor, agent, make_plan, customer, stripe_on, django_capture_on_commit_callbacks
):
    """A plan nobody holds yet is edited in place under its id: the buyer sends the plan's
    ``etag`` it read in the catalogue as If-Match, and an order on terms changed since is
    refused (412 plan_changed) with nothing written, instead of charging the new price."""
    client, _ = customer
    plan = make_plan("one_time", currency="EUR", amount=1500)
    save_card(client)
    (listed,) = client.get(f"/api/v1/agents/{agent.pk}").json()["plans"]
    read = listed["etag"]
    url = f"{plans_url(agent.pk)}/{plan.pk}"
    assert vendor.client.get(url)["ETag"] == read  # the tag the vendor's API answers with
    with django_capture_on_commit_callbacks(execute=True):  # the catalogue's cache forgets
        vendor.client.patch(url, {"amount": 9_000_000}, format="json")

    body = {"agent": agent.pk, "plan": plan.pk, "seats": 1}
    stale = client.post(
        "/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="k1", HTTP_IF_MATCH=read
    )
    assert (stale.status_code, stale.json()["code"]) == (412, "plan_changed"), stale.json()
    assert_documented(stale, "POST /api/v1/orders")
    assert not Order.objects.exists()

    (now,) = client.get(f"/api/v1/agents/{agent.pk}").json()["plans"]
    placed = client.post(
        "/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="k2", HTTP_IF_MATCH=now["etag"]
    )
    assert placed.status_code == 201, placed.json()
    assert placed.json()["amount"] == 9_000_000
