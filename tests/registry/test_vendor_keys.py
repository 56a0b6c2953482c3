"""Vendors register, list and revoke their Ed25519 signing keys."""

import pytest
from django.utils import timezone

from edgeplug import signing
from edgeplug.audit.models import AuditEvent
from marketplace.models import VendorKey
from tests.factories import TenantFactory, VendorKeyFactory

pytestmark = pytest.mark.django_db
KEYS = "/api/v1/vendor/keys"


@pytest.fixture
def vendor_client(member_client):
    client, membership = member_client(
        "developer", tenant=TenantFactory(is_vendor=True, is_customer=False)
    )
    return client, membership


def test_register_list_and_revoke_a_key(vendor_client):
    client, membership = vendor_client
    keys = signing.generate_keypair()
    created = client.post(
        KEYS, {"public_key": signing.encode_b64(keys.public_key), "name": "laptop"}, format="json"
    )
    assert created.status_code == 201
    key_id = created.json()["key_id"]
    assert key_id == signing.key_id(keys.public_key)
    listed = client.get(KEYS).json()
    assert [k["key_id"] for k in listed["results"]] == [key_id]
    revoked = client.post(f"{KEYS}/{key_id}/revoke")
    assert revoked.json()["active"] is False
    actions = set(
        AuditEvent.objects.filter(tenant=membership.tenant).values_list("action", flat=True)
    )
    assert {"vendor_key_registered", "vendor_key_revoked"} <= actions


def test_malformed_and_duplicate_keys_are_refused(vendor_client):
    client, _ = vendor_client
    bad = client.post(KEYS, {"public_key": "not base64!"}, format="json")
    assert (bad.status_code, bad.json()["code"]) == (400, "malformed_key")
    short = client.post(KEYS, {"public_key": signing.encode_b64(b"x" * 16)}, format="json")
    assert short.json()["code"] == "malformed_key"
    public = signing.encode_b64(signing.generate_keypair().public_key)
    assert client.post(KEYS, {"public_key": public}, format="json").status_code == 201
    again = client.post(KEYS, {"public_key": public}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "key_exists")


@pytest.mark.parametrize(
    ("role", "is_vendor"), [("operator", True), ("billing", True), ("admin", False)]
)
def test_only_vendor_admins_and_developers_manage_keys(member_client, role, is_vendor):
    client, _ = member_client(role, tenant=TenantFactory(is_vendor=is_vendor, is_customer=True))
    public = signing.encode_b64(signing.generate_keypair().public_key)
    response = client.post(KEYS, {"public_key": public}, format="json")
    assert response.status_code == 403


def test_another_vendors_key_cannot_be_revoked(vendor_client, member_client):
    client, _ = vendor_client
    key_id = client.post(
        KEYS,
        {"public_key": signing.encode_b64(signing.generate_keypair().public_key)},
        format="json",
    ).json()["key_id"]
    other, _ = member_client("admin", tenant=TenantFactory(is_vendor=True))
    assert other.post(f"{KEYS}/{key_id}/revoke").status_code == 404
    assert client.get(KEYS).json()["results"][0]["active"] is True


def test_a_revoked_key_registered_again_is_refused_saying_so(vendor_client):
    client, _ = vendor_client
    public = signing.encode_b64(signing.generate_keypair().public_key)
    key_id = client.post(KEYS, {"public_key": public}, format="json").json()["key_id"]
    client.post(f"{KEYS}/{key_id}/revoke")
    again = client.post(KEYS, {"public_key": public}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "key_exists")
    assert again.json()["detail"].startswith(f"Key {key_id} was revoked on ")


def test_key_pages_hold_every_key_once_when_keys_share_their_time(vendor_client):
    """Keys were ordered by created_at alone (the CLI pages through them): keys registered in
    the same instant came back in any order on each page's query, so pages skipped some and
    repeated others."""
    client, membership = vendor_client
    made = {VendorKeyFactory(tenant=membership.tenant).key_id for _ in range(30)}
    VendorKey.objects.update(created_at=timezone.now())
    seen = []
    for page in range(1, 6):
        body = client.get(KEYS, {"page": page, "page_size": 7}).json()
        seen += [key["key_id"] for key in body["results"]]
    assert sorted(seen) == sorted(made)
