"""Changing a plan's name or price on the portal: in place while nobody holds it, as its next
version once someone does (the API's action), refused as the API refuses it, for publishers of
the plan's own vendor only."""

from decimal import Decimal

import pytest
from django.utils.html import escape

from edgeplug.audit.models import AuditEvent
from marketplace import pricing
from marketplace.models import Entitlement, PricePlan
from marketplace.plans import create_plan, retire_plan, revise_plan
from tests.factories import AgentFactory, EntitlementFactory

pytestmark = pytest.mark.django_db

GRADUATED = {
    "scheme": "graduated",
    "tiers": [
        {"up_to": "100", "unit_amount": 10, "flat_amount": 250},
        {"up_to": None, "unit_amount": 5},
    ],
    "included_hours": "10.5",
    "monthly_minimum": 1000,
    "flat_fee": 500,
}


@pytest.fixture
def vendor(portal_vendor):
    return portal_vendor("developer")


@pytest.fixture
def agent(vendor):
    return AgentFactory(tenant=vendor.tenant, name="pump-anomaly")


def _one_time(agent, **changes):
    plan = {"key": "once", "name": "Buy once", "kind": "one_time", "currency": "USD"}
    return create_plan(agent, **plan | {"amount": 4900} | changes)


def _metered(agent, terms=None):
    return create_plan(
        agent, key="hourly", name="Pay as you go", kind="metered", currency="USD", terms=terms
    )


def _url(plan) -> str:
    return f"/portal/agents/{plan.agent_id}/pricing/{plan.pk}/revise/"


def _held(plan):
    EntitlementFactory(order__plan=plan)
    return plan


def test_a_plan_nobody_holds_is_changed_in_place(vendor, agent):
    plan = _one_time(agent)
    page = vendor.client.get(_url(plan))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="Buy once"' in html and 'value="49.00"' in html
    assert "Nobody holds v1 yet: saving changes it in place." in html
    assert 'name="key"' not in html and 'name="kind"' not in html  # neither ever changes

    saved = vendor.client.post(
        _url(plan), {"name": "Buy once, keep it", "currency": "USD", "price": "59.00"}
    )
    assert saved["Location"] == f"/portal/agents/{agent.pk}/pricing/#plan-once"
    [revised] = PricePlan.objects.all()
    assert (revised.pk, revised.version, revised.name, revised.amount) == (
        plan.pk,
        1,
        "Buy once, keep it",
        5900,
    )
    assert AuditEvent.objects.filter(action="price_plan_edited").count() == 1
    pricing = vendor.client.get(saved["Location"]).content.decode()
    assert "Plan Buy once, keep it v1 is changed in place: nobody held it yet." in pricing
    assert "59.00 USD once, per seat" in pricing


def test_a_plan_someone_holds_becomes_its_next_version(vendor, agent):
    plan = _held(_metered(agent, terms={"scheme": "per_unit", "unit_amount": 50}))
    html = vendor.client.get(_url(plan)).content.decode()
    assert "Someone holds v1: saving offers v2 to new orders" in html
    assert "Save as v2" in html

    saved = vendor.client.post(
        _url(plan),
        {"name": "Pay as you go", "currency": "USD", "scheme": "per_unit", "unit_price": "0.75"},
    )
    assert saved.status_code == 302
    old, new = PricePlan.objects.order_by("version")
    assert (old.pk, old.terms["unit_amount"], old.is_current) == (plan.pk, 50, False)
    assert (new.version, new.terms["unit_amount"], new.is_current) == (2, 75, True)
    assert Entitlement.objects.get().plan_snapshot["terms"]["unit_amount"] == 50
    assert AuditEvent.objects.filter(action="price_plan_revised").count() == 1
    pricing = vendor.client.get(saved["Location"]).content.decode()
    assert "Plan Pay as you go is v2 for new orders; those who hold v1 keep its terms." in pricing
    assert "hourly v2" in pricing and "0.75 USD per agent-hour" in pricing
    assert _url(new) in pricing and _url(old) not in pricing


