"""Browsing agents: vendors see their own versions, others only certified and approved ones."""

import pytest
from django.db import transaction

from certification.models import CertificationRun
from certification.pipeline.state import end_with_error
from edgeplug.core.locking import locked
from marketplace.models import AgentVersion
from tests.vendors import package, stored_blobs

pytestmark = pytest.mark.django_db


def _publish(version: AgentVersion) -> None:
    AgentVersion.objects.filter(pk=version.pk).update(
        certification_status="certified", review_status="approved"
    )


def test_unreleased_versions_are_visible_only_to_their_vendor(vendor, member_client):
    agent_id = vendor.upload(package()).json()["agent"]["id"]
    customer, _ = member_client("admin")
    assert [a["id"] for a in vendor.client.get("/api/v1/agents").json()["results"]] == [agent_id]
    assert customer.get("/api/v1/agents").json()["count"] == 0
    assert customer.get(f"/api/v1/agents/{agent_id}").status_code == 404


def test_published_version_appears_for_everyone_without_the_unreleased_ones(vendor, member_client):
    first = vendor.upload(package("1.0.0")).json()
    vendor.upload(package("1.1.0-rc.1"))
    _publish(AgentVersion.objects.get(pk=first["version"]["id"]))
    customer, _ = member_client("admin")
    detail = customer.get(f"/api/v1/agents/{first['agent']['id']}").json()
    assert [v["version"] for v in detail["versions"]] == ["1.0.0"]
    own = vendor.client.get(f"/api/v1/agents/{first['agent']['id']}").json()
    assert [v["version"] for v in own["versions"]] == ["1.1.0-rc.1", "1.0.0"]


def test_versions_are_newest_semver_first(vendor):
    for version in ("1.0.0", "1.10.0", "1.2.0", "1.10.0-beta.2", "1.10.0-beta.11"):
        vendor.upload(package(version))
    agent = vendor.client.get("/api/v1/agents").json()["results"][0]
    detail = vendor.client.get(f"/api/v1/agents/{agent['id']}").json()
    assert [v["version"] for v in detail["versions"]] == [
        "1.10.0",
        "1.10.0-beta.11",
        "1.10.0-beta.2",
        "1.2.0",
        "1.0.0",
    ]
    assert detail["latest_version"]["version"] == "1.10.0"
    assert all(len(v["digest"]) == 64 and v["size"] > 0 for v in detail["versions"])


def test_filters_and_search(vendor):
    vendor.upload(package(name="pump-anomaly"))
    vendor.upload(
        package(
            name="valve-guard",
            agent_type="safety-interlock",
            description="Closes the valve on overpressure.",
        )
    )

    def names(query):
        return [a["name"] for a in vendor.client.get(f"/api/v1/agents?{query}").json()["results"]]

    assert names("agent_type=safety-interlock") == ["valve-guard"]
    assert names("agent_type=Safety-Interlock") == ["valve-guard"]  # a slug, in any case
    assert names("search=overpressure") == ["valve-guard"]
    assert names("vendor=acme-robotics") == ["pump-anomaly", "valve-guard"]
    # The short name in any case, as at sign-in (it was 400 unknown_vendor).
    assert names("vendor=ACME-Robotics") == ["pump-anomaly", "valve-guard"]
    nobody = vendor.client.get("/api/v1/agents?vendor=nobody")
    assert (nobody.status_code, nobody.json()["code"]) == (400, "unknown_vendor")
    assert names("target_core=cortex-m4") == ["pump-anomaly", "valve-guard"]
    assert names("target_core=cortex-m7") == []
    assert names("certification_status=uncertified") == ["pump-anomaly", "valve-guard"]
    assert names("certification_status=certified") == []
    bad = vendor.client.get("/api/v1/agents?certification_status=bogus")
    assert bad.status_code == 400


