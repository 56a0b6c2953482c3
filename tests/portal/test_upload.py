"""Uploading in the portal: refusals with their code, sentence and documentation link; a good
package leads to its version page and, when asked, a certification run."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from certification.models import CertificationRun
from marketplace.models import AgentVersion
from tests.factories import approved_certification
from tests.packageformat.hostile import HOSTILE_CASES
from tests.vendors import package

pytestmark = pytest.mark.django_db

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def _form(vendor, data: bytes, signature: bytes | None = None, **fields):
    return {
        "package": SimpleUploadedFile("agent.epk", data),
        "signature": SimpleUploadedFile("agent.epk.sig", signature or vendor.sign(data)),
        "key_id": "",
        "level": "basic",
        **fields,
    }


def _case(code):
    return next(c for c in HOSTILE_CASES if c.code == code)


def test_a_hostile_package_is_refused_with_code_sentence_and_link(portal_vendor):
    vendor = portal_vendor("developer")
    data = _case("path_traversal").build(None)
    response = vendor.client.post("/portal/upload/", _form(vendor, data), **XHR)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "path_traversal"
    assert ".." in body["detail"]
    assert body["doc_url"] == "/portal/docs/package-format/#refusal-path_traversal"
    assert AgentVersion.objects.count() == 0


def test_without_javascript_the_refusal_is_a_page(portal_vendor):
    vendor = portal_vendor("developer")
    data = _case("path_traversal").build(None)
    response = vendor.client.post("/portal/upload/", _form(vendor, data))
    assert response.status_code == 422
    text = response.content.decode()
    assert "path_traversal" in text
    assert 'href="/portal/docs/package-format/#refusal-path_traversal"' in text


def test_every_refusal_links_to_an_anchor_that_exists():
    from marketplace.portal.refusals import doc_anchor

    codes = {c.code for c in HOSTILE_CASES} | {
        "bad_signature",
        "malformed_signature",
        "unknown_key",
        "key_revoked",
        "vendor_mismatch",
        "version_exists",
    }
    missing = {code for code in codes if not doc_anchor(code)}
    assert not missing


def test_a_signature_by_another_key_is_refused(portal_vendor):
    from edgeplug import signing

    vendor = portal_vendor("developer")
    data = package()
    stranger = signing.generate_keypair()
    forged = signing.encode_b64(signing.sign_package(stranger.private_key, data)).encode()
    response = vendor.client.post("/portal/upload/", _form(vendor, data, forged), **XHR)
    # As the CLI says: none of the vendor's registered keys made it.
    assert (response.status_code, response.json()["code"]) == (422, "unknown_key")
    assert response.json()["doc_url"].endswith("#signing")
    assert AgentVersion.objects.count() == 0


def test_the_signature_of_another_package_says_to_check_the_pair(portal_vendor):
    """The vendor's own registered key made the .sig, but of another package: no key verifies
    it, and the refusal says the pair may not match, not only that the key is unknown."""
    vendor = portal_vendor("developer")
    other = vendor.sign(package("1.2.0"))

    response = vendor.client.post("/portal/upload/", _form(vendor, package("1.1.0"), other), **XHR)

    assert (response.status_code, response.json()["code"]) == (422, "unknown_key")
    assert "signature file is this package's" in response.json()["detail"]
    assert AgentVersion.objects.count() == 0


def test_a_version_differing_only_in_build_metadata_is_refused_with_its_rule(portal_vendor):
    vendor = portal_vendor("developer")
    vendor.client.post("/portal/upload/", _form(vendor, package("1.0.0")), **XHR)
    twin = package("1.0.0+build.7", description="Other bytes.")
    response = vendor.client.post("/portal/upload/", _form(vendor, twin), **XHR)
    assert (response.status_code, response.json()["code"]) == (409, "version_exists")
    assert "exists as 1.0.0 " in response.json()["detail"]
    assert response.json()["doc_url"] == "/portal/docs/package-format/#one-package-per-version"
    assert AgentVersion.objects.get().version == "1.0.0"


def test_a_good_package_leads_to_its_version_page(portal_vendor):
    vendor = portal_vendor("developer")
    response = vendor.client.post("/portal/upload/", _form(vendor, package()), **XHR)
    assert response.status_code == 201
    version = AgentVersion.objects.get()
    assert version.signing_key == vendor.key and version.uploaded_by == vendor.user
    url = f"/portal/agents/{version.agent_id}/versions/1.0.0/"
    assert response.json() == {"redirect": url}
    page = vendor.client.get(url).content.decode()
    assert version.digest in page and vendor.key.key_id in page
    assert not CertificationRun.objects.exists()


def test_asking_for_certification_submits_a_run(portal_vendor, django_capture_on_commit_callbacks):
    vendor = portal_vendor("developer")
    with django_capture_on_commit_callbacks(execute=False):
        vendor.client.post(
            "/portal/upload/", _form(vendor, package(), certify="on", level="standard"), **XHR
        )
    run = CertificationRun.objects.get()
    assert (run.level, run.requested_by) == ("standard", vendor.user)


def test_the_same_bytes_uploaded_again_with_certify_leave_an_approved_version_on_sale(
    portal_vendor,
):
    """The portal's upload follows the API's rule: the version's approved run is named, no
    new run is queued, and the version stays public (before: queued again, off sale)."""
    vendor = portal_vendor("developer")
    data = package()
    vendor.client.post("/portal/upload/", _form(vendor, data), **XHR)
    version = AgentVersion.objects.get()
    run = approved_certification(version)

    response = vendor.client.post("/portal/upload/", _form(vendor, data, certify="on"), **XHR)

    assert response.status_code == 201
    page = vendor.client.get(response.json()["redirect"]).content.decode()
    assert f"Not submitted for certification again: {version} is certified by run {run.pk}" in page
    assert CertificationRun.objects.get() == run
    version.refresh_from_db()
    assert version.is_public


def test_the_chosen_key_is_used(portal_vendor):
    vendor = portal_vendor("developer")
    data = package()
    response = vendor.client.post(
        "/portal/upload/", _form(vendor, data, key_id=vendor.key.key_id), **XHR
    )
    assert response.status_code == 201


def test_a_package_over_the_size_cap_is_refused_while_streaming(portal_vendor, settings):
    settings.PACKAGE_LIMITS = {**settings.PACKAGE_LIMITS, "max_package_bytes": 1024}
    vendor = portal_vendor("developer")
    response = vendor.client.post("/portal/upload/", _form(vendor, b"x" * 4096), **XHR)
    assert (response.status_code, response.json()["code"]) == (413, "package_too_large")
    assert response.json()["doc_url"].endswith("#refusal-package_too_large")
    # Stopped at the first chunk past the cap: its whole size is not known.
    assert response.json()["detail"] == (
        "Packages are limited to 1024 bytes; this upload was stopped after 4096 bytes."
    )


def test_the_package_format_page_has_the_refusal_rows():
    from django.test import Client

    page = Client().get("/portal/docs/package-format/")
    assert page.status_code == 200
    assert 'id="refusal-compression_bomb"' in page.content.decode()


def test_the_upload_still_checks_the_csrf_token(portal_vendor):
    from django.test import Client

    vendor = portal_vendor("developer")
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = vendor.client.cookies
    response = strict.post("/portal/upload/", _form(vendor, package()), **XHR)
    assert response.status_code == 403
    assert not AgentVersion.objects.exists()


def test_a_signature_that_is_not_one_is_refused_as_malformed(portal_vendor):
    vendor = portal_vendor("developer")
    response = vendor.client.post("/portal/upload/", _form(vendor, package(), b"not-a-sig"), **XHR)
    assert (response.status_code, response.json()["code"]) == (400, "malformed_signature")
    assert AgentVersion.objects.count() == 0


def test_a_package_over_the_size_cap_from_the_plain_form_is_a_refusal_page(portal_vendor, settings):
    """A browser without the upload script posts the form with its CSRF token in the body:
    reading it for the token streams the package, and the cap's refusal came out of the CSRF
    check as a 500 (the client above sends the token in a header, which reads no body)."""
    from django.test import Client

    settings.PACKAGE_LIMITS = {**settings.PACKAGE_LIMITS, "max_package_bytes": 1024}
    vendor = portal_vendor("developer")
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = vendor.client.cookies
    page = browser.get("/portal/upload/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]

    response = browser.post(
        "/portal/upload/", {**_form(vendor, b"x" * 4096), "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 413
    assert "package_too_large" in response.content.decode()
    assert not AgentVersion.objects.exists()


def test_a_signature_by_a_revoked_key_says_the_key_is_revoked(portal_vendor):
    """The key is found among the vendor's registered keys, revoked ones included, so the
    refusal is the API's key_revoked (it was unknown_key, whose advice, registering the key,
    the Keys page then refused: the key is registered already)."""
    from django.utils import timezone

    vendor = portal_vendor("developer")
    data = package()
    vendor.key.revoked_at = timezone.now()
    vendor.key.save()

    response = vendor.client.post("/portal/upload/", _form(vendor, data), **XHR)

    assert (response.status_code, response.json()["code"]) == (422, "key_revoked")
    assert AgentVersion.objects.count() == 0


@pytest.mark.s3
def test_a_refusal_the_package_format_does_not_explain_links_to_no_rule(
    portal_vendor, tmp_path, settings
):
    """The package store down (S3 answering NoSuchBucket) is the platform's refusal, not a
    rule of the package format: no "What this means in the package format" link, which led
    to the page's top (no ``#refusal-storage_unavailable`` there) as if the package were at
    fault; the script's answer says the same (``doc_url`` empty)."""
    from tests.s3_conftest_helpers import s3_storage, start_moto_server

    server = start_moto_server(tmp_path)
    try:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": s3_storage("gone-bucket", server.endpoint_url),
        }
        vendor = portal_vendor("developer")
        data = package()
        scripted = vendor.client.post("/portal/upload/", _form(vendor, data), **XHR)
        plain = vendor.client.post("/portal/upload/", _form(vendor, data))
    finally:
        server.stop()

    body = scripted.json()
    assert (scripted.status_code, body["code"], body["doc_url"]) == (
        503,
        "storage_unavailable",
        "",
    )
    text = plain.content.decode()
    assert plain.status_code == 503 and "storage_unavailable" in text
    assert "What this means in the package format" not in text
    assert not AgentVersion.objects.exists()


