"""Invoicing fixtures: a customer tenant holding metered and one-time plans of a vendor's
agents, devices that ran them (hourly rollups as metering writes them), a billing account;
a broker that refuses to publish some tasks."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from billing import invoicing
from billing.models import BillingAccount, Invoice, UsageHour
from tests.conftest import send_form
from tests.factories import (
    AgentFactory,
    DeviceFactory,
    EntitlementFactory,
    OrderFactory,
    PricePlanFactory,
    TenantFactory,
    VendorTenantFactory,
)

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)
APR = datetime(2026, 4, 1, tzinfo=UTC)

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

    def device(self, index=0):
        while len(self.devices) <= index:
            n = len(self.devices)
            self.devices.append(
                DeviceFactory(tenant=self.tenant, name=f"gw-{n}", token_created_at=JAN)
            )
        return self.devices[index]

    def metered(self, terms=None, currency="EUR", since=JAN, agent=None, key=None):
        agent = agent or AgentFactory(tenant=self.vendor)
        plan = PricePlanFactory(
            agent=agent,
            key=key or f"metered-{agent.pk}",
            currency=currency,
            terms=terms or GRADUATED,
        )
        return EntitlementFactory(order=self._order(plan, amount=0, at=since))

    def one_time(self, amount=5000, at=JAN + timedelta(days=3), currency="EUR"):
        agent = AgentFactory(tenant=self.vendor)
        plan = PricePlanFactory(
            agent=agent,
            key=f"once-{agent.pk}",
            name="once",
            kind="one_time",
            currency=currency,
            amount=amount,
        )
        return self._order(plan, amount=amount, at=at)

    def _order(self, plan, *, amount, at):
        breakdown = {"total": amount}
        return OrderFactory(
            tenant=self.tenant, plan=plan, amount=amount, breakdown=breakdown, completed_at=at
        )

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


# A billing account as a billing member sends it (PUT /api/v1/billing/account).
ACCOUNT = {
    "legal_name": "Acme Pumps GmbH",
    "address_line1": "Hafenstrasse 5",
    "postcode": "20457",
    "city": "Hamburg",
    "country": "de",
    "tax_id": "DE123456789",
    "invoice_emails": ["ap@acme.example"],
    "currency": "eur",
    "tax_rate": "19.00",
}


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


@pytest.fixture
def billed(customer, broker_refuses):
    """The customer with a billing account and a metered plan; no task is sent here (the
    finalize's emails and charges are not queued)."""
    broker_refuses.everything = True
    customer.account()
    customer.plan = customer.metered()
    return customer


@pytest.fixture
def draft(customer):
    """January's draft of a customer with a billing account: fee and three agent-hours."""
    customer.account()
    customer.ran(customer.metered(), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    return Invoice.objects.get(pk=pk)


@dataclass
class BrokerRefusal:
    """Which publishes fail as with the broker down: every one, or those of tasks whose first
    argument is one of ``invoice_ids``. ``refused`` lists them as (task, args)."""

    everything: bool = False
    invoice_ids: set = field(default_factory=set)
    refused: list = field(default_factory=list)

    def refuses(self, args) -> bool:
        return self.everything or (bool(args) and args[0] in self.invoice_ids)


@pytest.fixture
def broker_refuses(monkeypatch):
    """Publishing a task (``delay``, ``apply_async``) raises what kombu raises when Redis
    refuses the connection, for the tasks the returned ``BrokerRefusal`` names; the others
    are sent as usual (run at once under ``eager_celery``)."""
    from celery.app.task import Task
    from kombu.exceptions import OperationalError

    refusal = BrokerRefusal()
    publish = Task.apply_async

    def apply_async(task, args=None, kwargs=None, **options):
        if refusal.refuses(args):
            refusal.refused.append((task.name, tuple(args or ())))
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return publish(task, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return refusal


def credited_in_full(client, invoice):
    """Finance's list action *Credit note for the whole invoice* on ``invoice``, confirmed (its
    first step asks): the invoice list it lands on, with the action's messages."""
    return client.post(
        "/admin/billing/invoice/",
        {"action": "credit_in_full", "post": "yes", "_selected_action": [invoice.pk]},
        follow=True,
    )


def adjust_in_admin(client, invoice, description: str, amount: str, **options):
    """Finance's *Add line* below ``invoice``'s change page: the page loaded, its adjustment
    form sent as served (its one-time token too) with ``description`` and ``amount`` typed."""
    page = client.get(f"/admin/billing/invoice/{invoice.pk}/change/")
    typed = {"description": description, "amount": amount}
    return send_form(client, page, "adjust-form", typed, **options)
