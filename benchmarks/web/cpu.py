"""CPU per request, in process: the load-independent measure behind ``make bench-web``.

On a shared machine req/s moves with everyone else's load; the CPU time one request costs
the web process does not. This runs each bench target N times through Django's WSGI handler
(the full middleware stack, as gunicorn calls it) against a database the web benchmark left
behind (``python -m benchmarks.web --keep-database``), and prints CPU ms per request (process
time: this process's Python and driver work, not PostgreSQL's or Redis's) and queries per
request. ``--profile NAME`` prints cProfile's top functions for one target.

    BENCH_DATABASE_URL=... BENCH_REDIS_URL=... python -m benchmarks.web.cpu [-n 300]
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import uuid
from itertools import count

from benchmarks.web.cli import DATABASE_URL, REDIS_URL
from benchmarks.web.inprocess import measured, print_profile, recorded_queries, setup_django

# name: path, whose token, whether each request misses the catalogue cache (it names a host
# of its own: benchmarks/web/settings.py, CACHE_MISS_DOMAIN)
TARGETS = {
    "ceiling": ("/bench/ceiling", None, False),
    "db_ceiling": ("/bench/rows", None, False),
    "list": ("/api/v1/agents?page_size=20", "customer", False),
    "list_uncached": ("/api/v1/agents?page_size=20", "customer", True),
    "search": ("/api/v1/agents?page_size=20&q=anomoly", "customer", False),
    "search_uncached": ("/api/v1/agents?page_size=20&q=anomoly", "customer", True),
    "detail": ("/api/v1/agents/{detail}", "customer", False),
    "detail_uncached": ("/api/v1/agents/{detail}", "customer", True),
    "health": ("/health", None, False),
}


def _customer_token() -> str:
    from edgeplug.accounts.services import issue_token_pair
    from edgeplug.tenancy.models import Membership

    member = Membership.objects.select_related("user", "tenant").get(tenant__slug="bench-customer")
    return issue_token_pair(member.user, member).access


def _detail_agent() -> int:
    from django.db.models import Count

    from marketplace.models import Agent

    return (
        Agent.objects.filter(name__startswith="bench-agent-")
        .annotate(n=Count("versions"))
        .order_by("-n", "pk")
        .values_list("pk", flat=True)[0]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web.cpu", description=__doc__)
    parser.add_argument("-n", type=int, default=300, help="requests per target")
    parser.add_argument("--profile", help="a target to profile with cProfile")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("targets", nargs="*", default=list(TARGETS))
    parser.add_argument("--database-url", default=DATABASE_URL.value())
    parser.add_argument("--redis-url", default=REDIS_URL.value())
    args = parser.parse_args(argv)
    setup_django(args.database_url, args.redis_url)

    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"customer": {"HTTP_AUTHORIZATION": f"Bearer {_customer_token()}"}, None: {}}
    detail = _detail_agent()
    serial = count()
    run = uuid.uuid4().hex[:12]  # URLs no earlier run has put in the cache
    names = [args.profile] if args.profile else args.targets

    def get(name: str):
        path, who, miss = TARGETS[name]
        host = {"HTTP_HOST": f"{run}-{next(serial)}.{settings.CACHE_MISS_DOMAIN}"} if miss else {}
        response = client.get(path.format(detail=detail), **headers[who], **host)
        if response.status_code != 200:
            raise SystemExit(f"{name}: HTTP {response.status_code} {response.content[:300]!r}")
        return response

    for name in names:  # warm: imports, connections, the cache entry of a cached target
        for _ in range(20):
            get(name)
    print(f"{'target':<16} {'CPU ms/req':>10} {'wall ms/req':>11} {'queries':>8}")
    for name in names:
        with recorded_queries() as queries:
            get(name)
        profiler = cProfile.Profile() if args.profile else None
        with measured(profiler) as spent:
            for _ in range(args.n):
                get(name)
        cpu_ms, wall_ms = spent.cpu_s * 1000 / args.n, spent.wall_s * 1000 / args.n
        print(f"{name:<16} {cpu_ms:>10.2f} {wall_ms:>11.2f} {len(queries):>8}", flush=True)
        if profiler:
            print_profile(profiler, sort=args.sort, top=args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
