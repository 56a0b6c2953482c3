"""CPU per signed upload, in process: what ``make bench-web``'s upload figures are made of.

Wall-clock upload latency on a shared machine measures everyone's load; the CPU one upload
costs does not (much). This posts the bench's signed packages (``benchmarks.web.drive``:
1 MiB by default, incompressible model bytes) through Django's full handler and middleware
(the test client: multipart parsing, JWT, throttles, the view, the response) to a new agent,
grows that agent to ``--grow-to`` versions with the registry factories (as the bench does),
and posts as many again. Per upload it prints this process's CPU (Python and drivers), the
PostgreSQL backend's CPU (utime + stime of its ``/proc/<pid>/stat``, so PostgreSQL must run
on this machine), wall time and the number of queries.

    BENCH_DATABASE_URL=... BENCH_REDIS_URL=... python -m benchmarks.web.upload_cpu --setup
    BENCH_DATABASE_URL=... BENCH_REDIS_URL=... python -m benchmarks.web.upload_cpu [-n 30]

``--setup`` drops and recreates the database (its name must contain "bench"), migrates it
and seeds a small catalogue with the bench's upload vendor; without it, a database left by
``--setup`` or by ``python -m benchmarks.web --keep-database`` is used. ``--profile new`` (or
``grown``) adds a cProfile listing of that phase; ``--queries`` prints one upload's SQL.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import time
import uuid
from pathlib import Path

from benchmarks.web import drive
from benchmarks.web.cli import DATABASE_URL, REDIS_URL
from benchmarks.web.inprocess import measured, print_profile, recorded_queries, setup_django
from benchmarks.web.stack import Stack, cpu_seconds, recreate_database


def _vendor() -> tuple[str, drive.Signer]:
    """A token of the bench's upload vendor and its signer; a fresh key is registered through
    the real action (the seed does not keep its private key)."""
    from edgeplug import signing
    from edgeplug.accounts.services import issue_token_pair
    from edgeplug.tenancy.models import Membership
    from marketplace.services import register_key

    member = Membership.objects.select_related("user", "tenant").get(tenant__slug="bench-uploader")
    keys = signing.generate_keypair()
    key = register_key(member.tenant, signing.encode_b64(keys.public_key), name="upload-cpu")
    token = issue_token_pair(member.user, member).access
    return token, drive.Signer(member.tenant.slug, signing.encode_b64(keys.private_key), key.key_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.web.upload_cpu", description=__doc__
    )
    parser.add_argument("-n", type=int, default=30, help="uploads per phase")
    parser.add_argument("--size", type=int, default=1024 * 1024, help="package bytes")
    parser.add_argument("--grow-to", type=int, default=500)
    parser.add_argument("--setup", action="store_true", help="recreate, migrate and seed first")
    parser.add_argument("--profile", choices=["new", "grown"])
    parser.add_argument("--queries", action="store_true", help="print one upload's SQL per phase")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--database-url", default=DATABASE_URL.value())
    parser.add_argument("--redis-url", default=REDIS_URL.value())
    args = parser.parse_args(argv)
    if args.setup:
        stack = Stack(args.database_url, args.redis_url, 1, Path("var/bench/web-run"))
        recreate_database(args.database_url)
        stack.manage("migrate", "--noinput", "-v0")
        stack.seed("catalogue", "--agents", "12", "--versions", "15")
    setup_django(args.database_url, args.redis_url)

    from django.db import connection
    from django.test import Client

    from benchmarks.web.seed import analyze, grow

    token, signer = _vendor()
    agent = f"upload-cpu-{uuid.uuid4().hex[:8]}"
    client = Client(HTTP_HOST="127.0.0.1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def post(upload: drive.Upload) -> None:
        response = client.generic(
            "POST",
            "/api/v1/agents/upload",
            upload.body,
            content_type=upload.content_type,
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        if response.status_code != 201:
            raise SystemExit(f"HTTP {response.status_code} {response.content[:300]!r}")

    header = ("phase", "versions", "CPU ms", "PG CPU ms", "wall ms", "queries")
    print(f"{header[0]:<8} " + " ".join(f"{h:>9}" for h in header[1:]))
    for phase, major in (("new", 1), ("grown", 2)):
        if phase == "grown":
            grow(signer.vendor, agent, args.grow_to)
            analyze()  # as the bench does after seeding
        uploads = drive.signed_uploads(
            args.n + 3, size=args.size, signer=signer, agent=agent, major=major
        )
        warm, uploads = uploads[:3], uploads[3:]
        for upload in warm:  # imports, JSON Schema, connections
            post(upload)
        with recorded_queries() as queries:
            post(uploads.pop())
        if args.queries:
            print("\n".join(f"  {sql}" for sql in queries))
        versions = connection.cursor()
        versions.execute(
            "SELECT count(*) FROM marketplace_agentversion v JOIN marketplace_agent a "
            "ON a.id = v.agent_id WHERE a.name = %s",
            [agent],
        )
        have = versions.fetchone()[0]
        # CPU time, not wall: waits on PostgreSQL and a loaded machine are not this process's cost.
        profiler = cProfile.Profile(time.process_time) if args.profile == phase else None
        pg = cpu_seconds([backend])
        with measured(profiler) as spent:
            for upload in uploads:
                post(upload)
        pg = cpu_seconds([backend]) - pg
        done = len(uploads)
        print(
            f"{phase:<8} {have:>9} {spent.cpu_s * 1000 / done:>9.1f} {pg * 1000 / done:>9.1f} "
            f"{spent.wall_s * 1000 / done:>9.1f} {len(queries):>9}",
            flush=True,
        )
        if profiler:
            print_profile(profiler, sort=args.sort, top=args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
