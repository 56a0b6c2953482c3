"""Every refused order says why with its own code, and writes nothing."""

from functools import partial

import pytest
from django.utils import timezone

from edgeplug.tenancy.models import Role
from marketplace.models import Agent, AgentVersion, Entitlement, Order, PricePlan
from tests.commerce.conftest import place_order

pytestmark = pytest.mark.django_db


order = partial(place_order, key="key-1")


def assert_refused(response, status, code):
    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert not Order.objects.exists()
    assert not Entitlement.objects.exists()


def test_unknown_plan(customer, agent):
    assert_refused(order(customer[0], agent, 999999), 400, "unknown_plan")


def test_retired_plan(customer, agent, make_plan):
    plan = make_plan("free")
    plan.retired_at = timezone.now()
    plan.save()
    assert_refused(order(customer[0], agent, plan.pk), 409, "plan_retired")


def test_superseded_plan_version_names_the_version_on_offer(customer, agent, make_plan):
    """It said only 'Plan free-plan v1 is no longer offered.': the customer had to read the
    agent again and pick the plan out by its key."""
    plan = make_plan("free")
    PricePlan.objects.filter(pk=plan.pk).update(is_current=False)
    newer = PricePlan.objects.create(
        agent=agent, tenant=agent.tenant, key=plan.key, name=plan.name, kind="free", version=2
    )
    response = order(customer[0], agent, plan.pk)
    assert_refused(response, 409, "plan_retired")
    assert response.json()["detail"] == (
        f"Plan free-plan v1 was replaced by a revision: v2 (id {newer.pk}) is on offer."
    )


def test_plan_of_another_agent(customer, agent, make_plan, vendor):
    from tests.commerce.conftest import publish
    from tests.vendors import package

    other = vendor.upload(package("1.0.0", name="valve-guard")).json()
    publish(AgentVersion.objects.get(pk=other["version"]["id"]))
    plan = make_plan("free")
    assert_refused(order(customer[0], other["agent"]["id"], plan.pk), 400, "plan_mismatch")


def test_buying_your_own_agent(vendor, agent, make_plan, member_client):
    plan = make_plan("free")
    agent.tenant.is_customer = True
    agent.tenant.save()
    own, _ = member_client("admin", tenant=agent.tenant)
    assert_refused(order(own, agent, plan.pk), 400, "own_agent")


def test_agent_without_public_version(customer, agent, make_plan, published):
    plan = make_plan("free")
    AgentVersion.objects.filter(pk=published.pk).update(yanked_at=timezone.now())
    assert_refused(order(customer[0], agent, plan.pk), 400, "not_available")


def test_paid_plan_without_payments_configured(settings, customer, agent, make_plan):
    settings.STRIPE_API_KEY = ""
    plan = make_plan("one_time", currency="USD", amount=1000)
    assert_refused(order(customer[0], agent, plan.pk), 503, "payments_not_configured")
    metered = make_plan(
        "metered", key="hourly", currency="USD", terms={"scheme": "per_unit", "unit_amount": 5}
    )
    assert_refused(order(customer[0], agent, metered.pk, key="k2"), 503, "payments_not_configured")
    free = make_plan("free")
    assert order(customer[0], agent, free.pk, key="k3").status_code == 201


def test_paid_plan_without_a_saved_card(settings, customer, agent, make_plan):
    settings.STRIPE_API_KEY = "sk_test_unused"
    plan = make_plan("metered", currency="USD", terms={"scheme": "per_unit", "unit_amount": 5})
    assert_refused(order(customer[0], agent, plan.pk), 402, "payment_method_required")


def test_missing_idempotency_key(customer, agent, make_plan):
    plan = make_plan("free")
    response = customer[0].post(
        "/api/v1/orders", {"agent": agent.pk, "plan": plan.pk}, format="json"
    )
    assert_refused(response, 400, "idempotency_key_required")


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("k" * 256, "is 256 characters long"),
        ("caf\u00e9-1", "holds 'é', which is not a printable ASCII character"),
    ],
    ids=["too_long", "not_ascii"],
)
def test_a_malformed_idempotency_key_is_told_as_such(customer, agent, make_plan, key, said):
    """It was told as a missing one (idempotency_key_required), though it was sent."""
    plan = make_plan("free")
    response = place_order(customer[0], agent, plan.pk, key=key)
    assert_refused(response, 400, "invalid_idempotency_key")
    assert said in response.json()["detail"]


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.OPERATOR])
def test_only_admins_and_billing_may_order(member_client, agent, make_plan, role):
    plan = make_plan("free")
    client, _ = member_client(role)
    assert_refused(order(client, agent, plan.pk), 403, "permission_denied")


def test_vendor_only_tenant_cannot_buy(make_vendor, agent, make_plan):
    plan = make_plan("free")
    rival = make_vendor(slug="rival", role="admin")
    assert_refused(order(rival.client, agent, plan.pk), 403, "not_a_customer")


def test_a_plan_of_an_agent_never_released_is_unknown(customer, make_plan, vendor):
    """Another vendor's agent nobody may see yet: its plan is unknown, whatever agent id the
    order names (the refusals said plan_mismatch, then not_available with the agent's name,
    so plan ids could be walked and unreleased agents read out)."""
    from tests.vendors import package

    unreleased = Agent.objects.get(
        pk=vendor.upload(package("1.0.0", name="valve-guard")).json()["agent"]["id"]
    )
    plan = make_plan("free", target=unreleased)

    for agent_id in (unreleased.pk, unreleased.pk + 1000):
        response = order(customer[0], agent_id, plan.pk)
        assert_refused(response, 400, "unknown_plan")
        assert unreleased.name not in response.json()["detail"]