@pytest.mark.parametrize("query", ["vendor=", "vendor=%20", "vendor=+", "vendor=%09%20", "level="])
def test_a_vendor_or_level_given_empty_is_a_400_not_the_whole_catalogue(vendor, query):
    """?vendor= names a vendor, it is not free text: given empty, or only blanks (a space
    typed into a filter box, ``+`` in a URL), it listed every agent (200) where
    ?vendor=nobody is 400 unknown_vendor and ?level= is 400 blank."""
    vendor.upload(package())
    response = vendor.client.get(f"/api/v1/agents?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "blank")
    assert list(response.json()["errors"]) == [query.partition("=")[0]]


def test_download_gives_bytes_and_digest_to_the_vendor_only(vendor, member_client):
    data = package()
    body = vendor.upload(data).json()
    url = body["version"]["download_url"]
    response = vendor.client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["X-EdgePlug-Digest"] == f"sha256={body['version']['digest']}"
    customer, _ = member_client("admin")
    assert customer.get(url).status_code == 404


def test_uncertified_agent_can_be_deleted_with_its_blobs(vendor, media_root):
    agent_id = vendor.upload(package()).json()["agent"]["id"]
    assert vendor.client.delete(f"/api/v1/agents/{agent_id}").status_code == 204
    assert vendor.client.get(f"/api/v1/agents/{agent_id}").status_code == 404
    assert not stored_blobs(media_root)


def test_an_agent_being_certified_cannot_be_deleted_until_its_run_ends(vendor, media_root):
    """Deleting it took the run from under the worker running it (its stages then failed
    on rows gone). Its run queued: 409 run_in_progress, nothing deleted; once the run has
    ended (failed here), it is deleted as before."""
    body = vendor.upload(package(), certify="true").json()
    agent_id, run_id = body["agent"]["id"], body["certification_run"]
    refused = vendor.client.delete(f"/api/v1/agents/{agent_id}")
    assert (refused.status_code, refused.json()["code"]) == (409, "run_in_progress")
    assert "delete the agent once its run has ended" in refused.json()["detail"]
    assert vendor.client.get(f"/api/v1/agents/{agent_id}").status_code == 200

    with transaction.atomic():
        end_with_error(locked(CertificationRun(pk=run_id)), "test_ended", "ended for the test")
    assert vendor.client.delete(f"/api/v1/agents/{agent_id}").status_code == 204
    assert not stored_blobs(media_root)


def test_certified_agent_cannot_be_deleted_but_can_be_yanked(vendor, member_client):
    body = vendor.upload(package()).json()
    version = AgentVersion.objects.get(pk=body["version"]["id"])
    _publish(version)
    agent_url = f"/api/v1/agents/{body['agent']['id']}"
    response = vendor.client.delete(agent_url)
    assert (response.status_code, response.json()["code"]) == (409, "agent_in_use")
    # The action's refusals, as the portal's yank form answers them, naming the field.
    for body, code in (
        ({}, "reason_required"),
        ({"reason": "x" * 501}, "reason_too_long"),
        ({"reason": "bad\x1b[1Acertification: certified"}, "invalid_reason"),
    ):
        refused = vendor.client.post(f"{agent_url}/versions/1.0.0/yank", body, format="json")
        assert refused.status_code == 400
        assert (refused.json()["code"], refused.json()["field"]) == (code, "reason")
    yank = vendor.client.post(
        f"{agent_url}/versions/1.0.0/yank", {"reason": "CVE in SBOM"}, format="json"
    )
    assert yank.json()["yanked"] is True
    customer, _ = member_client("admin")
    assert customer.get(agent_url).status_code == 404
    again = vendor.client.post(
        f"{agent_url}/versions/1.0.0/yank", {"reason": "again"}, format="json"
    )
    assert again.json()["code"] == "already_yanked"


def test_another_vendor_cannot_delete(vendor, make_vendor):
    agent_id = vendor.upload(package()).json()["agent"]["id"]
    other = make_vendor(slug="other-vendor", role="admin")
    assert other.client.delete(f"/api/v1/agents/{agent_id}").status_code == 404


def test_manifest_schema_is_published(api):
    response = api.get("/api/v1/schemas/manifest.json")
    assert response.status_code == 200
    schema = response.json()
    assert "schema_version" in schema["properties"]
    assert "invariants" in schema["properties"]
