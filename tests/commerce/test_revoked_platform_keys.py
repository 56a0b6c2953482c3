"""A certificate signed by a platform key that has since been revoked vouches for nothing: every
verifier (``edgeplug verify``, devices) refuses it as ``key_revoked``, so the server never hands
it out either. The certificate endpoint, the bundle, deploy, device assignments and the
catalogue fall back to an older certificate of a key still in force, or treat the version as
not certified; beat then marks such a version ``expired``, as for an expired certificate."""

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from certification.certificates import platform_keys
from certification.pipeline.actions import expire_lapsed_certifications
from edgeplug.audit.models import AuditEvent
from edgeplug.certificates import verify_certificate
from marketplace.models import CatalogueListing
from marketplace.storage import open_package
from tests.commerce.conftest import buy_free
from tests.commerce.test_deployments import as_device, deploy, register
from tests.factories import simulated_certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys():
    """Three platform keys: A signs first, then B, then C once B is revoked."""
    return [platform_keys.generate_key_entry() for _ in range(3)]


def _ring(settings, *entries, active):
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": list(entries), "active": active["key_id"]})


def _retired(entry):
    """Still published, no longer signing: its certificates keep verifying."""
    return {**entry, "private_key": None}


def _revoked(entry):
    when = datetime.now(UTC).replace(microsecond=0)
    return {**_retired(entry), "revoked_at": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _url(version, tail=""):
    return f"/api/v1/agents/{version.agent_id}/versions/{version.version}{tail}"


def _assignments(device):
    return as_device(device).get("/api/v1/device/assignments").json()


def _keyset():
    return APIClient().get("/.well-known/edgeplug/keys.json").json()


def _package(version) -> bytes:
    with open_package(version.storage_name) as package:
        return package.read()


def test_an_older_certificate_vouches_everywhere_once_the_newer_ones_key_is_revoked(
    settings, keys, clock, customer, published, agent, make_plan, media_root
):
    key_a, key_b, key_c = keys
    _ring(settings, key_a, active=key_a)
    older = simulated_certificate(published)
    clock.shift(timedelta(minutes=1))  # within the sign-in's life
    _ring(settings, _retired(key_a), key_b, active=key_b)
    newer = simulated_certificate(published)
    client, _ = customer
    buy_free(client, agent, make_plan)
    device = register(client, "hw-1")
    assert deploy(client, device, published).status_code == 201
    assert _assignments(device)["run"][0]["certificate_id"] == newer.pk

    _ring(settings, _retired(key_a), _revoked(key_b), key_c, active=key_c)

    handed_out = client.get(_url(published, "/certificate"))
    assert handed_out.status_code == 200, handed_out.json()
    assert handed_out.json() == older.document()
    assert verify_certificate(handed_out.json(), _keyset()).key_id == key_a["key_id"]

    bundle = client.get(_url(published, "/bundle"))
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        bundled = json.loads(archive.read("certificate.json"))
        bundled_keys = json.loads(archive.read("keys.json"))
    assert bundled == older.document()
    verify_certificate(bundled, bundled_keys, package=_package(published))

    [running] = _assignments(device)["run"]
    assert (running["certificate_id"], running["certificate_key_id"]) == (
        older.pk,
        key_a["key_id"],
    )
    assert deploy(client, device, published).status_code == 200  # deployed there already

    [shown] = client.get(f"/api/v1/agents/{agent.pk}").json()["versions"]
    assert shown["certificate"]["certificate_id"] == older.pk

    # Beat keeps the version certified and rebuilds the listing from the certificate in force.
    assert expire_lapsed_certifications() == 0
    published.refresh_from_db()
    assert published.certification_status == "certified"
    assert CatalogueListing.objects.get(agent=agent).certificate_id == older.pk


@pytest.mark.parametrize("gone", ["revoked", "no longer published"])
def test_a_version_whose_only_certificate_has_a_revoked_key_is_not_certified(
    settings, keys, customer, vendor, published, agent, make_plan, media_root, gone
):
    """Revoked (``key_revoked``) or dropped from the key set (``unknown_key``): either way no
    verifier accepts the certificate, so it vouches for nothing on the server."""
    key_a, key_b, _ = keys
    _ring(settings, key_a, active=key_a)
    simulated_certificate(published)
    client, _ = customer
    buy_free(client, agent, make_plan)
    device = register(client, "hw-1")
    assert deploy(client, device, published).status_code == 201

    if gone == "revoked":
        _ring(settings, _revoked(key_a), key_b, active=key_b)
    else:
        _ring(settings, key_b, active=key_b)

    refused = vendor.client.get(_url(published, "/certificate"))
    assert (refused.status_code, refused.json()["code"]) == (404, "not_certified")
    bundle = client.get(_url(published, "/bundle"))
    assert (bundle.status_code, bundle.json()["code"]) == (409, "no_certificate")
    again = deploy(client, device, published)
    assert (again.status_code, again.json()["code"]) == (409, "no_certificate")
    body = _assignments(device)
    assert body["run"] == []
    assert [s["reason"] for s in body["stop"]] == ["certificate_invalid"]
    [shown] = vendor.client.get(f"/api/v1/agents/{agent.pk}").json()["versions"]
    assert shown["certificate"] is None

    # Beat marks it expired, as when its last certificate expires: customers no longer see it.
    assert expire_lapsed_certifications() == 1
    published.refresh_from_db()
    assert published.certification_status == "expired"
    assert AuditEvent.objects.filter(action="certification_expired").count() == 1
    assert client.get(_url(published, "/certificate")).status_code == 404
    assert not CatalogueListing.objects.filter(agent=agent).exists()
    assert expire_lapsed_certifications() == 0
