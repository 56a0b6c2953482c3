"""After a PostgreSQL failover a web worker may reconnect to a server that cannot write: the
old primary come back as a standby, reached through a DNS entry not yet updated (a known
trouble of managed databases' failovers). Each write then fails with "cannot execute INSERT in
a read-only transaction". The real web server answers ``503 database_unavailable`` with a
Retry-After, as for a lost connection (never a 500), and drops that connection at the end of
the request: once the names point at the new primary, the device's next resend is stored,
where the connection, which answers its health check, would have been kept for
``DB_CONN_MAX_AGE`` (60 s) and every write refused meanwhile.

The standby is the test database itself, its new sessions made read-only
(``default_transaction_read_only``), and the web server's connection ended as a failover ends
it; only the web server's connections are ended, never the test's."""

from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.test import Client

from billing.models import UsageEvent
from tests.faults.components import connection_on_a_standby, failed_over_to_a_standby, web_env
from tests.gunicorn_server import database_url_for_test_db, gunicorn

pytestmark = [
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a read-only standby is PostgreSQL's: the embedded SQLite has none",
    ),
]

APP_NAME = "edgeplug-web-after-failover"


def _send(url: str, token: str, events: list[dict]) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/usage/events",
        json={"events": events},
        headers={"Authorization": f"Device {token}"},
        timeout=30,
    )


def test_a_worker_that_reconnected_to_a_read_only_server_answers_503_and_reconnects(
    tmp_path, metered
):
    token = metered.device_api._credentials["HTTP_AUTHORIZATION"].removeprefix("Device ")
    events = [metered.session(seq, metered.base + timedelta(hours=seq), 5) for seq in (1, 2)]
    env = web_env(
        tmp_path, DATABASE_URL=f"{database_url_for_test_db()}?application_name={APP_NAME}"
    )
    # One worker, one thread: every request on the one persistent connection.
    with gunicorn(tmp_path, workers=1, env=env) as server:
        assert _send(server.url, token, events[:1]).status_code == 200
        with failed_over_to_a_standby(APP_NAME):
            refused = _send(server.url, token, events[1:])
        # The names now point at the new primary: the same batch again.
        resent = _send(server.url, token, events[1:])

    assert refused.status_code == 503, refused.text[:500]
    assert refused.json()["code"] == "database_unavailable"
    assert int(refused.headers["Retry-After"]) >= 1
    assert resent.status_code == 200, resent.text[:500]
    assert resent.json()["totals"]["accepted"] == 1
    assert sorted(UsageEvent.objects.values_list("seq", flat=True)) == [1, 2]


def test_a_page_that_met_a_read_only_server_drops_its_connection_too():
    """Outside the API (the admin, the portal) the error is the site's 500 page, and the
    connection is dropped all the same at the end of the request, as Django ends it."""
    client = Client(raise_request_exception=False)
    with connection_on_a_standby():
        signing_in = client.post("/admin/login/", {"username": "x@example.com", "password": "x"})
        assert signing_in.status_code == 500
        connection.close_if_unusable_or_obsolete()  # what the end of a request calls
        assert connection.connection is None