PLANS = {
    "free": {"kind": "free"},
    "one time JPY": {"kind": "one_time", "currency": "JPY", "amount": 4900},
    "one time KWD": {"kind": "one_time", "currency": "KWD", "amount": 1250},
    "per unit": {
        "kind": "metered",
        "currency": "EUR",
        "terms": {"scheme": "per_unit", "unit_amount": 7},
    },
    "graduated": {"kind": "metered", "currency": "USD", "terms": GRADUATED},
    "volume": {"kind": "metered", "currency": "USD", "terms": GRADUATED | {"scheme": "volume"}},
    "package": {
        "kind": "metered",
        "currency": "USD",
        "terms": {"scheme": "package", "package_size": 50, "package_amount": 400, "flat_fee": 99},
    },
}


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS.keys())
def test_the_form_shows_the_plan_as_it_is_and_saving_it_as_shown_changes_nothing(
    vendor, agent, plan
):
    plan = create_plan(agent, key="plan", name="The plan", **plan)
    shown = vendor.client.get(_url(plan)).context["form"]
    typed = {name: shown[name].value() for name in shown.fields}
    typed = {name: value for name, value in typed.items() if value is not None}
    saved = vendor.client.post(_url(plan), typed)
    assert saved.status_code == 302, saved.content.decode()[-1500:]
    [unchanged] = PricePlan.objects.all()
    assert (unchanged.amount, unchanged.terms, unchanged.version) == (
        plan.amount,
        plan.terms,
        1,
    )
    assert (
        not AuditEvent.objects.filter(action__startswith="price_plan_")
        .exclude(action="price_plan_created")
        .exists()
    )
    page = vendor.client.get(saved["Location"]).content.decode()
    assert "Plan The plan v1 is unchanged: nothing to save." in page


def test_a_free_plan_shows_only_its_name(vendor, agent):
    plan = create_plan(agent, key="trial", name="Trial", kind="free")
    form = vendor.client.get(_url(plan)).context["form"]
    assert [field.name for field in form.visible_fields()] == ["name"]
    vendor.client.post(_url(plan), {"name": "Try it"})
    plan.refresh_from_db()
    assert (plan.name, plan.currency, plan.amount, plan.terms) == ("Try it", "", 0, {})


REFUSED = {
    "blank name": ({"name": "  "}, 400, "This field is required."),
    "control character": ({"name": "Buy\x1bonce"}, 400, "invalid_plan_name"),
    "below the card minimum": ({"price": "0.10"}, 400, "invalid_price_terms"),
    "too many decimals": ({"price": "49.001"}, 400, "The price has more decimals than USD"),
    "unknown currency": ({"currency": "XYZ"}, 400, "Unknown currency"),
}


