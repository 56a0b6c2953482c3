"""Workflow packages in the portal: upload a signed WPK document, follow its review."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from edgeplug import signing
from marketplace.models import WorkflowPackage
from tests.factories import AgentVersionFactory

pytestmark = pytest.mark.django_db


def _document(vendor, version="1.0.0", name="bottling-line", **changes):
    content = {"steps": [{"agent": f"{vendor.tenant.slug}/pump", "version": ">=1.0.0"}]}
    document = {"name": name, "version": version, "content": content}
    signature = signing.sign_document(vendor.keys.private_key, document)
    return {
        **document,
        "signature": signing.encode_b64(signature),
        "key_id": vendor.key.key_id,
        **changes,
    }


def _upload(vendor, document):
    data = json.dumps(document).encode() if isinstance(document, dict) else document
    return vendor.client.post(
        "/portal/workflows/", {"document": SimpleUploadedFile("line.wpk.json", data)}
    )


def test_upload_then_follow_the_review(portal_vendor):
    vendor = portal_vendor("developer")
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    response = _upload(vendor, _document(vendor))
    wpk = WorkflowPackage.objects.get()
    assert response["Location"] == f"/portal/workflows/{wpk.pk}/"
    page = vendor.client.get(response["Location"]).content.decode()
    assert "pending" in page
    assert f"{vendor.tenant.slug}/pump &gt;=1.0.0" in page  # no certified version yet

    wpk.status, wpk.review_reason, wpk.reviewed_at = "rejected", "step 2 is unsafe", timezone.now()
    wpk.save()
    page = vendor.client.get(f"/portal/workflows/{wpk.pk}/").content.decode()
    assert "rejected" in page and "step 2 is unsafe" in page
    listing = vendor.client.get("/portal/workflows/").content.decode()
    assert "bottling-line" in listing


def test_a_document_saved_with_a_byte_order_mark_uploads(portal_vendor):
    """Windows Notepad saves "UTF-8" with a byte order mark; it is not part of the document (the
    signature covers its canonical JSON). It was refused as malformed_json, with Python's
    advice to "decode using utf-8-sig"."""
    vendor = portal_vendor("developer")
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    response = _upload(vendor, b"\xef\xbb\xbf" + json.dumps(_document(vendor)).encode())
    assert response.status_code == 302, response.content.decode()
    assert WorkflowPackage.objects.get().name == "bottling-line"


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (b"{not json", "malformed_json"),
        ({"name": "x"}, "wpk_invalid"),
        ("bad-signature", "bad_signature"),
        ("unknown-agent", "unknown_step_agent"),
    ],
)
def test_refusals_are_shown_with_their_code(portal_vendor, document, code):
    vendor = portal_vendor("developer")
    if document == "bad-signature":
        AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
        document = _document(vendor, version="2.0.0") | {"version": "2.0.1"}
    elif document == "unknown-agent":
        document = _document(vendor)
    response = _upload(vendor, document)
    assert 400 <= response.status_code < 500
    assert code in response.content.decode()
    assert not WorkflowPackage.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "My Flow"}, "is not a slug"),
        ({"name": "a" * 65}, "name is longer than 64 characters"),
        ({"version": "1.0.0-" + "a" * 130}, "version is longer than 128 characters"),
    ],
)
def test_a_signed_document_with_a_bad_name_or_version_is_refused_and_nothing_stored(
    portal_vendor, fields, message
):
    vendor = portal_vendor("developer")
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    response = _upload(vendor, _document(vendor, **fields))  # signed as it stands
    assert response.status_code == 422
    page = response.content.decode()
    assert "wpk_invalid" in page and message in page
    assert not WorkflowPackage.objects.exists()


def test_an_oversized_signature_is_refused(portal_vendor):
    vendor = portal_vendor("developer")
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    document = _document(vendor)
    response = _upload(vendor, document | {"signature": document["signature"] * 2})
    assert "signature is longer than 128 characters" in response.content.decode()
    assert not WorkflowPackage.objects.exists()


def test_blanks_around_the_fields_are_ignored_as_the_api_ignores_them(portal_vendor):
    vendor = portal_vendor("developer")
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    document = _document(vendor)
    padded = {k: f" {v} " if k != "content" else v for k, v in document.items()}
    response = _upload(vendor, padded)
    assert response.status_code == 302, response.content.decode()[-1500:]
    wpk = WorkflowPackage.objects.get()
    assert (wpk.name, wpk.version, wpk.signature) == (
        "bottling-line",
        "1.0.0",
        document["signature"],
    )


def test_an_oversized_document_is_refused_before_parsing(portal_vendor, settings):
    settings.WPK_MAX_BYTES = 64
    vendor = portal_vendor("developer")
    response = _upload(vendor, b" " * 1024)
    assert response.status_code == 413
    assert "wpk_too_large" in response.content.decode()
    # What was measured: the file, before its document is read.
    assert (
        "Workflow package files are limited to 256 bytes (the signed document to 64); "
        "this file is larger." in response.content.decode()
    )


@pytest.mark.parametrize("where", ["key_id", "content"])
def test_a_nul_character_is_refused_as_the_api_refuses_it(portal_vendor, where):
    """``\\u0000`` reaches the database from the portal, which parses the file itself (the
    API's parser refused it with nul_character; here PostgreSQL refused it with a 500)."""
    vendor = portal_vendor("developer")
    AgentVersionFactory(agent__tenant=vendor.tenant, agent__name="pump", version="1.0.0")
    document = _document(vendor)
    if where == "key_id":
        document["key_id"] += "\x00"
    else:
        document["content"]["note"] = "line\x00one"

    response = _upload(vendor, document)

    assert response.status_code == 400 and "nul_character" in response.content.decode()
    assert not WorkflowPackage.objects.exists()
