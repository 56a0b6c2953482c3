"""TOTP devices in the admin: staff see who has one, never its secret, and cannot plant one
for someone else (enrolment proves a code and is audited, docs/security.md). Removing a
lost device is the one write, audited as ``mfa_device_removed``."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from edgeplug.audit.models import AuditEvent
from tests.conftest import changeform_data
from tests.factories import TOTPDeviceFactory, UserFactory

pytestmark = pytest.mark.django_db

DEVICES_URL = "/admin/otp_totp/totpdevice/"
CHOSEN_KEY = "3132333435363738393031323334353637383930"


def test_a_superuser_cannot_add_a_device_for_another_staff_user(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    target = UserFactory(is_staff=True)

    page = client.get(f"{DEVICES_URL}add/")
    planted = client.post(
        f"{DEVICES_URL}add/",
        {
            "user": target.pk,
            "name": "planted",
            "confirmed": "on",
            "key": CHOSEN_KEY,
            "step": 30,
            "t0": 0,
            "digits": 6,
            "tolerance": 1,
            "drift": 0,
            "throttling_failure_count": 0,
        },
    )

    assert (page.status_code, planted.status_code) == (403, 403)
    assert not TOTPDevice.objects.filter(user=target).exists()


def test_a_device_page_shows_neither_its_key_nor_a_qr_code(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    device = TOTPDeviceFactory(user=UserFactory(is_staff=True))

    listing = client.get(DEVICES_URL).content.decode()
    page = client.get(f"{DEVICES_URL}{device.pk}/change/")

    assert page.status_code == 200
    assert device.key not in page.content.decode()
    assert b'name="_save"' not in page.content  # view only
    assert "config/" not in listing and "qrcode" not in listing
    assert client.get(f"{DEVICES_URL}{device.pk}/config/").status_code == 403
    assert client.get(f"{DEVICES_URL}{device.pk}/qrcode/").status_code == 403


def test_a_device_cannot_be_changed_in_the_admin(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    device = TOTPDeviceFactory(user=UserFactory(is_staff=True), confirmed=False)
    url = f"{DEVICES_URL}{device.pk}/change/"
    data = changeform_data(client.get(url)) | {"confirmed": "on", "name": "renamed"}

    assert client.post(url, data).status_code == 403
    device.refresh_from_db()
    assert (device.confirmed, device.name) == (False, "phone")


def test_removing_a_lost_device_is_audited_against_its_user(admin_session):
    """Support: a staff member lost their phone. The delete page and the list's bulk delete
    both remove the device through accounts.services.remove_totp_device."""
    client, admin = admin_session("platform-admins", is_superuser=True)
    alice, bob = UserFactory(is_staff=True), UserFactory(is_staff=True)
    lost = TOTPDeviceFactory(user=alice, name="lost phone")
    other = TOTPDeviceFactory(user=bob)

    one = client.post(f"{DEVICES_URL}{lost.pk}/delete/", {"post": "yes"})
    bulk = client.post(
        DEVICES_URL, {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"}
    )

    assert (one.status_code, bulk.status_code) == (302, 302)
    assert not TOTPDevice.objects.filter(user__in=[alice, bob]).exists()
    events = AuditEvent.objects.filter(action="mfa_device_removed").order_by("id")
    assert [(e.target, e.actor_id) for e in events] == [
        (alice.email, admin.pk),
        (bob.email, admin.pk),
    ]
    assert events[0].details == {"device": "lost phone", "confirmed": True, "remaining": 0}