def test_a_developer_made_billing_while_the_upload_page_is_open_is_told_why(portal_vendor):
    """Another admin makes the developer a billing member while their Upload page is open.
    The upload's script reads every refusal as JSON ({code, detail}); this one came as the
    403 page, so the form said only "error: The upload was refused."."""
    from edgeplug.tenancy.models import Membership

    vendor = portal_vendor("developer")
    assert vendor.client.get("/portal/upload/").status_code == 200
    Membership.objects.filter(pk=vendor.membership.pk).update(role="billing")

    refused = vendor.client.post("/portal/upload/", _form(vendor, package()), **XHR)

    assert (refused.status_code, refused["Content-Type"]) == (403, "application/json")
    assert refused.json() == {
        "code": "permission_denied",
        "detail": "This page is for Admin and Developer (may upload and sign) members; you "
        "are Billing (invoices).",
    }
    # Without the script it is still the page that says why.
    page = vendor.client.post("/portal/upload/", _form(vendor, package()))
    assert page.status_code == 403
    assert "Your role does not allow this" in page.content.decode()
    assert not AgentVersion.objects.exists()


@pytest.mark.parametrize("change", ["removed from the team", "no longer a vendor"])
def test_a_developer_no_longer_at_the_vendor_is_told_why(portal_vendor, change):
    """Removed from the team in another tab, or staff untick the tenant's "is vendor", while
    the Upload page is open: the script is told ``not_a_vendor`` in JSON, not sent the page."""
    from edgeplug.tenancy.models import Membership, Tenant

    vendor = portal_vendor("developer")
    assert vendor.client.get("/portal/upload/").status_code == 200
    if change == "removed from the team":
        Membership.objects.filter(pk=vendor.membership.pk).delete()
    else:
        Tenant.objects.filter(pk=vendor.tenant.pk).update(is_vendor=False, is_customer=True)

    refused = vendor.client.post("/portal/upload/", _form(vendor, package()), **XHR)

    assert (refused.status_code, refused["Content-Type"]) == (403, "application/json")
    assert refused.json() == {
        "code": "not_a_vendor",
        "detail": "Only members of an active vendor tenant can use the vendor portal.",
    }
    assert not AgentVersion.objects.exists()
