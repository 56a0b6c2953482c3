"""``make bench`` (billing part): the month close and rating, beside the goals of issue 14.

* month close: N tenants with 3 metered entitlements each (usage in every one), closed into
  drafts and then finalized with their gapless numbers by ``finalize_due_invoices`` as the
  beat job does it (goal: 1,000 tenants < 30 s);
* rating: one tenant-month built from 1,000,000 usage events. Metering folds events into
  hourly rollups as they arrive, so rating reads the rollup rows those events produce
  (devices x agent-hours), not the events: the figure is ``build_drafts`` over those rows
  (goal < 1 s).

Runs against its own PostgreSQL database (``BENCH_BILLING_DATABASE_URL``, the name must
contain "bench"; dropped and recreated, then migrated, and dropped at the end unless
``--keep-database``). Prints a table, writes JSON to ``--out`` (default
var/bench/billing.json). ``--smoke`` is a tiny size for CI.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta

from benchmarks.web import cli
from benchmarks.web.stack import database_name, drop_database, recreate_database

DATABASE_URL = cli.UrlOption(
    "BENCH_BILLING_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/edgeplug_bench_billing"
)
MONTH = datetime(2026, 1, 1, tzinfo=UTC)
FULL = {"tenants": 1000, "events": 1_000_000, "devices": 100}
SMOKE = {"tenants": 10, "events": 10_000, "devices": 5}
GOALS = {"close_s": 30.0, "rating_s": 1.0}
TERMS = {
    "scheme": "graduated",
    "tiers": [{"up_to": 100, "unit_amount": 100}, {"up_to": None, "unit_amount": 50}],
    "flat_fee": 1000,
}


def _setup(database_url: str, migrate: bool) -> None:
    os.environ["DATABASE_URL"] = database_url
    # Off the embedded default the settings want a SECRET_KEY; this one process keeps nothing
    # it signs, so any will do.
    os.environ["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edgeplug.settings")
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)


def _seed_close(tenants: int, devices_per_tenant: int = 1):
    """Tenants with 3 metered entitlements of one vendor's agents, 24 h of use each."""
    from billing.models import UsageHour
    from edgeplug.tenancy.models import Tenant
    from marketplace.models import Agent, Device, Entitlement, Order
    from tests.factories import (
        DeviceFactory,
        EntitlementFactory,
        OrderFactory,
        PricePlanFactory,
        billing_accounts_for,
        usage_hours,
    )

    vendor = Tenant.objects.create(
        name="Bench vendor", slug="bench-vendor", is_vendor=True, is_customer=False
    )
    agents = [
        Agent.objects.create(tenant=vendor, name=f"agent-{n}", agent_type="x", description="x")
        for n in range(3)
    ]
    plans = [PricePlanFactory(agent=a, key="m", terms=TERMS) for a in agents]
    customers = Tenant.objects.bulk_create(
        Tenant(name=f"Customer {n}", slug=f"bench-c{n}") for n in range(tenants)
    )
    billing_accounts_for(customers)
    devices = Device.objects.bulk_create(
        DeviceFactory.build(tenant=t, name="gw", token_created_at=MONTH) for t in customers
    )
    orders = Order.objects.bulk_create(
        OrderFactory.build(tenant=t, plan=p, completed_at=MONTH) for t in customers for p in plans
    )
    Entitlement.objects.bulk_create(EntitlementFactory.build(order=o) for o in orders)
    UsageHour.objects.bulk_create(
        (row for d in devices for a in agents for row in usage_hours(d, a, MONTH, 24)),
        batch_size=5000,
    )


def _bench_close(tenants: int) -> dict:
    from billing import invoicing

    _seed_close(tenants)
    started = time.perf_counter()
    result = invoicing.close_billing_period(MONTH)
    drafted = time.perf_counter()
    # What the beat job does once the grace period is over: finalize_due_invoices, batched.
    run = invoicing.finalize_due_invoices(MONTH + timedelta(days=35))
    finished = time.perf_counter()
    assert len(run.finalized) == len(result.created) and not run.refused
    return {
        "tenants": tenants,
        "entitlements": tenants * 3,
        "drafts": len(result.created),
        "close_drafts_s": round(drafted - started, 3),
        "finalize_s": round(finished - drafted, 3),
        "close_s": round(finished - started, 3),
    }


