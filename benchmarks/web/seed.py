"""Seeding the benchmark's database (run by ``benchmarks.web`` in a Django subprocess).

The catalogue is seeded with the registry factories (rows as the upload and certification
path leaves them, certified and approved), not through the real pipeline: certifying 70
versions would take the worker many minutes and measure something else. Price plans, the
catalogue listings (search vectors, facet fields) and the upload vendor's key are made by the
real actions. Prints one JSON object on stdout.
"""

import argparse
import json
import os
import sys

import django

# (agent_type, description): a mix, so search has something to rank and facets to count.
KINDS = [
    ("anomaly-detection", "Flags anomalies in pump vibration."),
    ("predictive-maintenance", "Predicts bearing wear from motor current."),
    ("vision-inspection", "Finds scratches on machined parts."),
    ("keyword-spotting", "Hears spoken stop commands on the shop floor."),
]
PLANS = [
    {"kind": "free"},
    {"kind": "one_time", "currency": "EUR", "amount": 4900},
    {"kind": "metered", "currency": "EUR", "terms": {"scheme": "per_unit", "unit_amount": 3}},
]


def catalogue(agents: int, versions: int) -> dict:
    from edgeplug import signing
    from edgeplug.accounts.services import issue_token_pair
    from marketplace.catalogue import refresh_listing
    from marketplace.plans import create_plan
    from marketplace.services import register_key
    from tests.factories import (
        AgentFactory,
        AgentVersionFactory,
        CertificationRunFactory,
        MembershipFactory,
        TenantFactory,
        certificate_for,
    )

    vendors = [
        TenantFactory(slug=f"bench-vendor-{n}", is_vendor=True, is_customer=False)
        for n in range(max(1, agents // 10))
    ]
    extra = max(0, versions - agents)  # agents with a second public version
    detail_agent = None
    for n in range(agents):
        agent_type, description = KINDS[n % len(KINDS)]
        agent = AgentFactory(
            tenant=vendors[n % len(vendors)],
            name=f"bench-agent-{n}",
            agent_type=agent_type,
            description=description,
        )
        newest = AgentVersionFactory(agent=agent, version="1.0.0", public=True)
        if n < extra:
            newest = AgentVersionFactory(agent=agent, version="1.1.0", public=True)
            detail_agent = detail_agent or agent
        # A signed certificate for the listed version: core and level facets, filters.
        certificate_for(CertificationRunFactory(version=newest, level="standard", results=True))
        if n % 7 == 0:
            AgentVersionFactory(agent=agent, version="2.0.0-rc.1")  # unreviewed: hidden
        # A plan through the real action (which rebuilds the agent's catalogue listing, as
        # every action that changes what customers see does): price-model facets have counts.
        plan = create_plan(agent, key="bench", name="bench", **PLANS[n % len(PLANS)])
        refresh_listing(agent)
        if n == 0:  # a free agent a customer can buy and deploy to a device (the soak)
            free = {"agent_id": agent.pk, "plan_id": plan.pk, "version": newest.version}
    detail_agent = detail_agent or agent

    customer = MembershipFactory(
        tenant=TenantFactory(slug="bench-customer", is_vendor=False, is_customer=True),
        role="admin",
    )
    uploader = MembershipFactory(
        tenant=TenantFactory(slug="bench-uploader", is_vendor=True, is_customer=False),
        role="developer",
    )
    keys = signing.generate_keypair()
    key = register_key(uploader.tenant, signing.encode_b64(keys.public_key), name="bench")
    return {
        "seeded_by": "factories (tests/registry/factories.py), certified and approved rows",
        "agents": agents,
        "public_versions": agents + min(extra, agents),
        "detail_agent_id": detail_agent.pk,
        "detail_versions": detail_agent.versions.public().count(),
        "customer_token": issue_token_pair(customer.user, customer).access,
        "vendor_token": issue_token_pair(uploader.user, uploader).access,
        "vendor_slug": uploader.tenant.slug,
        "private_key": signing.encode_b64(keys.private_key),
        "key_id": key.key_id,
        "free_agent": free,
    }


def grow(vendor: str, agent_name: str, total: int) -> dict:
    from marketplace.models import Agent
    from tests.factories import AgentVersionFactory

    agent = Agent.objects.get(tenant__slug=vendor, name=agent_name)
    have = agent.versions.count()
    for n in range(have, total):
        AgentVersionFactory(agent=agent, version=f"0.{n}.0", public=True)
    return {"seeded_by": "factories", "versions": agent.versions.count()}


def analyze() -> None:
    """Planner statistics for the rows just seeded, as a database that grew to this size over
    months has them (autovacuum keeps them current). Without it the first measurements after a
    seed run on stale estimates and race autovacuum's own ANALYZE of the new rows."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web.seed")
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("catalogue")
    seed.add_argument("--agents", type=int, required=True)
    seed.add_argument("--versions", type=int, required=True)
    more = commands.add_parser("grow")
    more.add_argument("--vendor", required=True)
    more.add_argument("--agent", required=True)
    more.add_argument("--to", type=int, required=True)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.web.settings")
    django.setup()
    if args.command == "catalogue":
        result = catalogue(args.agents, args.versions)
    else:
        result = grow(args.vendor, args.agent, args.to)
    analyze()
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
