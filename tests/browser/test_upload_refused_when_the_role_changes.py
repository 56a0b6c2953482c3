"""A vendor admin has the Upload page open when another admin makes them a billing member:
the upload's script showed only "error: The upload was refused.", as it read the refusal's
JSON ({code, detail}) and got the 403 page. It shows the refusal's code and why, as it shows
every other refusal."""

import pytest
from playwright.sync_api import expect

from edgeplug import signing
from edgeplug.tenancy.models import Membership
from marketplace.models import AgentVersion
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import MembershipFactory, UserFactory, VendorKeyFactory
from tests.vendors import package

pytestmark = [pytest.mark.browser]


def test_an_upload_refused_for_the_role_says_why(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    keys = signing.generate_keypair()
    VendorKeyFactory(tenant=tenant, public_key=signing.encode_b64(keys.public_key), name="laptop")
    MembershipFactory(tenant=tenant, role="admin", user=UserFactory())  # the other admin
    data = package(vendor=tenant.slug)
    signature = signing.encode_b64(signing.sign_package(keys.private_key, data)).encode()
    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/upload/")
    journey.expect_status(403, "/portal/upload/")

    Membership.objects.filter(user=vendor_admin, tenant=tenant).update(role="billing")
    page.get_by_label("Agent package (.epk)").set_input_files(
        files=[{"name": "agent.epk", "mimeType": "application/octet-stream", "buffer": data}]
    )
    page.get_by_label("Signature (.sig)").set_input_files(
        files=[{"name": "agent.epk.sig", "mimeType": "text/plain", "buffer": signature}]
    )
    page.get_by_role("button", name="Upload").click()

    refusal = page.locator("#refusal .refusal")
    expect(refusal).to_be_focused()
    expect(refusal.locator(".code")).to_have_text("permission_denied")
    expect(refusal.locator(".detail")).to_have_text(
        "This page is for Admin and Developer (may upload and sign) members; you are Billing "
        "(invoices)."
    )
    expect(page.locator("#upload-progress")).to_be_hidden()
    assert not AgentVersion.objects.exists()
    journey.check()
