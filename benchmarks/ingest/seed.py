"""Seeding the ingest benchmark's database (run in a Django subprocess): a vendor's public,
certified agent (registry factories and a real certificate), then through the real actions a
customer's free order with one seat per device (valid since before the history it reports),
and the devices registered and deployed.
Prints one JSON object on stdout."""

import argparse
import json
import os
import sys
from datetime import timedelta

import django


def devices(count: int) -> dict:
    from django.conf import settings
    from django.utils import timezone

    from marketplace import devices as device_actions
    from marketplace.models import Entitlement
    from marketplace.orders import place_order
    from marketplace.plans import create_plan
    from tests.factories import (
        AgentFactory,
        AgentVersionFactory,
        TenantFactory,
        simulated_certificate,
    )

    vendor = TenantFactory(slug="ingest-vendor", is_vendor=True, is_customer=False)
    agent = AgentFactory(tenant=vendor, name="ingest-agent")
    version = AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    simulated_certificate(version)  # a deployment needs one
    plan = create_plan(agent, key="free", name="free", kind="free")
    customer = TenantFactory(slug="ingest-customer", is_vendor=False, is_customer=True)
    order, _ = place_order(
        customer, agent_id=agent.pk, plan_id=plan.pk, seats=count, idempotency_key="bench-order"
    )
    # The benchmark reports days of history: bought before the oldest usage metering takes
    # (usage no entitlement of its agent covered is not entitled).
    bought = timezone.now() - timedelta(days=settings.USAGE_LATE_DAYS + 1)
    Entitlement.objects.filter(order=order).update(valid_from=bought)
    tokens = []
    for n in range(count):
        issued = device_actions.register_device(
            customer, name=f"bench-{n}", hardware_id=f"bench-{n}", core=version.target_core
        )
        device_actions.deploy(issued.device, version)
        tokens.append(issued.token)
    return {
        "seeded_by": "factories for the agent; place_order, register_device and deploy",
        "agent": agent.pk,
        "version": version.version,
        "tokens": tokens,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest.seed")
    parser.add_argument("--devices", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.web.settings")
    django.setup()
    json.dump(devices(args.devices), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
