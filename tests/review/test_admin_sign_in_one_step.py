"""Staff sign in to the admin with email, password and TOTP code in one submit."""

import pytest
from django.test import Client

from tests.conftest import totp_now
from tests.factories import PASSWORD, TOTPDeviceFactory

pytestmark = pytest.mark.django_db


def _sign_in(client, user, token, device=""):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": PASSWORD, "otp_token": token, "otp_device": device},
    )


def test_one_device_needs_no_choice(make_staff):
    reviewer = make_staff()
    client = Client()
    response = _sign_in(client, reviewer, totp_now(reviewer.device))
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused_without_asking_for_a_device(make_staff):
    reviewer = make_staff()
    client = Client()
    good = totp_now(reviewer.device)
    response = _sign_in(client, reviewer, f"{(int(good) + 1) % 1_000_000:06d}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Invalid token" in html and "Please select a device" not in html
    assert client.get("/admin/").status_code == 302


def test_several_devices_ask_which_one(make_staff):
    reviewer = make_staff()
    second = TOTPDeviceFactory(user=reviewer, name="backup phone")
    client = Client()
    response = _sign_in(client, reviewer, totp_now(second))
    assert "Please select a device" in response.content.decode()
    assert "backup phone" in response.content.decode()
    response = _sign_in(client, reviewer, totp_now(second), second.persistent_id)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_an_unconfirmed_device_does_not_count(make_staff):
    reviewer = make_staff()
    reviewer.device.confirmed = False
    reviewer.device.save()
    client = Client()
    response = _sign_in(client, reviewer, totp_now(reviewer.device))
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302
