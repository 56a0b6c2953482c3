"""Entitled tenants and the vendor download; others learn which plans would entitle them."""

import hashlib
import io
import json
import zipfile

import pytest

from edgeplug.audit.models import AuditEvent
from edgeplug.certificates import verify_certificate
from marketplace.models import Download, Entitlement
from tests.commerce.conftest import buy_free
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db


def operation(what: str) -> str:
    return f"GET /api/v1/agents/{{agent_id}}/versions/{{version}}/{what}"


def url(version, what="download"):
    return f"/api/v1/agents/{version.agent_id}/versions/{version.version}/{what}"


def test_unentitled_customer_gets_403_with_the_plans(customer, published, make_plan):
    plan = make_plan("one_time", currency="USD", amount=900)
    response = customer[0].get(url(published))
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_entitled"
    assert [(p["id"], p["amount"]) for p in body["plans"]] == [(plan.pk, 900)]
    assert customer[0].get(url(published, "bundle")).status_code == 403
    assert not Download.objects.exists()
    refusals = AuditEvent.objects.filter(action="permission_denied").order_by("pk")
    assert [(e.target, e.details["code"]) for e in refusals] == [
        (f"GET {url(published)}", "not_entitled"),
        (f"GET {url(published, 'bundle')}", "not_entitled"),
    ]


def test_any_member_of_an_entitled_tenant_downloads_and_it_is_counted(
    member_client, published, agent, make_plan, media_root
):
    admin, membership = member_client("admin")
    buy_free(admin, agent, make_plan)
    operator, _ = member_client("operator", tenant=membership.tenant)
    response = operator.get(url(published))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert response["X-EdgePlug-Digest"] == f"sha256={published.digest}"
    assert hashlib.sha256(data).hexdigest() == published.digest
    assert Download.objects.filter(tenant=membership.tenant, kind="package").count() == 1


def test_revoked_entitlement_no_longer_downloads(customer, published, agent, make_plan):
    buy_free(customer[0], agent, make_plan)
    Entitlement.objects.update(status="revoked")
    assert customer[0].get(url(published)).status_code == 403


def test_bundle_holds_package_certificate_and_keys_that_verify_offline(
    customer, published, agent, make_plan, certificate
):
    buy_free(customer[0], agent, make_plan)
    response = customer[0].get(url(published, "bundle"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "bundle.json",
        "certificate.json",
        "keys.json",
        "pump-anomaly-1.0.0.epk",
    ]
    package = archive.read("pump-anomaly-1.0.0.epk")
    document = json.loads(archive.read("certificate.json"))
    keys = json.loads(archive.read("keys.json"))
    verified = verify_certificate(document, keys, package=package)
    assert verified.payload["package"]["digest"] == f"sha256:{published.digest}"
    assert Download.objects.get().kind == "bundle"


def test_vendor_downloads_its_own_versions_without_an_entitlement(vendor, published):
    assert vendor.client.get(url(published)).status_code == 200


def test_unpublished_versions_of_others_stay_404(customer, vendor, agent, make_plan):
    from tests.vendors import package

    buy_free(customer[0], agent, make_plan)
    hidden = vendor.upload(package("2.0.0")).json()["version"]
    response = customer[0].get(f"/api/v1/agents/{agent.pk}/versions/{hidden['version']}/download")
    assert response.status_code == 404


# What clients send: the CLI and browsers */* or nothing, a download tool the file's own media
# type (the schema's), a device application/zip for its bundle.
@pytest.mark.parametrize(
    "what, accept, media_type",
    [
        ("download", "application/octet-stream", "application/octet-stream"),
        ("download", "*/*", "application/octet-stream"),
        ("download", None, "application/octet-stream"),
        ("bundle", "application/zip", "application/zip"),
        ("bundle", "*/*", "application/zip"),
        ("bundle", None, "application/zip"),
    ],
)
def test_a_download_answers_the_media_type_it_is_asked_for(
    customer, published, agent, make_plan, certificate, what, accept, media_type
):
    buy_free(customer[0], agent, make_plan)
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = customer[0].get(url(published, what), **headers)
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == media_type
    assert response["Content-Disposition"].startswith("attachment;")
    assert_documented(response, operation(what))


@pytest.mark.parametrize(
    "what, accept", [("download", "application/octet-stream"), ("bundle", "application/zip")]
)
def test_refusals_are_json_whatever_media_type_was_asked_for(
    customer, vendor, published, agent, make_plan, what, accept
):
    plan = make_plan("one_time", currency="USD", amount=900)
    refused = customer[0].get(url(published, what), HTTP_ACCEPT=accept)
    assert (refused.status_code, refused["Content-Type"]) == (403, "application/json")
    assert refused.json()["code"] == "not_entitled"
    assert [p["id"] for p in refused.json()["plans"]] == [plan.pk]
    assert_documented(refused, operation(what))

    from tests.vendors import package

    buy_free(customer[0], agent, make_plan)
    hidden = vendor.upload(package("2.0.0")).json()["version"]  # not published: the vendor's
    missing = customer[0].get(
        f"/api/v1/agents/{agent.pk}/versions/{hidden['version']}/{what}", HTTP_ACCEPT=accept
    )
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/json")
    assert missing.json()["code"] == "not_found"
    assert_documented(missing, operation(what))

    # Any type but its file's, JSON and HTML too (before: 200 with the file's bytes).
    for other in ("text/csv", "application/json", "text/html"):
        unacceptable = customer[0].get(url(published, what), HTTP_ACCEPT=other)
        assert (unacceptable.status_code, unacceptable["Content-Type"]) == (
            406,
            "application/json",
        ), other
        assert unacceptable.json()["code"] == "not_acceptable"


@pytest.mark.parametrize("what", ["download", "bundle"])
def test_a_head_reads_the_headers_and_downloads_nothing(
    customer, published, agent, make_plan, certificate, what
):
    """Before: each HEAD was recorded as a download (the vendor's download counts grew)."""
    buy_free(customer[0], agent, make_plan)
    head = customer[0].head(url(published, what))
    assert head.status_code == 200
    assert head["Content-Disposition"].startswith("attachment")
    assert not Download.objects.exists()
    assert customer[0].get(url(published, what)).status_code == 200
    assert Download.objects.count() == 1


@pytest.mark.parametrize(
    "what, accept", [("download", "application/octet-stream"), ("bundle", "application/zip")]
)
def test_options_describes_the_view_in_json(customer, published, what, accept):
    """Before: a 500 (the file renderer was asked to write the view's description)."""
    described = customer[0].options(url(published, what), HTTP_ACCEPT=accept)
    assert (described.status_code, described["Content-Type"]) == (200, "application/json")


@pytest.mark.parametrize("what", ["download", "bundle"])
def test_a_version_whose_stored_blob_is_gone_answers_503_package_unreadable(
    customer, published, agent, make_plan, certificate, media_root, what
):
    """Before: a 500 (the download and the bundle opened the blob unguarded)."""
    from tests.vendors import stored_blobs

    buy_free(customer[0], agent, make_plan)
    for blob in stored_blobs(media_root):
        blob.unlink()
    customer[0].raise_request_exception = False
    response = customer[0].get(url(published, what))
    assert (response.status_code, response["Content-Type"]) == (503, "application/json")
    assert response.json()["code"] == "package_unreadable"
    assert published.storage_name not in response.json()["detail"]
    assert_documented(response, operation(what))
    assert not Download.objects.exists()
