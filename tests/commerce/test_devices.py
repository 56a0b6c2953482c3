"""Devices: a token shown once, stored hashed, rotated and revoked; devices are per tenant."""

import unicodedata

import pytest
from django.utils import timezone

from edgeplug.audit.models import AuditEvent
from marketplace.models import Device
from tests.factories import TenantFactory
from tests.query_plans import analyze, counts_rows_read, queries_of, rows_read

pytestmark = pytest.mark.django_db


def register(client, hardware_id="hw-1", core="cortex-m4"):
    return client.post(
        "/api/v1/devices",
        {"name": "line 3 gateway", "hardware_id": hardware_id, "core": core},
        format="json",
    )


def assignments(api, token):
    api.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return api.get("/api/v1/device/assignments")


def test_token_is_shown_once_and_stored_hashed(customer, api):
    client, _ = customer
    response = register(client)
    assert response.status_code == 201
    token = response.json()["token"]
    device = Device.objects.get()
    assert token.startswith(f"edp_{device.token_prefix}_")
    assert token not in device.token_hash and len(device.token_hash) == 64
    detail = client.get(f"/api/v1/devices/{device.pk}").json()
    assert "token" not in detail and detail["token_prefix"] == device.token_prefix
    assert assignments(api, token).status_code == 200
    assert assignments(api, token + "x").status_code == 401


def test_rotation_replaces_the_token_and_revocation_ends_it(customer, api):
    client, _ = customer
    body = register(client).json()
    old = body["token"]
    rotated = client.post(f"/api/v1/devices/{body['device']['id']}/rotate-token").json()
    assert assignments(api, old).status_code == 401
    assert assignments(api, rotated["token"]).status_code == 200
    client.post(f"/api/v1/devices/{body['device']['id']}/revoke")
    assert assignments(api, rotated["token"]).status_code == 401
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"device_registered", "device_token_rotated", "device_revoked"} <= actions


def test_hardware_id_is_unique_per_tenant(customer):
    client, _ = customer
    register(client)
    again = register(client)
    assert (again.status_code, again.json()["code"]) == (409, "device_exists")


@pytest.mark.parametrize(
    "otherwise",
    [unicodedata.normalize("NFD", "caf\u00e9-01"), " caf\u00e9-01\t"],
    ids=["decomposed", "blanks-around"],
)
def test_a_hardware_id_written_otherwise_is_the_same_hardware(customer, otherwise):
    """ "é" sent as one character or as "e" and its accent, or with blanks around it (dropped,
    as docs/commerce.md says): one device, not two."""
    client, _ = customer
    assert register(client, hardware_id="caf\u00e9-01").status_code == 201
    again = register(client, hardware_id=otherwise)
    assert (again.status_code, again.json()["code"]) == (409, "device_exists")
    assert Device.objects.get().hardware_id == "caf\u00e9-01"


def test_other_tenants_devices_are_404_and_roles_are_checked(member_client):
    alice, _ = member_client("admin")
    bob, _ = member_client("admin")
    device = register(alice).json()["device"]
    assert bob.get(f"/api/v1/devices/{device['id']}").status_code == 404
    assert bob.post(f"/api/v1/devices/{device['id']}/revoke").status_code == 404
    assert bob.get(f"/api/v1/devices/{device['id']}/deployments").status_code == 404
    assert bob.get("/api/v1/devices").json()["count"] == 0
    billing, _ = member_client("billing")
    assert register(billing).status_code == 403
    operator, _ = member_client("operator")
    assert register(operator, hardware_id="hw-op").status_code == 201


def test_user_tokens_cannot_read_device_assignments(customer):
    client, _ = customer
    assert client.get("/api/v1/device/assignments").status_code in (401, 403)


@pytest.mark.parametrize("core", ["Cortex-M4", "cortex-a53", 4, 4.5])
def test_a_core_no_package_may_target_is_refused(customer, core):
    """A device says what it is as packages do (the manifest's ``target.core``): anything
    else could never run what it is sold, every deploy refused ``incompatible_core``. A
    number too (it was DRF's invalid_choice, without field, quoting it as the text "4")."""
    client, _ = customer
    response = register(client, core=core)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid_core" and body["field"] == "core"
    assert "cortex-m4" in body["detail"]
    assert body["detail"].startswith(f"core: {core!r} is not a core")
    assert not Device.objects.exists()
    assert not AuditEvent.objects.filter(action="device_registered").exists()


