"""After a wrong TOTP code django-otp pauses verification; sign-in says so (429 otp_throttled)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from edgeplug.accounts.errors import OTP_THROTTLED_MESSAGE
from tests.conftest import totp_now
from tests.factories import PASSWORD, TOTPDeviceFactory

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token"


@pytest.fixture
def staff_with_device(staff):
    return staff, TOTPDeviceFactory(user=staff)


def _api_sign_in(api, user, otp):
    return api.post(TOKEN, {"email": user.email, "password": PASSWORD, "otp": otp}, format="json")


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_right_code_right_after_a_wrong_one_is_throttled_not_wrong(api, staff_with_device):
    user, device = staff_with_device
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = _api_sign_in(api, user, _wrong(totp_now(device)))
        assert (first.status_code, first.json()["code"]) == (401, "otp_invalid")

        throttled = _api_sign_in(api, user, totp_now(device))
        assert (throttled.status_code, throttled.json()["code"]) == (429, "otp_throttled")
        assert throttled.json()["detail"] == OTP_THROTTLED_MESSAGE
        assert int(throttled["Retry-After"]) == 1 == throttled.json()["retry_after"]

        clock.shift(timedelta(seconds=1))
        assert _api_sign_in(api, user, totp_now(device)).status_code == 200


def test_the_wait_doubles_with_each_wrong_code(api, staff_with_device):
    user, device = staff_with_device
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for wait in (1, 2, 4):
            assert _api_sign_in(api, user, _wrong(totp_now(device))).status_code == 401
            throttled = _api_sign_in(api, user, totp_now(device))
            assert int(throttled["Retry-After"]) == wait
            clock.shift(timedelta(seconds=wait))


def test_admin_sign_in_shows_the_same_message(staff_with_device):
    user, device = staff_with_device
    client = Client()

    def login(code):
        return client.post(
            "/admin/login/?next=/admin/",
            {
                "username": user.email,
                "password": PASSWORD,
                "otp_token": code,
                "otp_device": device.persistent_id,
            },
        )

    with time_machine.travel(timezone.now(), tick=False):
        login(_wrong(totp_now(device)))
        page = login(totp_now(device))
    assert page.status_code == 200
    assert OTP_THROTTLED_MESSAGE in page.context["form"].non_field_errors()
