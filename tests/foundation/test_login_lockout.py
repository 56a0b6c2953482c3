"""Repeated failed sign-ins lock the account for a while; all of it is audited."""

import pytest

from edgeplug.audit.models import AuditEvent
from tests.factories import PASSWORD, MembershipFactory

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


def test_account_locks_after_repeated_failures_even_for_the_right_password(api):
    user = MembershipFactory().user
    for _ in range(3):
        api.post(TOKEN, {"email": user.email, "password": "wrong"}, format="json")
    response = api.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "account_locked")
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
