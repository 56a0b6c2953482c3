"""The portal's 404, refusal and stale-form pages, in its frame with the signed-in member's
email, vendor and role in the header, are never stored (``Cache-Control: no-store``), as every
page ``vendor_page`` answers is. A 404 raised inside a page, or one the URLs raise before it
ran, escaped its ``never_cache`` and was sent with no Cache-Control at all."""

import pytest
from django.test import Client

from tests.factories import AgentFactory, VendorTenantFactory

pytestmark = pytest.mark.django_db


def _never_stored_and_shows_member(response, vendor) -> None:
    assert vendor.user.email in response.content.decode()
    assert "no-store" in response.get("Cache-Control", ""), dict(response.headers)
    assert "private" in response["Cache-Control"]


def test_another_vendors_agent_page_404_is_never_stored(portal_vendor):
    vendor = portal_vendor("admin")
    other = AgentFactory(tenant=VendorTenantFactory(slug="someone-else"))
    response = vendor.client.get(f"/portal/agents/{other.pk}/")
    assert response.status_code == 404
    _never_stored_and_shows_member(response, vendor)


def test_an_unknown_portal_address_404_is_never_stored(portal_vendor):
    vendor = portal_vendor("admin")
    response = vendor.client.get("/portal/no-such-page/")
    assert response.status_code == 404
    _never_stored_and_shows_member(response, vendor)


def test_a_nul_refusal_page_is_never_stored(portal_vendor):
    vendor = portal_vendor("admin")
    response = vendor.client.get("/portal/keys/?x=%00")
    assert response.status_code == 400
    _never_stored_and_shows_member(response, vendor)


def test_a_stale_form_page_is_never_stored(portal_vendor):
    vendor = portal_vendor("admin")
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = vendor.client.cookies
    response = browser.post("/portal/keys/", {"name": "a key"})
    assert response.status_code == 403
    assert "csrf_failed" in response.content.decode()
    _never_stored_and_shows_member(response, vendor)
