"""A new PostgreSQL connection is given up on after DB_CONNECT_TIMEOUT_S, where psycopg would
wait 130 s for a database that hangs (the request itself: tests/foundation/test_ops_endpoints.py).
A connect_timeout written in DATABASE_URL is the operator's and wins; SQLite has none."""

import pytest

from tests.processes import python_with_settings

CONNECT_TIMEOUT = (
    "from django.conf import settings; "
    "print(settings.DATABASES['default'].get('OPTIONS', {}).get('connect_timeout'))"
)


@pytest.mark.parametrize(
    ("database_url", "variable", "connect_timeout"),
    [
        ("postgres://db/edgeplug", None, "3"),
        ("postgres://db/edgeplug", "9", "9"),
        ("postgres://db/edgeplug?connect_timeout=4", "9", "4"),
        ("sqlite:///edgeplug.sqlite3", "9", "None"),
    ],
)
def test_a_new_database_connection_is_given_up_on_in_time(
    tmp_path, database_url, variable, connect_timeout
):
    env = {"DATABASE_URL": database_url} | ({"DB_CONNECT_TIMEOUT_S": variable} if variable else {})
    started = python_with_settings(tmp_path, CONNECT_TIMEOUT, **env)
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.strip() == connect_timeout
