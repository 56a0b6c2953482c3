"""Invoicing fixtures: a customer tenant holding metered and one-time plans of a vendor's
agents, devices that ran them (hourly rollups as metering writes them), a billing account."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from billing.models import BillingAccount, UsageHour
from marketplace.models import Device, Entitlement, Order, OrderStatus, PricePlan
from tests.factories import AgentFactory, TenantFactory, VendorTenantFactory

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)

GRADUATED = {
    "scheme": "graduated",
    "tiers": [{"up_to": 10, "unit_amount": 100}, {"up_to": None, "unit_amount": 50}],
    "flat_fee": 1000,
}


@dataclass
class Customer:
    tenant: object
    vendor: object
    devices: list = field(default_factory=list)
    _orders: int = 0

    def device(self, index=0):
        while len(self.devices) <= index:
            n = len(self.devices)
            self.devices.append(
                Device.objects.create(
                    tenant=self.tenant,
                    name=f"gw-{n}",
                    hardware_id=f"hw-{self.tenant.pk}-{n}",
                    core="cortex-m4",
                    token_prefix=f"p{self.tenant.pk}x{n}",
                    token_hash="0" * 64,
                    token_created_at=JAN,
                )
            )
        return self.devices[index]

    def _order(self, plan, seats, status, amount, at):
        self._orders += 1
        return Order.objects.create(
            tenant=self.tenant,
            agent=plan.agent,
            plan=plan,
            seats=seats,
            status=status,
            currency=plan.currency,
            amount=amount,
            breakdown={"total": amount},
            idempotency_key=f"key-{self._orders}",
            request_digest="0" * 64,
            completed_at=at,
        )

    def metered(self, terms=None, currency="EUR", since=JAN, agent=None):
        agent = agent or AgentFactory(tenant=self.vendor)
        plan = PricePlan.objects.create(
            agent=agent,
            tenant=self.vendor,
            key=f"metered-{agent.pk}",
            name="metered",
            kind="metered",
            currency=currency,
            terms=terms or GRADUATED,
        )
        order = self._order(plan, 1, OrderStatus.COMPLETED, 0, since)
        return Entitlement.objects.create(
            tenant=self.tenant,
            agent=agent,
            plan=plan,
            plan_snapshot=plan.snapshot(),
            order=order,
            seats=1,
            valid_from=since,
        )

    def one_time(self, amount=5000, at=JAN + timedelta(days=3), currency="EUR"):
        agent = AgentFactory(tenant=self.vendor)
        plan = PricePlan.objects.create(
            agent=agent,
            tenant=self.vendor,
            key=f"once-{agent.pk}",
            name="once",
            kind="one_time",
            currency=currency,
            amount=amount,
        )
        return self._order(plan, 1, OrderStatus.COMPLETED, amount, at)

    def ran(self, entitlement, start, hours, seconds=3600, device=0):
        """Rollups as metering writes them: ``hours`` consecutive hours from ``start``."""
        for n in range(hours):
            UsageHour.objects.update_or_create(
                tenant=self.tenant,
                agent=entitlement.agent,
                device=self.device(device),
                hour=start + timedelta(hours=n),
                defaults={"seconds": seconds},
            )

    def account(self, **extra):
        values = {
            "legal_name": "Acme Pumps GmbH",
            "address_line1": "Hafenstrasse 5",
            "postcode": "20457",
            "city": "Hamburg",
            "country": "DE",
            "tax_id": "DE123456789",
            "invoice_emails": ["ap@acme.example"],
            "currency": "EUR",
            "tax_rate": "19.00",
            **extra,
        }
        return BillingAccount.objects.create(tenant=self.tenant, **values)


@pytest.fixture
def vendor_tenant(db):
    return VendorTenantFactory()


@pytest.fixture
def make_customer(vendor_tenant):
    def make(tenant=None):
        return Customer(tenant or TenantFactory(), vendor_tenant)

    return make


@pytest.fixture
def customer(make_customer):
    return make_customer()
