"""A member's TOTP enrolment (``mfa_enrolment_started``, ``mfa_enrolled``) is in their
tenant's audit trail with the address and request it came from, as their sign-in is, whether
it was made through the API or the portal's enrolment page."""

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from tests.conftest import sign_in, totp_now
from tests.factories import MembershipFactory, UserFactory, VendorTenantFactory
from tests.portal.conftest import portal_sign_in

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"
ENROLMENT = ("mfa_enrolment_started", "mfa_enrolled")


def _as_the_trail_has_them(admin_client, member) -> list[tuple]:
    """The member's enrolment events as their tenant's admin reads the trail, and where each
    came from as stored."""
    shown = []
    for action in ENROLMENT:
        trail = admin_client.get(f"/api/v1/tenant/audit-events?action={action}").json()
        shown.append((action, trail["count"]))
    stored = AuditEvent.objects.filter(actor=member.user, action__in=ENROLMENT).order_by("id")
    return shown + [
        (event.action, event.tenant_id, event.ip, bool(event.request_id)) for event in stored
    ]


def _expected(member) -> list[tuple]:
    return [
        ("mfa_enrolment_started", 1),
        ("mfa_enrolled", 1),
        ("mfa_enrolment_started", member.tenant_id, ADDRESS, True),
        ("mfa_enrolled", member.tenant_id, ADDRESS, True),
    ]


def test_an_enrolment_through_the_api_is_in_the_tenants_trail(member_client):
    admin_client, admin = member_client("admin")
    member = MembershipFactory(tenant=admin.tenant, role="developer", user=UserFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, member.user)['access']}")

    started = client.post("/api/v1/auth/mfa/totp", REMOTE_ADDR=ADDRESS)
    assert started.status_code == 201
    device = TOTPDevice.objects.get(pk=started.json()["device_id"])
    confirmed = client.post(
        "/api/v1/auth/mfa/totp/confirm",
        {"otp": totp_now(device)},
        format="json",
        REMOTE_ADDR=ADDRESS,
    )
    assert confirmed.status_code == 200

    assert _as_the_trail_has_them(admin_client, member) == _expected(member)


def test_an_enrolment_on_the_portals_page_is_in_the_tenants_trail(member_client):
    admin_client, admin = member_client("admin", tenant=VendorTenantFactory())
    member = MembershipFactory(tenant=admin.tenant, role="admin", user=UserFactory())
    client = Client(REMOTE_ADDR=ADDRESS)
    assert portal_sign_in(client, member.user)["Location"] == "/portal/enrol/"

    assert client.post("/portal/enrol/", {"start": "1"})["Location"] == "/portal/enrol/"
    device = TOTPDevice.objects.get(user=member.user, confirmed=False)
    assert client.post("/portal/enrol/", {"otp": totp_now(device)})["Location"] == "/portal/"

    assert _as_the_trail_has_them(admin_client, member) == _expected(member)
