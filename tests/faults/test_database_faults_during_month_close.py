"""The month close (``billing.tasks.close_billing_month``, the hourly job's action) run by a
real Celery worker while its database fails:

- PostgreSQL connections are terminated (``pg_terminate_backend``) for two batches of
  tenants: each kill lands while a batch has written drafts it has not committed yet. The
  close redoes the batch on a new connection, and in the end there is exactly one draft per
  tenant and currency, no line missing or written twice, and every draft equals its
  recomputation (``recompute_invoice``) with totals that add up.
- A failover lands the worker on a server that cannot write (the old primary come back as a
  standby, reached through a name not yet updated): the batch is redone on a new connection
  as for a lost one, and once the names are updated the close ends in the same run.

Only the worker's own connections are ended (it names itself with an ``application_name``),
on a private broker, so the suite's session worker cannot take the close.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from celery import Celery
from celery.result import AsyncResult
from django.db import connection

from billing import invoice_builder, invoicing
from billing.models import Invoice, InvoiceLine, UsageHour
from edgeplug.audit.models import AuditEvent
from edgeplug.tenancy.models import Tenant
from marketplace.models import Agent, Device, Entitlement, Order, PricePlan
from tests.factories import billing_accounts_for, usage_hours
from tests.faults.components import (
    BackendKiller,
    KillableWorker,
    failed_over_to_a_standby,
    worker_env,
)
from tests.gunicorn_server import database_url_for_test_db
from tests.processes import wait_for

pytestmark = [
    pytest.mark.faults,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

APP_NAME = "edgeplug-worker-under-fault"
MONTH = datetime(2026, 1, 1, tzinfo=UTC)
TENANTS = invoicing.CLOSE_BATCH + 40  # two batches, the second one short
KILLS = invoicing.CLOSE_ATTEMPTS - 1  # even all in one batch, it is redone in the run
TERMS = {
    "scheme": "graduated",
    "tiers": [{"up_to": 5, "unit_amount": 100}, {"up_to": None, "unit_amount": 40}],
    "flat_fee": 1000,
}


def _plan(vendor, currency: str, kind: str = "metered") -> PricePlan:
    agent = Agent.objects.create(
        tenant=vendor, name=f"agent-{currency}-{kind}", agent_type="x", description="x"
    )
    return PricePlan.objects.create(
        agent=agent,
        tenant=vendor,
        key=f"{kind}-{currency}",
        name=kind,
        kind=kind,
        currency=currency,
        **({"terms": TERMS} if kind == "metered" else {"amount": 4900}),
    )


def _completed_order(tenant, plan, *, key: str, at: datetime, **amount) -> Order:
    """One seat of ``plan`` bought by ``tenant`` (unsaved: the seed creates them in bulk)."""
    return Order(
        tenant=tenant,
        agent=plan.agent,
        plan=plan,
        seats=1,
        status="completed",
        currency=plan.currency,
        idempotency_key=key,
        request_digest="0" * 64,
        completed_at=at,
        **amount,
    )


def _seed(tenants: int = TENANTS) -> set[tuple[int, str]]:
    """Customers with a metered EUR plan (a third also one in USD, a fifth a paid one-time
    order), each run some hours of January; the (tenant, currency) pairs the close owes."""
    vendor = Tenant.objects.create(name="Vendor", slug="close-vendor", is_vendor=True)
    eur, usd, once = _plan(vendor, "EUR"), _plan(vendor, "USD"), _plan(vendor, "EUR", "one_time")
    customers = Tenant.objects.bulk_create(
        Tenant(name=f"Customer {n}", slug=f"close-c{n}") for n in range(tenants)
    )
    billing_accounts_for(customers[::2])  # half with 19 % VAT terms, half without an account
    devices = {
        d.tenant_id: d
        for d in Device.objects.bulk_create(
            Device(
                tenant=t,
                name="gw",
                hardware_id=f"hw-{t.pk}",
                core="cortex-m4",
                token_prefix=f"c{t.pk}",
                token_hash="0" * 64,
                token_created_at=MONTH,
            )
            for t in customers
        )
    }
    holdings = [(t, eur) for t in customers] + [(t, usd) for t in customers[::3]]
    orders = Order.objects.bulk_create(
        [_completed_order(t, p, key=f"k{t.pk}-{p.pk}", at=MONTH) for t, p in holdings]
        + [
            _completed_order(
                t, once, key=f"once-{t.pk}", at=MONTH + timedelta(days=9), amount=once.amount
            )
            for t in customers[::5]
        ]
    )
    Entitlement.objects.bulk_create(
        Entitlement(
            tenant_id=o.tenant_id,
            agent_id=o.agent_id,
            plan=o.plan,
            plan_snapshot=o.plan.snapshot(),
            order=o,
            seats=1,
            valid_from=MONTH,
        )
        for o in orders
        if o.plan.kind == "metered"
    )
    UsageHour.objects.bulk_create(
        row
        for t, p in holdings
        for row in usage_hours(
            devices[t.pk],
            p.agent,
            MONTH + timedelta(days=t.pk % 28),
            1 + t.pk % 9,
            seconds=600 + 100 * (t.pk % 30),
        )
    )
    return {(t.pk, p.currency) for t, p in holdings}


@pytest.fixture
def worker(tmp_path, private_redis, media_root):
    env = worker_env(
        private_redis.url,
        media_root,
        DATABASE_URL=f"{database_url_for_test_db()}?application_name={APP_NAME}",
    )
    pool = KillableWorker(tmp_path, env)
    pool.start()
    yield pool
    pool.stop_all()


@pytest.fixture
def client(private_redis):
    # Not the current app: later tests' shared tasks must not publish to this private Redis.
    client = Celery(
        "close-client",
        broker=private_redis.url,
        backend=private_redis.url,
        set_as_current=False,
    )
    yield client
    client.close()


def _close(client: Celery, month: str) -> AsyncResult:
    return client.send_task("billing.tasks.close_billing_month", args=[month], queue="default")


def test_killed_connections_during_the_month_close_leave_one_draft_per_tenant_and_currency(
    client, worker
):
    owed = _seed()
    # Only a transaction that has written something (a batch's drafts, not yet committed).
    killer = BackendKiller(
        APP_NAME, pause_s=(0.3, 1.0), budget=KILLS, when="backend_xid IS NOT NULL"
    )
    killer.start()
    try:
        closed = _close(client, "2026-01").get(timeout=600)
    except Exception as error:
        raise AssertionError(f"{error!r}\n{worker.logs()}") from error
    finally:
        killer.stop()

    assert closed["retries"] >= 1, (
        f"no kill cut the close ({killer.killed}): nothing was tested\n{worker.logs()}"
    )
    # All drafts made in the one run: every batch redone within it, none given up.
    assert (closed["period"], closed["created"], closed["updated"]) == ("2026-01", len(owed), 0)
    invoices = list(Invoice.objects.filter(period_start=MONTH).prefetch_related("lines"))
    assert Counter((i.tenant_id, i.currency) for i in invoices) == Counter(owed)
    assert {i.status for i in invoices} == {"draft"} and not any(i.number for i in invoices)
    for invoice in invoices:
        lines = list(invoice.lines.all())
        assert [line.position for line in lines] == list(range(len(lines))), invoice.pk
        recomputed = invoicing.recompute_invoice(invoice)
        assert recomputed.matches, (invoice.pk, recomputed.differences)
        totals = invoice_builder.totals(
            [(line.amount, line.is_paid) for line in lines],
            invoice.tax_rate,
            invoice.reverse_charge,
        )
        stored = (invoice.subtotal, invoice.tax, invoice.total, invoice.prepaid_amount)
        assert stored == (totals.subtotal, totals.tax, totals.total, totals.prepaid), invoice.pk
    assert AuditEvent.objects.filter(action="invoice_drafted").count() == len(owed)
    paid_orders = InvoiceLine.objects.filter(invoice__in=invoices, kind="one_time_order")
    assert paid_orders.count() == len(range(0, TENANTS, 5))


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a read-only standby is PostgreSQL's: the embedded SQLite has none",
)
def test_a_close_that_meets_a_standby_after_a_failover_ends_once_the_names_are_updated(
    client, worker
):
    """After a failover the worker's connection reaches a server that cannot write: the batch's
    drafts are refused. The close takes it as a lost connection (the batch redone on a new
    connection, in the same run), where it failed the task at once, for good, with an internal
    error."""
    owed = _seed(tenants=3)
    try:
        # The worker holds no connection between tasks (Celery closes them before and after
        # each): the close's own connection is its first to the standby.
        with failed_over_to_a_standby(APP_NAME, between_connections=True):
            closing = _close(client, "2026-01")
            # Until the close has met the standby (the worker says it redoes the batch).
            wait_for(
                lambda: "could not use the database" in worker.logs() or closing.ready(),
                timeout=60,
            )
        closed = closing.get(timeout=60)
    except Exception as error:
        raise AssertionError(f"{error!r}\n{worker.logs()}") from error

    assert closed["retries"] >= 1, worker.logs()
    assert (closed["created"], closed["updated"]) == (len(owed), 0)
    invoices = Invoice.objects.filter(period_start=MONTH)
    assert Counter((i.tenant_id, i.currency) for i in invoices) == Counter(owed)
