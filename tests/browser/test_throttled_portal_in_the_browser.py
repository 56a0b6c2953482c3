"""A vendor past the request budget in Chromium: the upload form says `throttled` and when to
retry, a plain form answers with a page that says so, and reading pages still works."""

import pytest

from edgeplug import signing
from marketplace.models import AgentVersion, VendorKey
from tests.browser.test_vendor_portal_journey import _files, portal_sign_in
from tests.vendors import package

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_throttled_vendor_is_told_to_wait_and_nothing_changes(journey, vendor_admin, settings):
    tenant = vendor_admin.memberships.get().tenant
    keys = signing.generate_keypair()
    VendorKey.objects.create(
        tenant=tenant,
        key_id=signing.key_id(keys.public_key),
        public_key=signing.encode_b64(keys.public_key),
        name="laptop",
    )
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "user": "1/min"},
    }

    # The one change the budget allows.
    journey.click(page.get_by_role("link", name="Signing keys"))
    page.get_by_label("Name").fill("ci")
    second = signing.generate_keypair()
    page.get_by_label("Public key", exact=True).fill(signing.encode_b64(second.public_key))
    journey.click(page.get_by_role("button", name="Register key"))
    assert f"Key “ci” ({second.key_id}) is registered." in page.locator(".messages").inner_text()

    # The upload script shows the refusal like any other.
    journey.click(page.get_by_role("link", name="Upload"))
    journey.expect_status(429, "/portal/upload/")
    data = package()
    _files(page, data, signing.encode_b64(signing.sign_package(keys.private_key, data)).encode())
    page.get_by_role("button", name="Upload").click()
    refusal = page.locator("#refusal .refusal")
    refusal.wait_for()
    assert refusal.locator(".code").inner_text() == "throttled"
    assert "try again in" in refusal.locator(".detail").inner_text()
    journey.check()
    assert not AgentVersion.objects.exists()

    # A plain form answers with a page in the portal's frame, and the pages still read.
    journey.goto("/portal/keys/")
    journey.expect_status(429, "/portal/keys/")
    third = signing.generate_keypair()
    page.get_by_label("Public key", exact=True).fill(signing.encode_b64(third.public_key))
    journey.click(page.get_by_role("button", name="Register key"))
    assert page.get_by_role("heading", name="Too many requests").is_visible()
    assert "Nothing was changed." in page.get_by_role("alert").inner_text()
    assert not VendorKey.objects.filter(key_id=third.key_id).exists()
    journey.click(page.get_by_role("link", name="Back to the portal"))
    assert page.url == journey.base_url + "/portal/"
