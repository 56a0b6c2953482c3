"""Signing in with JWT: what a user sees for each right and wrong attempt."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from tests.conftest import sign_in, totp_now
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
    VendorTenantFactory,
)
from tests.portal.test_sign_in import portal_sign_in

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token"


def test_token_carries_tenant_and_role(api):
    membership = MembershipFactory(role="developer")
    tokens = sign_in(api, membership.user)
    claims = AccessToken(tokens["access"])
    assert claims["tenant_id"] == membership.tenant_id
    assert claims["role"] == "developer"
    assert tokens["tenant"] == membership.tenant.slug


def test_me_shows_tenant_and_role(api):
    membership = MembershipFactory(role="operator")
    tokens = sign_in(api, membership.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/api/v1/auth/me").json()
    assert me["tenant"] == membership.tenant.slug
    assert me["role"] == "operator"
    assert me["mfa_enabled"] is False


def test_me_lists_only_the_memberships_one_can_sign_in_to(api):
    """A deactivated tenant's membership stays in the database but no longer counts anywhere:
    neither for signing in (only the live one is left, so no tenant needs naming) nor in /me."""
    live = MembershipFactory(role="operator")
    closed = MembershipFactory(user=live.user, role="admin")
    closed.tenant.is_active = False
    closed.tenant.save(update_fields=["is_active"])
    tokens = sign_in(api, live.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/api/v1/auth/me").json()
    assert tokens["tenant"] == live.tenant.slug
    assert [m["tenant"] for m in me["memberships"]] == [live.tenant.slug]


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ({"email": "nobody@example.com", "password": "x"}, "invalid_credentials", 401),
        ({"email": "EMAIL", "password": "wrong"}, "invalid_credentials", 401),
        ({"email": "EMAIL"}, "required", 400),
        ({"email": "not-an-email", "password": "x"}, "invalid", 400),
        ({"email": "EMAIL", "password": PASSWORD, "admin": True}, "unknown_field", 400),
        ({"email": "EMAIL", "password": PASSWORD, "tenant": "nope"}, "unknown_tenant", 401),
    ],
)
def test_bad_sign_in_gets_specific_code(api, body, code, status):
    user = MembershipFactory().user
    body = {k: (user.email if v == "EMAIL" else v) for k, v in body.items()}
    response = api.post(TOKEN, body, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code


def test_inactive_user_is_told_so_only_with_the_right_password(api):
    user = UserFactory(is_active=False)
    right = api.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    wrong = api.post(TOKEN, {"email": user.email, "password": "nope"}, format="json")
    assert (right.status_code, right.json()["code"]) == (401, "user_inactive")
    assert wrong.json()["code"] == "invalid_credentials"


@pytest.mark.parametrize("with_tenant", [True, False])
def test_a_deactivated_account_is_told_alike_by_refresh_and_by_a_request(api, with_tenant):
    user = MembershipFactory().user if with_tenant else UserFactory()
    tokens = sign_in(api, user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    refreshed = api.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    requested = api.get("/api/v1/auth/me")
    assert (refreshed.status_code, refreshed.json()["code"]) == (401, "user_inactive")
    assert (requested.status_code, requested.json()["code"]) == (401, "user_inactive")


def test_user_in_several_tenants_must_choose(api):
    first = MembershipFactory(role="admin")
    second = MembershipFactory(user=first.user, role="billing")
    response = api.post(TOKEN, {"email": first.user.email, "password": PASSWORD}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "tenant_required")
    assert response.json()["field"] == "tenant"
    # Which ones, by the short name `tenant` takes: no page shows a customer's.
    for membership in (first, second):
        assert f"{membership.tenant.slug} ({membership.tenant.name})" in response.json()["detail"]
    tokens = sign_in(api, first.user, tenant=second.tenant)
    assert AccessToken(tokens["access"])["role"] == "billing"


def test_a_tenant_is_named_by_its_name_as_the_pages_show_it(api):
    """The name was refused by the field's own check ('Enter a valid "slug"') before the
    sign-in could look it up, though the portal takes it."""
    first = MembershipFactory(role="admin", tenant__name="Globex Factory")
    MembershipFactory(user=first.user, role="billing")
    body = {"email": first.user.email, "password": PASSWORD, "tenant": "globex factory"}
    response = api.post(TOKEN, body, format="json")
    assert response.status_code == 200
    assert AccessToken(response.json()["access"])["role"] == "admin"


def test_otp_required_invalid_and_accepted(api, time_machine):
    device = TOTPDeviceFactory(user=MembershipFactory().user)
    body = {"email": device.user.email, "password": PASSWORD}
    missing = api.post(TOKEN, body, format="json")
    assert (missing.status_code, missing.json()["code"]) == (401, "otp_required")
    wrong = api.post(TOKEN, {**body, "otp": "000000"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "otp_invalid")
    assert missing.json()["field"] == wrong.json()["field"] == "otp"
    # django-otp makes the device wait a second after a wrong code: the clock moves on 2 s.
    time_machine.move_to(datetime.now(UTC) + timedelta(seconds=2))
    assert api.post(TOKEN, {**body, "otp": totp_now(device)}, format="json").status_code == 200


def test_refresh_rotates_and_old_refresh_is_blacklisted(api):
    tokens = sign_in(api, MembershipFactory().user)
    first = api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert first.status_code == 200
    assert first.json()["refresh"] != tokens["refresh"]
    assert first.json()["tenant"] == tokens["tenant"]
    again = api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert (again.status_code, again.json()["code"]) == (401, "token_not_valid")


def test_logout_blacklists_the_refresh_token(api):
    tokens = sign_in(api, MembershipFactory().user)
    assert (
        api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    after = api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert after.status_code == 401


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered(access: str) -> str:
    header, payload, signature = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    claims["tenant_id"] = claims["tenant_id"] + 1000
    return f"{header}.{_b64(claims)}.{signature}"


def _alg_none(access: str) -> str:
    _, payload, _ = access.split(".")
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."


def _expired(access: str) -> str:
    token = AccessToken(access)
    token.set_exp(lifetime=-timedelta(seconds=5))
    return str(token)


@pytest.mark.parametrize("forge", [_tampered, _alg_none, _expired, lambda a: "garbage"])
def test_forged_or_expired_tokens_get_401(api, forge):
    tokens = sign_in(api, MembershipFactory().user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forge(tokens['access'])}")
    response = api.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_an_access_token_is_read_whatever_the_case_of_its_scheme(api, scheme):
    """An auth scheme is case-insensitive (RFC 9110 §11.1) and OAuth2 token responses spell
    it ``bearer``: simplejwt compared it with ``Bearer`` as written, so ``bearer <token>``
    was 401 not_authenticated, "credentials were not provided", while the device door and
    /metrics read the scheme in any case."""
    membership = MembershipFactory(role="admin")
    access = sign_in(api, membership.user)["access"]
    api.credentials(HTTP_AUTHORIZATION=f"{scheme} {access}")

    me = api.get("/api/v1/auth/me")

    assert (me.status_code, me.json().get("email")) == (200, membership.user.email), me.json()
    api.credentials(HTTP_AUTHORIZATION=f"{scheme} {access} extra")
    refused = api.get("/api/v1/auth/me")
    assert (refused.status_code, refused.json()["code"]) == (401, "bad_authorization_header")


def test_no_token_gets_401_not_authenticated(api):
    response = api.get("/api/v1/auth/me")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_removed_membership_invalidates_tokens(api):
    membership = MembershipFactory()
    tokens = sign_in(api, membership.user)
    membership.delete()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = api.get("/api/v1/auth/me")
    assert (response.status_code, response.json()["code"]) == (401, "membership_revoked")


def test_a_refresh_answers_the_role_as_it_is_now_and_refuses_an_ended_membership(api):
    membership = MembershipFactory(role="admin")
    tokens = sign_in(api, membership.user)
    membership.role = "developer"
    membership.save(update_fields=["role"])
    refreshed = api.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert (refreshed.status_code, refreshed.json()["role"]) == (200, "developer")
    membership.delete()
    ended = api.post(
        "/api/v1/auth/token/refresh", {"refresh": refreshed.json()["refresh"]}, format="json"
    )
    assert (ended.status_code, ended.json()["code"]) == (401, "membership_revoked")


def test_a_member_refused_a_refresh_while_their_tenant_was_suspended_refreshes_once_it_is_back(
    api,
):
    """A refused refresh writes nothing, as for a deactivated account: the token refused while
    the tenant was deactivated is not spent, and works again once staff reactivate it."""
    membership = MembershipFactory(role="developer")
    tokens = sign_in(api, membership.user)
    tenant = membership.tenant
    tenant.is_active = False
    tenant.save(update_fields=["is_active"])
    outstanding = OutstandingToken.objects.count()

    refused = api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (401, "membership_revoked")
    # Before: the presented token blacklisted and a new one, which nobody received, recorded.
    assert OutstandingToken.objects.count() == outstanding
    assert not BlacklistedToken.objects.exists()

    tenant.is_active = True
    tenant.save(update_fields=["is_active"])
    again = api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert (again.status_code, again.json()["role"]) == (200, "developer")


def test_an_access_token_stops_working_when_its_lifetime_has_passed(api, settings):
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        tokens = sign_in(api, MembershipFactory().user)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        clock.shift(lifetime - timedelta(seconds=5))
        assert api.get("/api/v1/auth/me").status_code == 200
        clock.shift(timedelta(seconds=10))
        response = api.get("/api/v1/auth/me")
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


NEW_PASSWORD = "a much longer new passphrase"


def _changed_in_the_portal(user, admin_session):
    client = Client()
    portal_sign_in(client, user)
    changed = client.post(
        "/portal/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302


def _set_by_a_superuser_in_the_admin(user, admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    changed = client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert changed.status_code == 302


@pytest.mark.parametrize(
    "change", [_changed_in_the_portal, _set_by_a_superuser_in_the_admin], ids=lambda c: c.__name__
)
def test_a_password_change_ends_the_tokens_signed_in_with_the_old_one(api, admin_session, change):
    user = MembershipFactory(role="developer", tenant=VendorTenantFactory()).user
    tokens = sign_in(api, user)

    change(user, admin_session)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    requested = api.get("/api/v1/auth/me")
    outstanding = OutstandingToken.objects.count()
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    # Before: 200 and a fresh pair, the old password's sign-in living on.
    assert (requested.status_code, requested.json()["code"]) == (401, "password_changed")
    assert (refreshed.status_code, refreshed.json()["code"]) == (401, "password_changed")
    # Refused before it is rotated: no new refresh token recorded, nothing blacklisted.
    assert OutstandingToken.objects.count() == outstanding
    assert not BlacklistedToken.objects.exists()
    fresh = APIClient().post(TOKEN, {"email": user.email, "password": NEW_PASSWORD}, format="json")
    assert fresh.status_code == 200


def test_a_token_signed_before_passwords_were_checked_is_refused(api):
    """Tokens signed before 2026-12-06 carry no digest of the password: refused, signed in again."""
    tokens = sign_in(api, MembershipFactory().user)
    older = AccessToken(tokens["access"])
    del older["hash_password"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {older}")
    response = api.get("/api/v1/auth/me")
    assert (response.status_code, response.json()["code"]) == (401, "password_changed")
