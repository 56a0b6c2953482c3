"""Hardware ids stored before they were composed: until 2026-12-04 (b8f21e94) register_device
stored a hardware id as sent, so one sent decomposed ("e" and its accent) still named an
active device, and the same hardware sent composed registered a second active device (201).
Marketplace 0021 stores every device's hardware id composed (Unicode NFC), as registering
does; active devices of one tenant that become one id stop it, named, nothing changed."""

import unicodedata

import pytest

from marketplace.models import Device
from tests.factories import DeviceFactory, TenantFactory
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db(transaction=True)  # migrating (SQLite) needs no atomic

BEFORE = "0020_order_given_back_in_stripe"
COMPOSED = "0021_hardware_ids_composed"
DECOMPOSED = "cafe\u0301-01"  # "café-01" as the previous releases stored it when sent so
CAFE = unicodedata.normalize("NFC", DECOMPOSED)


def _register(client, hardware_id):
    return client.post(
        "/api/v1/devices",
        {"name": "gw again", "hardware_id": hardware_id, "core": "cortex-m4"},
        format="json",
    )


def test_a_hardware_id_stored_decomposed_still_names_its_hardware_after_the_upgrade(customer):
    client, membership = customer
    with migrated_back("marketplace", BEFORE):
        device = DeviceFactory(tenant=membership.tenant, hardware_id=DECOMPOSED)

    device.refresh_from_db()
    assert device.hardware_id == CAFE
    for sent in (CAFE, DECOMPOSED):
        response = _register(client, sent)  # before: 201 for the composed one
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == "device_exists"
    assert Device.objects.filter(revoked_at__isnull=True).count() == 1


def test_revoked_devices_are_composed_too_and_others_are_left_as_they_are():
    tenant = TenantFactory()
    with migrated_back("marketplace", BEFORE):
        active = DeviceFactory(tenant=tenant, hardware_id=CAFE)
        # A revoked device may share its id with an active one: no constraint holds them.
        revoked = DeviceFactory(tenant=tenant, hardware_id=DECOMPOSED, revoked_at=active.created_at)
        # Another tenant's hardware is its own.
        theirs = DeviceFactory(hardware_id=DECOMPOSED)
        plain = DeviceFactory(tenant=tenant, hardware_id="hw-1")
        # Composed, U+0958 is two characters: 128 of them would not fit the column. Left as
        # stored; registering cannot meet it, as it refuses such an id as too long.
        long = DeviceFactory(tenant=tenant, hardware_id="\u0958" * 128)

    stored = dict(Device.objects.values_list("pk", "hardware_id"))
    assert stored == {
        active.pk: CAFE,
        revoked.pk: CAFE,
        theirs.pk: CAFE,
        plain.pk: "hw-1",
        long.pk: "\u0958" * 128,
    }


def test_active_devices_that_become_one_id_stop_the_migration_named():
    tenant = TenantFactory(slug="acme")
    kelvin = "hw-\u212a"  # the Kelvin sign, composed: the letter K

    def revoke_the_twins():
        Device.objects.filter(hardware_id__in=[DECOMPOSED, kelvin]).update(
            revoked_at=tenant.created_at
        )

    with migrated_back("marketplace", BEFORE, cleanup=revoke_the_twins) as migrator:
        composed = DeviceFactory(tenant=tenant, name="gw-composed", hardware_id=CAFE)
        decomposed = DeviceFactory(tenant=tenant, name="gw-decomposed", hardware_id=DECOMPOSED)
        ascii_k = DeviceFactory(tenant=tenant, name="gw-ascii", hardware_id="hw-K")
        sign = DeviceFactory(tenant=tenant, name="gw-kelvin", hardware_id=kelvin)
        DeviceFactory(tenant=tenant, name="gw-other", hardware_id="\u00e9-02")
        DeviceFactory(hardware_id=DECOMPOSED, name="gw-theirs")  # another tenant's
        with pytest.raises(RuntimeError) as refused:
            migrator.forward(COMPOSED)
        message = str(refused.value)
        assert "4 active devices" in message
        for device in (composed, decomposed, ascii_k, sign):
            assert f"acme device {device.name!r} (id {device.pk}" in message
        assert "gw-other" not in message and "gw-theirs" not in message
        assert "cafe\\u0301-01" in message  # the stored id, its invisible difference spelled
        assert Device.objects.filter(hardware_id=DECOMPOSED).count() == 2  # nothing changed
