"""A portal link opened signed out comes back whole after the sign-in, in Chromium: a pricing
quote a colleague sent (``?plan=…&hours=150``) lands on the quote. Before, the ``next`` URL
was not encoded, so everything after its first ``&`` was lost (``hours`` dropped, no quote)."""

import pytest

from marketplace.plans import create_plan
from tests.conftest import totp_now
from tests.factories import PASSWORD, AgentFactory, AgentVersionFactory

pytestmark = [pytest.mark.browser]


def test_a_deep_link_keeps_its_query_string_through_the_sign_in(journey, vendor_admin):
    agent = AgentFactory(tenant=vendor_admin.memberships.get().tenant, name="pump-anomaly")
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    plan = create_plan(
        agent,
        key="m",
        name="Metered",
        kind="metered",
        currency="USD",
        terms={"scheme": "per_unit", "unit_amount": 10},
    )
    deep = f"/portal/agents/{agent.pk}/pricing/?plan={plan.pk}&hours=150"
    page = journey.page

    journey.goto(deep)
    assert page.locator("input[name=next]").input_value() == deep
    page.get_by_label("Email").fill(vendor_admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authentication code").fill(totp_now(vendor_admin.device))
    journey.click(page.get_by_role("button", name="Sign in"))

    assert page.url.endswith(deep)
    assert page.locator("#quote-total").inner_text().strip()  # 150 h quoted


def test_a_deep_link_survives_the_first_sign_in_through_enrolment(journey, vendor_admin):
    """A vendor admin without an authenticator yet opens a link a colleague sent: sign-in,
    the enrolment it leads to, then the page of the link. Before, the enrolment ended on the
    dashboard."""
    vendor_admin.device.delete()
    deep = "/portal/keys/?from=mail"
    page = journey.page

    journey.goto(deep)
    device = journey.start_enrolment(vendor_admin)
    page.get_by_label("Code from your authenticator app").fill(totp_now(device))
    journey.click(page.get_by_role("button", name="Confirm"))

    assert page.url == journey.base_url + deep
    assert page.get_by_role("heading", level=1).inner_text() == "Signing keys"
