"""PostgreSQL connections are terminated (``pg_terminate_backend``) while devices send usage
batches to the real web server: the server answers ``503 database_unavailable`` with a
Retry-After (never a 500), the device resends the same batch, and in the end every event is
stored exactly once and the hourly rollup equals a recomputation from the raw events.

Only the web server's own connections are killed (it names itself with an
``application_name``), never the test's or the session worker's.
"""

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.db.models import Count

from billing.models import UsageEvent
from tests.faults.components import BackendKiller, web_env
from tests.gunicorn_server import database_url_for_test_db, gunicorn
from tests.metering.conftest import recomputed_rollup, stored_rollup

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

APP_NAME = "edgeplug-web-under-fault"
EVENTS = 1200
BATCH = 100
DEVICES_SENDING = 3
ROUNDS_AT_MOST = 4


def _send_until_stored(url: str, token: str, batch: list[dict], seen: Counter) -> dict:
    """A device's retry loop: the same events again on 5xx or a broken connection."""
    for _attempt in range(100):
        try:
            response = requests.post(
                f"{url}/api/v1/usage/events",
                json={"events": batch},
                headers={"Authorization": f"Device {token}"},
                timeout=30,
            )
        except requests.ConnectionError:
            seen["connection_error"] += 1
            continue
        if response.status_code == 200:
            seen[200] += 1
            return response.json()["totals"]
        seen[response.status_code] += 1
        if response.status_code == 503:
            body = response.json()
            seen[body["code"]] += 1
            assert body["detail"] and int(response.headers["Retry-After"]) >= 1
            time.sleep(0.05)  # a device backs off briefly (Retry-After would be 1 s)
            continue
        raise AssertionError(f"{response.status_code}: {response.text[:500]}")
    raise AssertionError("a batch was never stored after 100 attempts")


def test_killed_connections_during_ingest_lose_and_duplicate_nothing(tmp_path, metered):
    token = metered.device_api._credentials["HTTP_AUTHORIZATION"].removeprefix("Device ")
    rng = random.Random(16)
    events: list[dict] = []
    batches: list[list[dict]] = []
    seen: Counter = Counter()
    accepted = Counter()
    env = web_env(
        tmp_path, DATABASE_URL=f"{database_url_for_test_db()}?application_name={APP_NAME}"
    )
    with gunicorn(tmp_path, workers=2, env=env) as server:
        # A connection busy with a request (not idle between requests: killing an idle one
        # tests only Django's reconnect, and on a fast machine the whole send can fit between
        # two blind kills), then a pause of 50 to 400 ms (seeded), so some requests finish
        # between kills and others are cut mid-transaction. A machine fast enough to send a
        # round between two kills without one request hit sends another round of new events.
        killer = BackendKiller(APP_NAME, when="state <> 'idle'")
        killer.start()
        try:
            for first in range(1, ROUNDS_AT_MOST * EVENTS, EVENTS):
                round_events = [
                    metered.session(
                        seq,
                        metered.base + timedelta(minutes=rng.randrange(0, 20 * 60)),
                        rng.randrange(1, 90),
                        inferences=seq,
                    )
                    for seq in range(first, first + EVENTS)
                ]
                round_batches = [round_events[i : i + BATCH] for i in range(0, EVENTS, BATCH)]
                events += round_events
                batches += round_batches
                with ThreadPoolExecutor(DEVICES_SENDING) as devices:
                    sent = devices.map(
                        lambda batch: _send_until_stored(server.url, token, batch, seen),
                        round_batches,
                    )
                    for totals in sent:  # re-raises a device's failure here
                        accepted.update(totals)
                if seen["database_unavailable"]:
                    break
        finally:
            killer.stop()

    assert killer.killed and seen["database_unavailable"] > 0, (
        f"no request was hit by a kill ({len(killer.killed)} backends killed): nothing was tested"
    )
    assert seen[500] == 0, seen
    assert seen[200] == len(batches)
    per_seq = UsageEvent.objects.values("device_id", "seq").annotate(n=Count("seq"))
    assert {row["n"] for row in per_seq} == {1}
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == list(
        range(1, len(events) + 1)
    )
    # A batch stored just before its connection died is answered "duplicate" on the resend.
    assert accepted["accepted"] + accepted["duplicate"] == len(events)
    assert accepted["rejected"] == 0
    assert stored_rollup() == recomputed_rollup()