@pytest.mark.parametrize(
    ("name", "hardware_id", "said"),
    [
        ("gw\x1b[2J", "hw-1", "name: holds the"),  # a terminal escape in device reports
        ("gw \u202e1-wg", "hw-1", "name: holds the"),  # reads "gw gw-1", is another string
        ("gw", "hw-\u20661", "hardware_id: holds the"),
        ("gw", "caf\u00e9-01\u200b", "hardware_id: holds the"),  # reads as "café-01"
        ("gw", "hw\u20601", "hardware_id: holds the"),  # a word joiner
        # A blank in the tenant's lists, as a key's name may not be.
        ("\u200b", "hw-1", "name: holds only invisible characters, which read as nothing"),
        # U+0958 composes into two characters: 128 of them were 256 for a 128-character
        # column, a DataError and a 500.
        ("gw", "\u0958" * 128, "hardware_id: is 256 characters composed (NFC); at most 128"),
    ],
)
def test_a_device_name_or_hardware_id_with_a_control_character_is_refused(
    customer, name, hardware_id, said
):
    """Before: stored as sent, shown in lists, usage reports and the audit trail."""
    field = said.split(":")[0]
    client, _ = customer
    response = client.post(
        "/api/v1/devices",
        {"name": name, "hardware_id": hardware_id, "core": "cortex-m4"},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_device_text"
    assert response.json()["field"] == field
    assert response.json()["detail"].startswith(said)
    assert not Device.objects.exists()


def test_devices_filter_by_active(customer):
    """Before: ?active= was ignored and revoked devices were listed as if filtered."""
    client, _ = customer
    revoked = register(client, hardware_id="hw-1").json()["device"]["id"]
    assert client.post(f"/api/v1/devices/{revoked}/revoke").status_code == 200
    kept = register(client, hardware_id="hw-2").json()["device"]["id"]

    def listed(query):
        return [row["id"] for row in client.get(f"/api/v1/devices?{query}").json()["results"]]

    assert (listed("active=true"), listed("active=false")) == ([kept], [revoked])
    assert sorted(listed("")) == sorted([kept, revoked])
    refused = client.get("/api/v1/devices?active=maybe")
    assert refused.status_code == 400


def test_a_name_longer_than_its_limit_as_sent_is_refused_though_blanks_pad_it(customer):
    """The schema's maxLength holds for the text as sent (schemathesis found 103 characters,
    three of them leading blanks, accepted since they were stripped before the check)."""
    client, _ = customer
    response = client.post(
        "/api/v1/devices",
        {"name": "\t\n " + "a" * 99, "hardware_id": "hw-1", "core": "cortex-m4"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "max_length")
    assert not Device.objects.exists()


FLEET = 5_000


def _fleet(tenant) -> None:
    now = timezone.now()
    Device.objects.bulk_create(
        Device(
            tenant=tenant,
            name=f"gw-{n:05d}",
            hardware_id=f"hw-{tenant.pk}-{n}",
            core="cortex-m4",
            token_prefix=f"t{tenant.pk}x{n}",
            token_hash="0" * 64,
            token_created_at=now,
        )
        for n in range(FLEET)
    )


@counts_rows_read
@pytest.mark.parametrize("params", [{}, {"active": "true"}, {"page": 2}])
def test_a_page_of_devices_reads_about_a_page_not_the_fleet(customer, params):
    """The list's order (name, then id, within the tenant) is an index's: a page reads its
    devices (and those of the pages before it), not the tenant's whole fleet to sort it."""
    client, membership = customer
    for tenant in [membership.tenant, TenantFactory(), TenantFactory()]:
        _fleet(tenant)
    analyze("marketplace_device")

    response, sqls = queries_of(lambda: client.get("/api/v1/devices", params))
    assert response.status_code == 200, response.content
    [page_sql] = [sql for sql in sqls if 'FROM "marketplace_device"' in sql and "LIMIT" in sql]
    body = response.json()
    first = 25 * (params.get("page", 1) - 1)
    assert body["results"][0]["name"] == f"gw-{first:05d}"
    read = rows_read(page_sql, "marketplace_device")
    # before: 5,000 (the tenant's fleet, sorted for each page)
    assert read <= len(body["results"]) * params.get("page", 1), (read, page_sql[-120:])
