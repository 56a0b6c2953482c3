"""A vendor revokes a key that has no name, then tries to register it again, in Chromium:
the confirmation names the key by its id (its heading was "Revoke key " and nothing), the
page after says it is revoked, and registering it again says it was revoked and what to do
(it said only that the key was already registered)."""

import pytest
from playwright.sync_api import expect

from edgeplug import signing
from marketplace.models import VendorKey
from marketplace.services import register_key
from tests.browser.test_vendor_portal_journey import portal_sign_in

pytestmark = [pytest.mark.browser]


def test_revoke_an_unnamed_key_then_register_it_again(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    keys = signing.generate_keypair()
    public = signing.encode_b64(keys.public_key)
    register_key(tenant, public)
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/keys/")
    journey.click(page.get_by_role("link", name=f"Revoke {keys.key_id}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Revoke key {keys.key_id}")
    journey.click(page.get_by_role("button", name="Yes, revoke this key"))
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text("is revoked")
    page.go_back()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Key {keys.key_id} is revoked")

    journey.goto("/portal/keys/")
    journey.expect_status(409, "/portal/keys/")
    page.get_by_label("Public key", exact=True).fill(public)
    journey.click(page.get_by_role("button", name="Register key"))
    expect(page.locator(".refusal")).to_contain_text("key_exists")
    expect(page.locator(".refusal")).to_contain_text(f"Key {keys.key_id} was revoked on")
    expect(page.locator(".refusal")).to_contain_text("edgeplug keygen")
    assert VendorKey.objects.get(tenant=tenant, key_id=keys.key_id).revoked_at is not None
