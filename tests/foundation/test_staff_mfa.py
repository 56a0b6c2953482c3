"""Platform staff powers through the API need a sign-in with TOTP (the admin already does)."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.conftest import sign_in, totp_now
from tests.factories import TOTPDeviceFactory, UserFactory, staff_member

pytestmark = pytest.mark.django_db


def test_a_reviewer_without_a_second_factor_has_no_staff_powers(staff_client):
    reviewer = staff_client("reviewers", mfa=False)
    refused = reviewer.post("/api/v1/wpk/review/1", {"decision": "approve"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_required")
    assert "otp" in refused.json()["detail"]


def test_the_mfa_claim_survives_token_refresh(api):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="reviewers"))
    device = TOTPDeviceFactory(user=user)
    tokens = sign_in(api, user, otp=totp_now(device))
    assert AccessToken(tokens["access"])["mfa"] is True

    refreshed = api.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
    refreshed_access = AccessToken(refreshed.json()["access"])
    assert (refreshed_access["mfa"], refreshed_access["mfa_device"]) == (True, device.persistent_id)

    plain = UserFactory()
    assert AccessToken(sign_in(APIClient(), plain)["access"])["mfa"] is False


def test_staff_powers_stay_off_once_a_superuser_removes_the_device(api, admin_session):
    """docs/security.md: a token's staff powers count while the device it signed in with is
    confirmed; removing it takes them away for good, also once the user enrols again."""
    reviewer = staff_member("reviewers")
    tokens = sign_in(api, reviewer, otp=totp_now(reviewer.device))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    review = {"decision": "approve", "reason": "ok"}
    assert api.post("/api/v1/wpk/review/999999", review, format="json").status_code == 404

    superuser, _ = admin_session("platform-admins", is_superuser=True)
    removed = superuser.post(
        f"/admin/otp_totp/totpdevice/{reviewer.device.pk}/delete/", {"post": "yes"}
    )
    assert removed.status_code == 302

    refused = api.post("/api/v1/wpk/review/999999", review, format="json")
    # Before: 404, the reviewer's powers on, as the token's mfa claim said.
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_required")

    # Enrolled again: the token signed in with the removed device stays without staff powers
    # (before: 404, as its claim counted while any device was confirmed), and so does the
    # one it refreshes to; a sign-in with the new device has them.
    new_device = TOTPDeviceFactory(user=reviewer)
    refused = api.post("/api/v1/wpk/review/999999", review, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_required")
    refreshed = api.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    refused = api.post("/api/v1/wpk/review/999999", review, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_required")

    again = sign_in(APIClient(), reviewer, otp=totp_now(new_device))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {again['access']}")
    assert api.post("/api/v1/wpk/review/999999", review, format="json").status_code == 404
