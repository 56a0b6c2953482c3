"""A workflow package saved by Windows Notepad (UTF-8 with a byte order mark), uploaded on the
Workflows page in Chromium, is accepted; before, it was refused as malformed_json with
Python's advice to "decode using utf-8-sig"."""

import json

import pytest
from playwright.sync_api import expect

from edgeplug import signing
from marketplace.models import WorkflowPackage
from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import AgentVersionFactory, VendorKeyFactory

pytestmark = [pytest.mark.browser]


def test_a_workflow_package_saved_by_notepad_uploads(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    keys = signing.generate_keypair()
    key = VendorKeyFactory(
        tenant=tenant,
        key_id=signing.key_id(keys.public_key),
        public_key=signing.encode_b64(keys.public_key),
    )
    AgentVersionFactory(agent__tenant=tenant, agent__name="pump", version="1.0.0")
    document = {
        "name": "bottling-line",
        "version": "1.0.0",
        "content": {"steps": [{"agent": f"{tenant.slug}/pump", "version": ">=1.0.0"}]},
    }
    signature = signing.encode_b64(signing.sign_document(keys.private_key, document))
    saved = json.dumps({**document, "signature": signature, "key_id": key.key_id}, indent=2)

    page = journey.page
    portal_sign_in(journey, vendor_admin)
    journey.goto("/portal/workflows/")
    page.get_by_label("Workflow package (.wpk.json)").set_input_files(
        files=[
            {
                "name": "line.wpk.json",
                "mimeType": "application/json",
                "buffer": b"\xef\xbb\xbf" + saved.replace("\n", "\r\n").encode(),
            }
        ]
    )
    journey.click(page.get_by_role("button", name="Upload workflow package"))

    expect(page.get_by_role("heading", level=1)).to_contain_text("bottling-line")
    assert WorkflowPackage.objects.filter(tenant=tenant, name="bottling-line").exists()
