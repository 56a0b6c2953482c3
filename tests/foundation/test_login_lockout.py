"""Repeated failed sign-ins lock the account for a while; all of it is audited."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from edgeplug.audit.models import AuditEvent
from tests.conftest import admin_login
from tests.factories import PASSWORD, MembershipFactory, staff_member

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "100/min",
        },
    }


def test_account_locks_after_repeated_failures_even_for_the_right_password(api, settings):
    user = MembershipFactory().user
    for _ in range(3):
        api.post(TOKEN, {"email": user.email, "password": "wrong"}, format="json")
    response = api.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "account_locked")
    # How long to wait, as every refusal a client may retry says it: header and body alike.
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert (response["Retry-After"], response.json()["retry_after"]) == (str(cool_off), cool_off)
    assert AuditEvent.objects.filter(action="login_failed", target=user.email).count() >= 3
    assert AuditEvent.objects.filter(action="account_locked", target=user.email).exists()


def test_success_resets_the_failure_count(api):
    user = MembershipFactory().user
    for _ in range(2):
        api.post(TOKEN, {"email": user.email, "password": "wrong"}, format="json")
    assert (
        api.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json").status_code
        == 200
    )
    for _ in range(2):
        api.post(TOKEN, {"email": user.email, "password": "wrong"}, format="json")
    assert (
        api.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json").status_code
        == 200
    )


def test_lockout_of_one_account_leaves_others_alone(api):
    locked, other = MembershipFactory().user, MembershipFactory().user
    for _ in range(3):
        api.post(TOKEN, {"email": locked.email, "password": "wrong"}, format="json")
    assert (
        api.post(TOKEN, {"email": other.email, "password": PASSWORD}, format="json").status_code
        == 200
    )


ATTACKER = "203.0.113.66"
USER_ADDRESS = "198.51.100.7"


def _sign_in(api, email, password, address):
    return api.post(
        TOKEN, {"email": email, "password": password}, format="json", REMOTE_ADDR=address
    )


def test_an_attacker_elsewhere_locks_only_itself_out(api):
    user = MembershipFactory().user
    for _ in range(3):
        _sign_in(api, user.email, "wrong", ATTACKER)
    from_attacker = _sign_in(api, user.email, PASSWORD, ATTACKER)
    assert (from_attacker.status_code, from_attacker.json()["code"]) == (403, "account_locked")
    assert int(from_attacker["Retry-After"]) > 0
    assert _sign_in(api, user.email, PASSWORD, USER_ADDRESS).status_code == 200


def test_an_address_spraying_many_accounts_is_stopped(api, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    users = [MembershipFactory().user for _ in range(4)]
    # Two guesses per account stay under the per-account limit (3) ...
    for user in users[:3]:
        for _ in range(2):
            _sign_in(api, user.email, "wrong", ATTACKER)
    # ... but six from one address stop that address, even for an account it never tried.
    untouched = users[3]
    response = _sign_in(api, untouched.email, PASSWORD, ATTACKER)
    assert (response.status_code, response.json()["code"]) == (403, "account_locked")
    assert _sign_in(api, untouched.email, PASSWORD, USER_ADDRESS).status_code == 200


def test_under_the_address_limit_other_accounts_still_sign_in_from_it(api, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    tried, other = MembershipFactory().user, MembershipFactory().user
    for _ in range(2):
        _sign_in(api, tried.email, "wrong", ATTACKER)
    assert _sign_in(api, other.email, PASSWORD, ATTACKER).status_code == 200


def test_wrong_totp_codes_at_the_admin_count_as_failed_sign_ins():
    """A wrong second factor is a failed sign-in at the admin too, as at the API."""
    staff = staff_member("platform-admins")
    client = Client()
    wrong = {
        "username": staff.email,
        "password": PASSWORD,
        "otp_token": "000000",
        "otp_device": staff.device.persistent_id,
    }
    answers = []
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        for _ in range(3):
            answers.append(client.post("/admin/login/?next=/admin/", wrong).status_code)
            clock.shift(timedelta(seconds=10))  # past the device's wait after a wrong code
        failed = AuditEvent.objects.filter(action="login_failed", target=staff.email).count()
        right = admin_login(client, staff, staff.device)

    # Before: neither audited nor counted (200 each time), and the right code opened the admin.
    assert answers == [200, 200, 403]  # the form again twice, then the lockout page
    assert failed == 3
    assert AuditEvent.objects.filter(action="account_locked", target=staff.email).exists()
    assert right.status_code == 403
