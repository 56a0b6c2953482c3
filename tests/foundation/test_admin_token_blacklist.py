"""simplejwt's refresh-token blacklist is read-only in the admin: deleting a blacklisted row
would revive a rotated or signed-out refresh token, and nothing there is audited."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import sign_in
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

BLACKLIST_URL = "/admin/token_blacklist/blacklistedtoken/"
OUTSTANDING_URL = "/admin/token_blacklist/outstandingtoken/"


def _refresh(api: APIClient, refresh: str):
    return api.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")


@pytest.fixture
def rotated_refresh():
    """A member's refresh token, used once: rotation blacklisted it."""
    api = APIClient()
    refresh = sign_in(api, MembershipFactory(role="admin").user)["refresh"]
    assert _refresh(api, refresh).status_code == 200
    refused = _refresh(api, refresh)
    assert (refused.status_code, refused.json()["code"]) == (401, "token_not_valid")
    return api, refresh


def test_a_superuser_cannot_delete_a_blacklisted_token_to_revive_it(rotated_refresh, admin_session):
    api, refresh = rotated_refresh
    row = BlacklistedToken.objects.get(token__jti=RefreshToken(refresh, verify=False)["jti"])
    client, _ = admin_session("platform-admins", is_superuser=True)

    assert client.get(BLACKLIST_URL).status_code == 200  # still readable
    assert client.get(f"{BLACKLIST_URL}{row.pk}/delete/").status_code == 403
    assert client.post(f"{BLACKLIST_URL}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        BLACKLIST_URL, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )

    assert bulk.status_code in (200, 302)  # the list again: no such action offered
    assert BlacklistedToken.objects.filter(pk=row.pk).exists()
    again = _refresh(api, refresh)
    assert (again.status_code, again.json()["code"]) == (401, "token_not_valid")


def test_blacklist_and_outstanding_tokens_cannot_be_added_or_changed_in_the_admin(
    rotated_refresh, admin_session
):
    _, refresh = rotated_refresh
    row = BlacklistedToken.objects.get(token__jti=RefreshToken(refresh, verify=False)["jti"])
    outstanding = OutstandingToken.objects.exclude(pk=row.token_id).first()
    client, _ = admin_session("platform-admins", is_superuser=True)

    assert client.get(f"{BLACKLIST_URL}add/").status_code == 403
    assert client.get(f"{OUTSTANDING_URL}add/").status_code == 403
    view = client.get(f"{BLACKLIST_URL}{row.pk}/change/")
    assert view.status_code == 200
    assert b'name="_save"' not in view.content
    changed = client.post(f"{BLACKLIST_URL}{row.pk}/change/", {"token": outstanding.pk})
    assert changed.status_code == 403
    assert BlacklistedToken.objects.get(pk=row.pk).token_id == row.token_id
    deleted = client.post(f"{OUTSTANDING_URL}{outstanding.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert OutstandingToken.objects.filter(pk=outstanding.pk).exists()
