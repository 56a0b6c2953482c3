"""A user enrols a TOTP device from a QR code and confirms it with a code."""

import time
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from tests.conftest import sign_in, totp_after_last, totp_now
from tests.factories import TOTPDeviceFactory, UserFactory
from tests.openapi_conformance import assert_documented

pytestmark = pytest.mark.django_db


def test_enrol_shows_qr_and_confirm_turns_mfa_on(member_client):
    client, membership = member_client("admin")
    enrol = client.post("/api/v1/auth/mfa/totp")
    assert enrol.status_code == 201
    body = enrol.json()
    assert body["otpauth_url"].startswith("otpauth://totp/")
    assert body["qr_svg"].startswith("<svg")
    device = TOTPDevice.objects.get(pk=body["device_id"])
    assert not device.confirmed

    confirm = client.post("/api/v1/auth/mfa/totp/confirm", {"otp": totp_now(device)}, format="json")
    assert confirm.status_code == 200
    assert confirm.json() == {"mfa_enabled": True}
    assert_documented(confirm, "POST /api/v1/auth/mfa/totp/confirm")
    assert client.get("/api/v1/auth/me").json()["mfa_enabled"] is True
    assert AuditEvent.objects.filter(action="mfa_enrolled", actor=membership.user).exists()


def test_wrong_code_does_not_confirm(member_client):
    client, _ = member_client("admin")
    client.post("/api/v1/auth/mfa/totp")
    response = client.post("/api/v1/auth/mfa/totp/confirm", {"otp": "000000"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "enrolment_code_invalid")
    assert client.get("/api/v1/auth/me").json()["mfa_enabled"] is False


def test_confirm_without_enrolment(member_client):
    client, _ = member_client("admin")
    response = client.post("/api/v1/auth/mfa/totp/confirm", {"otp": "123456"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "no_enrolment_pending")


def test_a_confirm_sent_again_says_mfa_is_on_already(member_client):
    """A retried confirm (its answer lost) is told the enrolment is confirmed already (before:
    "no enrolment: start one first", which would have the user enrol a second device)."""
    client, _ = member_client("admin")
    device = TOTPDevice.objects.get(pk=client.post("/api/v1/auth/mfa/totp").json()["device_id"])
    confirm = {"otp": totp_now(device)}
    assert client.post("/api/v1/auth/mfa/totp/confirm", confirm, format="json").status_code == 200
    again = client.post("/api/v1/auth/mfa/totp/confirm", confirm, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "mfa_already_enabled")
    assert "already" in again.json()["detail"]
    assert_documented(again, "POST /api/v1/auth/mfa/totp/confirm")


def test_the_code_after_the_last_is_taken_once_the_device_has_drifted(time_machine):
    """A code from the step before the clock's (still within tolerance) leaves the device a
    drift of -1; the tests' ``totp_after_last`` gives the next code, not that one again."""
    time_machine.move_to(datetime(2026, 12, 4, 19, 6, 50, tzinfo=UTC), tick=False)
    device = TOTPDeviceFactory()
    assert device.verify_token(totp_now(device, at=time.time() - device.step))
    assert device.drift == -1

    code = totp_after_last(device)

    assert device.verify_token(code)
    assert not device.verify_token(code)  # taken once


REVIEW = "/api/v1/wpk/review/999999"  # a reviewer's action: 404 with staff powers, else 403
DECISION = {"decision": "approve", "reason": "looks fine"}


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _enrol(client: APIClient) -> TOTPDevice:
    device = TOTPDevice.objects.get(pk=client.post("/api/v1/auth/mfa/totp").json()["device_id"])
    confirmed = client.post(
        "/api/v1/auth/mfa/totp/confirm", {"otp": totp_now(device)}, format="json"
    )
    assert confirmed.status_code == 200
    return device


def test_a_token_signed_in_without_a_code_adds_no_device_once_one_is_confirmed():
    """docs/security.md: someone who had the password and signed in before its owner enrolled
    (no code asked then) keeps refreshing that token; once the owner's phone is confirmed it
    neither starts nor confirms an enrolment of a device whose key it would know (before: both
    accepted, and the second device signed in with the reviewer's staff powers)."""
    reviewer = UserFactory(is_staff=True)
    reviewer.groups.add(Group.objects.get(name="reviewers"))
    thief = _bearer(sign_in(APIClient(), reviewer)["access"])
    phone = _enrol(_bearer(sign_in(APIClient(), reviewer)["access"]))
    # The owner, signed in with the phone's code, starts replacing it (a new phone).
    owner = _bearer(sign_in(APIClient(), reviewer, otp=totp_after_last(phone))["access"])
    pending = TOTPDevice.objects.get(pk=owner.post("/api/v1/auth/mfa/totp").json()["device_id"])

    started = thief.post("/api/v1/auth/mfa/totp")
    confirmed = thief.post(
        "/api/v1/auth/mfa/totp/confirm", {"otp": totp_now(pending)}, format="json"
    )

    for refused in (started, confirmed):
        assert (refused.status_code, refused.json()["code"]) == (403, "mfa_required")
        assert "code" in refused.json()["detail"]
    assert_documented(started, "POST /api/v1/auth/mfa/totp")
    assert_documented(confirmed, "POST /api/v1/auth/mfa/totp/confirm")
    # Nothing changed: the owner's pending device is still theirs to confirm.
    assert set(TOTPDevice.objects.filter(user=reviewer)) == {phone, pending}
    pending.refresh_from_db()
    assert not pending.confirmed
    assert thief.post(REVIEW, DECISION, format="json").json()["code"] == "mfa_required"
    started_and_enrolled = AuditEvent.objects.filter(actor=reviewer, action__startswith="mfa_enrol")
    assert sorted(started_and_enrolled.values_list("action", flat=True)) == [
        "mfa_enrolled",
        "mfa_enrolment_started",
        "mfa_enrolment_started",
    ]


def test_a_sign_in_with_the_code_adds_a_second_device():
    user = UserFactory()
    phone = _enrol(_bearer(sign_in(APIClient(), user)["access"]))
    verified = _bearer(sign_in(APIClient(), user, otp=totp_after_last(phone))["access"])

    second = _enrol(verified)

    assert set(TOTPDevice.objects.filter(user=user, confirmed=True)) == {phone, second}
