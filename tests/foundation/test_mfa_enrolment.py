"""A user enrols a TOTP device from a QR code and confirms it with a code."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from edgeplug.audit.models import AuditEvent
from tests.conftest import totp_now
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
