"""The portal shows each member links only to the pages their role and their tenant let them
open (the powers the pages check): the nav, the agent page's pricing and reviews links, the
pricing page's change links, the reviews page's reply forms, the dashboard's first steps.
Every link shown opens."""

import re

import pytest

from marketplace.plans import create_plan, retire_plan
from tests.factories import AgentVersionFactory, ReviewFactory

pytestmark = pytest.mark.django_db

VENDOR_NAV = {
    "admin": ["Dashboard", "Upload", "Signing keys", "Workflows", "Sales", "Team"],
    "developer": ["Dashboard", "Upload", "Signing keys", "Workflows"],
    "operator": ["Dashboard", "Workflows"],
    "billing": ["Dashboard", "Workflows", "Sales"],
}
# A former vendor keeps its payouts and its team, and its admins and developers the pages to
# take back what it still sells (its agents, keys and plans); nothing else of a vendor's.
FORMER_VENDOR_NAV = {
    "admin": ["Dashboard", "Signing keys", "Workflows", "Sales", "Team"],
    "developer": ["Dashboard", "Signing keys", "Workflows"],
    "operator": [],
    "billing": ["Sales"],
}


def _nav(html: str) -> list[str]:
    (nav,) = re.findall(r'<nav aria-label="Portal">(.*?)</nav>', html, re.S)
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


def _portal_links(html: str) -> set[str]:
    return {href for href in re.findall(r'href="([^"]+)"', html) if href.startswith("/portal/")}


def _assert_every_link_opens(client, html: str) -> None:
    for link in _portal_links(html):
        assert client.get(link).status_code == 200, link


def _check_nav(vendor, expected: list[str]) -> None:
    """From the password page, which every member may open: the nav holds ``expected``, and
    every link in the page (the nav, the brand, the password link) opens."""
    page = vendor.client.get("/portal/password/")
    assert page.status_code == 200
    html = page.content.decode()
    assert _nav(html) == expected
    _assert_every_link_opens(vendor.client, html)


@pytest.mark.parametrize("role", VENDOR_NAV)
def test_a_vendors_member_sees_in_the_nav_only_the_pages_their_role_opens(portal_vendor, role):
    _check_nav(portal_vendor(role), VENDOR_NAV[role])


@pytest.mark.parametrize("role", FORMER_VENDOR_NAV)
def test_a_former_vendors_member_sees_in_the_nav_only_the_pages_left_to_them(
    portal_vendor, former_vendor, role
):
    _check_nav(portal_vendor(role=role, tenant=former_vendor), FORMER_VENDOR_NAV[role])


# The roles that publish: set prices, reply to reviews.
PUBLISHERS = ("admin", "developer")


def _offers(client, url: str, marker: str) -> bool:
    """Whether the page at ``url`` holds ``marker`` (a link, a form); every link it has opens."""
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    _assert_every_link_opens(client, html)
    return marker in html


@pytest.mark.parametrize("role", VENDOR_NAV)
def test_the_agent_page_links_to_pricing_only_those_who_set_prices(portal_vendor, role):
    vendor = portal_vendor(role)
    version = AgentVersionFactory(agent__tenant=vendor.tenant)
    offered = _offers(vendor.client, f"/portal/agents/{version.agent_id}/", "Pricing and plans")
    assert offered is (role in PUBLISHERS)


@pytest.mark.parametrize("role", PUBLISHERS)
def test_the_pricing_page_links_to_changing_only_the_plans_on_offer(portal_vendor, role):
    """Those who open the pricing page may change or retire a plan: each plan on offer links
    to both (and they open), a retired one does not."""
    vendor = portal_vendor(role)
    agent = AgentVersionFactory(agent__tenant=vendor.tenant).agent
    offered = create_plan(agent, key="trial", name="Trial", kind="free")
    retired = retire_plan(create_plan(agent, key="old", name="Old", kind="free"))
    pricing = f"/portal/agents/{agent.pk}/pricing/"
    assert _offers(vendor.client, pricing, f'href="{pricing}{offered.pk}/revise/"')
    assert not _offers(vendor.client, pricing, f'href="{pricing}{retired.pk}/revise/"')
    assert _offers(vendor.client, pricing, f'href="{pricing}{offered.pk}/retire/"')
    assert not _offers(vendor.client, pricing, f'href="{pricing}{retired.pk}/retire/"')


@pytest.mark.parametrize("role", VENDOR_NAV)
def test_the_agent_page_links_every_member_to_its_reviews(portal_vendor, role):
    vendor = portal_vendor(role)
    review = ReviewFactory(agent__tenant=vendor.tenant)
    html = vendor.client.get(f"/portal/agents/{review.agent_id}/").content.decode()
    assert f'href="/portal/agents/{review.agent_id}/reviews/"' in html


@pytest.mark.parametrize("role", VENDOR_NAV)
def test_the_reviews_page_offers_a_reply_only_to_those_who_may_reply(portal_vendor, role):
    vendor = portal_vendor(role)
    review = ReviewFactory(agent__tenant=vendor.tenant)
    reply = f'action="/portal/agents/{review.agent_id}/reviews/{review.pk}/reply/"'
    offered = _offers(vendor.client, f"/portal/agents/{review.agent_id}/reviews/", reply)
    assert offered is (role in PUBLISHERS)


@pytest.mark.parametrize("role", VENDOR_NAV)
def test_the_empty_dashboard_offers_keys_and_upload_only_to_those_who_publish(portal_vendor, role):
    vendor = portal_vendor(role)
    page = vendor.client.get("/portal/")
    html = page.content.decode()
    assert "No agents yet" in html
    assert ("Register a signing key" in html) is (role in ("admin", "developer"))
    _assert_every_link_opens(vendor.client, html)


@pytest.mark.parametrize("role", ["admin", "billing"])
def test_a_former_vendors_sales_page_links_only_where_it_may_go(portal_vendor, former_vendor, role):
    """The sales table linked each agent to its page (403 not_a_vendor)."""
    vendor = portal_vendor(role=role, tenant=former_vendor)
    sales = vendor.client.get("/portal/sales/")
    html = sales.content.decode()
    assert sales.status_code == 200 and "pump-anomaly" in html
    _assert_every_link_opens(vendor.client, html)