def _bench_rating(events: int, devices: int) -> dict:
    """A tenant whose ``devices`` ran one agent all month; ``events`` sessions spread over
    them fold into at most devices x 744 hourly rollup rows."""
    from billing import invoice_builder
    from billing.models import UsageHour
    from edgeplug.tenancy.models import Tenant
    from marketplace.models import Agent, Device
    from tests.factories import (
        DeviceFactory,
        EntitlementFactory,
        PricePlanFactory,
        usage_hours,
    )

    vendor = Tenant.objects.get(slug="bench-vendor")
    agent = Agent.objects.create(tenant=vendor, name="rated", agent_type="x", description="x")
    plan = PricePlanFactory(agent=agent, key="r", name="rated", terms=TERMS)
    tenant = Tenant.objects.create(name="Rated customer", slug="bench-rated")
    EntitlementFactory(order__tenant=tenant, order__plan=plan, order__completed_at=MONTH)
    gateways = Device.objects.bulk_create(
        DeviceFactory.build(tenant=tenant, name=f"gw{n}", token_created_at=MONTH)
        for n in range(devices)
    )
    hours = 31 * 24
    per_slot = max(-(-events // (devices * hours)), 1)  # events in one device-hour, rounded up
    seconds = min(per_slot * 60, 3600)  # each event a one-minute session
    UsageHour.objects.bulk_create(
        (row for d in gateways for row in usage_hours(d, agent, MONTH, hours, seconds=seconds)),
        batch_size=5000,
    )
    rows = devices * hours
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        drafts = invoice_builder.build_drafts(tenant.pk, MONTH)
        timings.append(time.perf_counter() - started)
    total = sum(line.amount for line in drafts["EUR"].lines)
    return {
        "events": per_slot * rows,
        "rollup_rows": rows,
        "rating_s": round(min(timings), 3),
        "rating_runs_s": [round(t, 3) for t in timings],
        "invoice_subtotal_minor": total,
    }


def run(args: argparse.Namespace) -> dict:
    size = cli.chosen_size(args, full=FULL, smoke=SMOKE)
    recreate_database(args.database_url, args.template_database)
    try:
        _setup(args.database_url, migrate=not args.template_database)
        close = _bench_close(size["tenants"])
        rating = _bench_rating(size["events"], size["devices"])
    finally:
        if not args.keep_database:
            from django.db import connections

            connections.close_all()
            drop_database(args.database_url)
    return {
        "benchmark": "billing",
        "smoke": args.smoke,
        **cli.provenance(),
        "goals": [
            {
                "goal": f"month close of 1,000 tenants < {GOALS['close_s']:g} s",
                "value": close["close_s"],
                # a smaller close says nothing about this goal
                "met": close["close_s"] < GOALS["close_s"] if close["tenants"] >= 1000 else None,
            },
            {
                "goal": f"rating a tenant-month < {GOALS['rating_s']:g} s",
                "value": rating["rating_s"],
                "met": rating["rating_s"] < GOALS["rating_s"],
            },
        ],
        "close": close,
        "rating": rating,
    }


def _table(result: dict) -> str:
    close, rating = result["close"], result["rating"]
    rows = [
        (
            f"month close, {close['tenants']} tenants x 3 entitlements (drafts + numbers)",
            close["close_s"],
            GOALS["close_s"] if close["tenants"] >= 1000 else None,
        ),
        (
            f"rating a tenant-month of {rating['events']:,} events "
            f"({rating['rollup_rows']:,} rollup rows)",
            rating["rating_s"],
            GOALS["rating_s"],
        ),
    ]
    lines = [f"{'figure':<78} {'seconds':>8}  goal"]
    for name, value, goal in rows:
        if goal is None:
            verdict = f"(goal < {GOALS['close_s']:g} s is for 1,000 tenants)"
        else:
            verdict = f"< {goal:g} s {'met' if value < goal else 'MISSED'}"
        lines.append(f"{name:<78} {value:>8.3f}  {verdict}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = cli.bench_parser("billing", __doc__.splitlines()[0], smoke="a tiny size, in seconds")
    parser.add_argument("--tenants", type=int)
    parser.add_argument("--events", type=int)
    cli.add_database_arguments(parser, DATABASE_URL)
    args = parser.parse_args(argv)
    if "bench" not in database_name(args.database_url):
        print("the benchmark database name must contain 'bench' (it is dropped)", file=sys.stderr)
        return 2
    return cli.finish("bench-billing", run, args, _table)


if __name__ == "__main__":
    sys.exit(main())
