"""A form the portal refuses for what one field holds (a plan key taken, a public key missing,
malformed or registered already, a member added twice) marks that field, in its own words,
what was typed kept; as ``unknown_user`` marks the team's email. Before, these refusals
showed over the form only: the actions raised them without naming their field."""

import re

import pytest
from playwright.sync_api import expect

from edgeplug import signing
from marketplace.plans import create_plan
from tests.browser.test_portal_refused_field_is_focused_and_described import refused_by_keyboard
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    MembershipFactory,
    UserFactory,
    VendorKeyFactory,
)

pytestmark = [pytest.mark.browser]


def expect_marked(page, label: str, code: str) -> None:
    expect(page.locator(".refusal")).to_contain_text(code)
    field = page.get_by_label(label, exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile(r"\bid_\w+_error\b"))


def test_a_taken_plan_key_marks_the_plan_key(journey, vendor_admin):
    agent = AgentFactory(tenant=vendor_admin.memberships.get().tenant, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    create_plan(agent, key="standard", name="Standard", kind="free", currency="", terms={})
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    path = f"/portal/agents/{agent.pk}/pricing/"
    journey.goto(path)
    journey.expect_status(409, path)
    page.get_by_label("Plan key").fill("standard")
    page.get_by_label("Plan name").fill("Pro")
    page.get_by_label("Kind").select_option("free")
    journey.click(page.get_by_role("button", name="Offer plan"))

    expect_marked(page, "Plan key", "plan_exists")
    expect(page.get_by_label("Plan key")).to_have_value("standard")
    expect(page.get_by_label("Plan name")).to_have_value("Pro")


@pytest.mark.parametrize(
    ("typed", "code"),
    [("   ", "public_key_required"), ("not-a-key", "malformed_key"), ("taken", "key_exists")],
)
def test_a_refused_public_key_marks_the_public_key(journey, vendor_admin, typed, code):
    tenant = vendor_admin.memberships.get().tenant
    if typed == "taken":
        keys = signing.generate_keypair()
        typed = signing.encode_b64(keys.public_key)
        VendorKeyFactory(tenant=tenant, key_id=signing.key_id(keys.public_key), public_key=typed)
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/keys/")
    journey.expect_status(400, "/portal/keys/")
    journey.expect_status(409, "/portal/keys/")
    page.get_by_label("Name").fill("laptop")
    page.get_by_label("Public key", exact=True).fill(typed)
    journey.click(page.get_by_role("button", name="Register key"))

    expect_marked(page, "Public key", code)
    expect(page.get_by_label("Name")).to_have_value("laptop")


def test_adding_a_member_twice_marks_the_email(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    MembershipFactory(tenant=tenant, user=UserFactory(email="grace@acme.example"), role="admin")
    journey.expect_status(409, "/portal/team/")

    page = refused_by_keyboard(
        journey, vendor_admin, "/portal/team/", "email", "grace@acme.example"
    )

    expect_marked(page, "Email of an existing EdgePlug account", "already_member")
    expect(page.get_by_label("Email of an existing EdgePlug account")).to_have_value(
        "grace@acme.example"
    )
