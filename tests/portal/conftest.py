"""Vendors signed in to the portal the way a person signs in: email, password and TOTP;
a vendor with something sold, for the sales pages, and the same tenant once a former vendor."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from edgeplug import signing
from marketplace.models import Agent, Entitlement, Order, OrderStatus, VendorKey
from tests.conftest import totp_now
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
    finalized_sale,
)
from tests.metering.conftest import (  # noqa: F401 - the customer's deployed device
    agent,
    certificate,
    customer,
    make_plan,
    metered,
    published,
)
from tests.vendors import VENDOR_SLUG, SigningMember


@dataclass
class PortalVendor(SigningMember):
    client: Client

    @property
    def user(self):
        return self.membership.user

    def sign(self, data: bytes, keys: signing.KeyPair | None = None) -> bytes:
        """The signature file's bytes, as the upload form takes them."""
        return super().sign(data, keys).encode()


def portal_sign_in(client: Client, user, device=None, **extra):
    return client.post(
        "/portal/sign-in/",
        {
            "email": user.email,
            "password": PASSWORD,
            "otp": totp_now(device) if device else "",
            **extra,
        },
    )


def portal_enrol(client: Client, user):
    """Start an enrolment on the portal's enrolment page and confirm its code: the answer."""
    client.post("/portal/enrol/", {"start": "1"})
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return client.post("/portal/enrol/", {"otp": totp_now(device)})


@pytest.fixture
def portal_vendor(db):
    """portal_vendor(role="developer", slug=VENDOR_SLUG, tenant=None) -> a PortalVendor signed
    in to the portal (admins with a TOTP device), with one registered signing key."""
    from tests.factories import VendorTenantFactory

    def make(role="developer", slug=VENDOR_SLUG, tenant=None):
        tenant = tenant or VendorTenantFactory(slug=slug)
        membership = MembershipFactory(tenant=tenant, role=role, user=UserFactory())
        device = TOTPDeviceFactory(user=membership.user) if role == "admin" else None
        client = Client()
        response = portal_sign_in(client, membership.user, device)
        assert response.status_code == 302, response.content.decode()[-2000:]
        keys = signing.generate_keypair()
        key, _ = VendorKey.objects.get_or_create(
            tenant=tenant,
            key_id=signing.key_id(keys.public_key),
            defaults={"public_key": signing.encode_b64(keys.public_key), "name": "laptop"},
        )
        return PortalVendor(client, membership, keys, key)

    return make


@pytest.fixture
def sold(metered):  # noqa: F811
    """90 minutes of one customer's sessions yesterday, in one month, and a completed
    one-time order."""
    start = metered.base
    if (start + timedelta(hours=1)).month != start.month:  # run in the 23:00 hour of a 1st
        start -= timedelta(hours=1)
    sent = metered.send(
        [
            metered.session(1, start, 60),
            metered.session(2, start + timedelta(hours=1), 30),
        ]
    )
    assert sent.status_code == 200, sent.json()
    order = Order.objects.get()  # the free order that entitles the customer
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.COMPLETED, currency="JPY", amount=1500, completed_at=metered.now
    )
    month = metered.now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    finalized_sale(order.tenant, Entitlement.objects.get(), month, amount=10_000)
    return metered


@pytest.fixture
def former_vendor(sold):
    """The tenant that sold, after staff unticked "is vendor": it keeps its agents, so its
    payouts stay readable (``billing.powers.READ_PAYOUTS``)."""
    tenant = Agent.objects.get(pk=sold.agent_id).tenant
    tenant.is_vendor, tenant.is_customer = False, True  # a tenant is one or the other
    tenant.save(update_fields=["is_vendor", "is_customer"])
    return tenant