@pytest.mark.parametrize(("changes", "status", "said"), REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_change_is_explained_on_the_form_as_typed(vendor, agent, changes, status, said):
    plan = _one_time(agent)
    typed = {"name": "Buy once, keep it", "currency": "USD", "price": "59.00"} | changes
    response = vendor.client.post(_url(plan), typed)
    html = response.content.decode()
    assert response.status_code == status, html[-1500:]
    assert escape(said) in html
    for value in typed.values():
        if value.strip() and "\x1b" not in value:
            assert f'value="{escape(value)}"' in html
    plan.refresh_from_db()
    assert (plan.name, plan.amount, PricePlan.objects.count()) == ("Buy once", 4900, 1)


def test_a_metered_plan_of_another_schemes_prices_is_refused(vendor, agent):
    plan = _metered(agent, terms={"scheme": "per_unit", "unit_amount": 50})
    typed = {"name": "Pay as you go", "currency": "USD", "scheme": "per_unit"}
    response = vendor.client.post(_url(plan), typed | {"unit_price": "0.50", "tiers": "* at 0.05"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "invalid_price_terms" in html and escape("does not take ['tiers']") in html
    assert "* at 0.05</textarea>" in html
    plan.refresh_from_db()
    assert plan.terms["unit_amount"] == 50


def test_a_retired_plan_is_not_offered_for_change(vendor, agent):
    plan = retire_plan(_one_time(agent))
    pricing = vendor.client.get(f"/portal/agents/{agent.pk}/pricing/").content.decode()
    assert "Change name or price" not in pricing
    page = vendor.client.get(_url(plan))
    html = page.content.decode()
    assert page.status_code == 409 and "plan_retired" in html
    assert 'name="price"' not in html
    posted = vendor.client.post(_url(plan), {"name": "Again", "currency": "USD", "price": "59"})
    assert posted.status_code == 409 and "plan_retired" in posted.content.decode()
    plan.refresh_from_db()
    assert (plan.name, plan.amount) == ("Buy once", 4900)


def test_a_version_a_revision_replaced_is_not_offered_for_change(vendor, agent):
    old = _held(_one_time(agent))
    revise_plan(old, amount=5900)
    old.refresh_from_db()
    posted = vendor.client.post(_url(old), {"name": "Again", "currency": "USD", "price": "69"})
    assert posted.status_code == 409 and "plan_retired" in posted.content.decode()
    assert sorted(PricePlan.objects.values_list("amount", flat=True)) == [4900, 5900]


@pytest.mark.parametrize("role", ["operator", "billing"])
def test_only_admins_and_developers_change_a_plan(portal_vendor, role):
    member = portal_vendor(role)
    plan = _one_time(AgentFactory(tenant=member.tenant))
    assert member.client.get(_url(plan)).status_code == 403
    typed = {"name": "Cheap", "currency": "USD", "price": "1.00"}
    assert member.client.post(_url(plan), typed).status_code == 403
    plan.refresh_from_db()
    assert plan.amount == 4900


def test_an_admin_changes_a_plan(portal_vendor):
    admin = portal_vendor("admin")
    plan = _one_time(AgentFactory(tenant=admin.tenant))
    typed = {"name": "Buy once", "currency": "USD", "price": "39.00"}
    assert admin.client.post(_url(plan), typed).status_code == 302
    plan.refresh_from_db()
    assert plan.amount == 3900


def test_another_vendors_plan_or_another_agents_is_not_found(vendor, agent, portal_vendor):
    rival = portal_vendor("developer", slug="rival-robotics")
    theirs = _one_time(AgentFactory(tenant=rival.tenant))
    mine = _one_time(agent)
    other_agent = AgentFactory(tenant=vendor.tenant)
    typed = {"name": "Mine now", "currency": "USD", "price": "1.00"}
    for path in (
        _url(theirs),
        f"/portal/agents/{theirs.agent_id}/pricing/{mine.pk}/revise/",
        f"/portal/agents/{agent.pk}/pricing/{theirs.pk}/revise/",
        f"/portal/agents/{other_agent.pk}/pricing/{mine.pk}/revise/",
    ):
        assert vendor.client.get(path).status_code == 404, path
        assert vendor.client.post(path, typed).status_code == 404, path
    assert set(PricePlan.objects.values_list("name", "amount")) == {("Buy once", 4900)}


def test_hours_retyped_with_trailing_zeros_are_the_same_price(vendor, agent):
    """``10.0`` for ``10`` hours was stored as typed, so a held plan saved with the same
    prices became v2 ("those who hold v1 keep its terms") for a price nobody changed."""
    plan = _held(_metered(agent, GRADUATED))
    shown = vendor.client.get(_url(plan)).context["form"]
    typed = {name: shown[name].value() for name in shown.fields if shown[name].value() is not None}
    typed["included_hours"] = "10.50"
    typed["tiers"] = typed["tiers"].replace("100 at", "100.000 at")
    saved = vendor.client.post(_url(plan), typed)
    assert saved.status_code == 302, saved.content.decode()[-1500:]
    assert PricePlan.objects.count() == 1
    assert "is unchanged: nothing to save." in vendor.client.get(saved["Location"]).content.decode()


def test_terms_stored_before_hours_were_written_plainly_are_unchanged_when_nothing_is(agent):
    """A plan stored with ``10.50`` hours (before hours were stored plainly) saved with the
    same name and price, its terms as stored, is not a new version."""
    plan = _held(_metered(agent, GRADUATED))
    stored = plan.terms | {"included_hours": "10.50"}
    PricePlan.objects.filter(pk=plan.pk).update(terms=stored)
    plan.refresh_from_db()
    assert revise_plan(plan, name=plan.name).pk == plan.pk
    assert revise_plan(plan, terms=stored).pk == plan.pk
    assert PricePlan.objects.count() == 1


def test_a_plan_priced_before_the_card_rule_can_be_revised_to_a_chargeable_price(agent):
    """The revision compared against the stored price in checked form, so a price the card
    rule refuses now (stored before it) refused its own way out (found by a review)."""
    plan = _held(_one_time(agent))
    PricePlan.objects.filter(pk=plan.pk).update(amount=10)  # 0.10 USD, stored before the rule
    plan.refresh_from_db()
    revised = revise_plan(plan, amount=4900)
    assert (revised.amount, revised.version) == (4900, 2)


def test_hours_stored_before_the_limits_keep_every_digit(agent):
    """Hours were written plainly through normalize() in the default 28-digit context, which
    rounded hours stored before the limits (found by a review)."""
    hours = "0.10000000000000000000000000000001"
    plan = _held(_metered(agent, {"scheme": "per_unit", "unit_amount": 10}))
    PricePlan.objects.filter(pk=plan.pk).update(terms=plan.terms | {"included_hours": hours})
    plan.refresh_from_db()
    revised = revise_plan(plan, name="Renamed")
    assert (revised.version, revised.terms["included_hours"]) == (2, hours)
    for number in (hours, "12345678901234567890123456789.5", "10.50", "0", "1E+2"):
        assert Decimal(pricing.plain_number(number)) == Decimal(number), number


def test_a_change_in_place_on_the_portal_records_the_old_and_new_price(vendor, agent):
    """The row keeps only the new price: the audit event says what it was."""
    plan = _one_time(agent)
    saved = vendor.client.post(
        _url(plan), {"name": "Buy once", "currency": "USD", "price": "59.00"}
    )
    assert saved.status_code == 302
    event = AuditEvent.objects.get(action="price_plan_edited")
    assert event.details["fields"] == {"amount": {"from": 4900, "to": 5900}}
