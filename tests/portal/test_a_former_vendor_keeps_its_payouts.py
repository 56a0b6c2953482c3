"""A tenant whose "is vendor" staff unticked, keeping its agents: its admins and billing
members still read its payouts at the API and on the portal's sales pages (one power,
``billing.powers.READ_PAYOUTS``), while nobody there publishes any more (``PUBLISH``; what
it may still take back: test_a_former_vendor_takes_back.py). Its members still change their
password, and its admins manage its team, on the portal as at the API (``TENANT_ADMIN``)."""

import pytest
from django.test import Client

from edgeplug.tenancy.models import Membership
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.portal.conftest import portal_sign_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["admin", "billing"])
def test_a_former_vendors_payouts_stay_readable_at_the_api_and_the_portal(
    portal_vendor,
    member_client,
    sold,
    former_vendor,
    role,
):
    period = sold.now.strftime("%Y-%m")
    api, _ = member_client(role, tenant=former_vendor)
    vendor = portal_vendor(role=role, tenant=former_vendor)  # signs in after the unticking
    assert api.get("/api/v1/vendor/payouts").status_code == 200
    assert api.get(f"/api/v1/vendor/payouts/{period}").status_code == 200
    page = vendor.client.get("/portal/sales/")
    assert page.status_code == 200
    (payout,) = page.context["payouts"]
    assert payout["period"] == period
    assert vendor.client.get("/portal/sales.csv").status_code == 200
    statement = vendor.client.get(f"/portal/sales/payouts/{period}.csv")
    assert statement.status_code == 200
    assert "EP-2026-000001" in b"".join(statement.streaming_content).decode()


def test_a_former_vendor_no_longer_publishes_at_the_api_or_the_portal(
    portal_vendor,
    member_client,
    former_vendor,
):
    api, _ = member_client("developer", tenant=former_vendor)
    vendor = portal_vendor(role="developer", tenant=former_vendor)
    assert api.post("/api/v1/vendor/keys", {"public_key": "x"}, format="json").status_code == 403
    upload = vendor.client.get("/portal/upload/")
    assert upload.status_code == 403
    assert "portal/not_a_vendor.html" in [t.name for t in upload.templates]
    assert vendor.client.post("/portal/keys/", {"public_key": "x"}).status_code == 403
    assert vendor.client.get("/portal/sales/").status_code == 403  # not a billing member
    assert api.get("/api/v1/vendor/payouts").status_code == 403


def test_a_former_vendors_billing_member_lands_on_its_sales(former_vendor):
    """Its dashboard is a vendor's page (403 not_a_vendor): the sign-in goes to what it may read."""
    membership = MembershipFactory(tenant=former_vendor, role="billing", user=UserFactory())
    client = Client()
    signed_in = portal_sign_in(client, membership.user, None)
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/portal/sales/")
    assert client.get(signed_in["Location"]).status_code == 200


@pytest.mark.parametrize("role", ["admin", "developer", "operator", "billing"])
def test_a_former_vendors_member_changes_their_password(portal_vendor, former_vendor, role):
    vendor = portal_vendor(role=role, tenant=former_vendor)
    new = "a-new-passphrase-for-2026"
    changed = vendor.client.post(
        "/portal/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302, changed.content.decode()[-1500:]
    vendor.user.refresh_from_db()
    assert vendor.user.check_password(new)
    landing = vendor.client.get(changed["Location"])
    assert landing.status_code == 200
    assert "Your password is changed." in landing.content.decode()


def test_a_former_vendors_admin_manages_its_team_as_at_the_api(
    portal_vendor, member_client, former_vendor
):
    api, _ = member_client("admin", tenant=former_vendor)
    assert api.get("/api/v1/tenant/members").status_code == 200
    admin = portal_vendor(role="admin", tenant=former_vendor)
    newcomer = UserFactory()
    page = admin.client.post(
        "/portal/team/", {"email": newcomer.email, "role": "billing"}, follow=True
    )
    assert page.status_code == 200
    assert f"{newcomer.email} joined as billing" in page.content.decode()
    assert Membership.objects.get(user=newcomer, tenant=former_vendor).role == "billing"


def test_a_former_vendors_billing_member_is_sent_back_to_its_sales(portal_vendor, former_vendor):
    """Refused a page for admins, the way back leads where it may go, not to a dashboard."""
    billing = portal_vendor(role="billing", tenant=former_vendor)
    refused = billing.client.get("/portal/team/")
    assert refused.status_code == 403
    assert 'href="/portal/sales/">Back to the portal</a>' in refused.content.decode()
