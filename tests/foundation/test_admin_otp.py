"""The admin requires a verified TOTP code from every staff user."""

import pytest
from django.test import Client

from edgeplug.audit.models import AuditEvent
from tests.conftest import admin_login
from tests.factories import TOTPDeviceFactory

pytestmark = pytest.mark.django_db


def test_password_alone_does_not_open_the_admin(staff):
    client = Client()
    response = admin_login(client, staff)
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


def test_staff_without_confirmed_device_cannot_get_in(staff):
    device = TOTPDeviceFactory(user=staff, confirmed=False)
    client = Client()
    admin_login(client, staff, device)
    assert client.get("/admin/").status_code == 302


def test_password_and_current_totp_open_the_admin(staff):
    device = TOTPDeviceFactory(user=staff)
    client = Client()
    response = admin_login(client, staff, device)
    assert response.status_code == 302, response.context["form"].errors
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(
        action="login", actor=staff, details__method="session"
    ).exists()


def test_session_without_otp_verification_is_sent_to_login(staff):
    client = Client()
    client.force_login(staff)  # a signed-in session that never passed OTP
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_audit_log_is_read_only_in_admin(staff):
    device = TOTPDeviceFactory(user=staff)
    client = Client()
    admin_login(client, staff, device)
    event = AuditEvent.objects.first()
    assert client.get("/admin/audit/auditevent/").status_code == 200
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    page = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert (
        client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )


def test_admin_sign_in_attempts_share_the_apis_budget_per_address(staff, settings):
    """THROTTLE_AUTH counts the admin's login as it counts the token endpoint's and the
    portal's: past it the page says when to retry (429) and checks nothing, even the right
    password and code (before, only django-axes' failure counts stopped a guesser here)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "2/min",
        },
    }
    device = TOTPDeviceFactory(user=staff)
    client = Client()
    api = client.post("/api/v1/auth/token", {"email": staff.email, "password": "wrong"})
    assert api.status_code == 401
    assert admin_login(client, staff).status_code == 200  # the form again: no TOTP code

    refused = admin_login(client, staff, device)

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many sign-in attempts" in refused.content.decode()
    assert client.get("/admin/").status_code == 302  # not signed in
    assert not AuditEvent.objects.filter(action="login", actor=staff).exists()
