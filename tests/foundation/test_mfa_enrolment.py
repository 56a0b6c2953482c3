"""A user enrols a TOTP device from a QR code and confirms it with a code."""

import time
from datetime import UTC, datetime

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from edgeplug.audit.models import AuditEvent
from tests.conftest import totp_after_last, totp_now
from tests.factories import TOTPDeviceFactory
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
