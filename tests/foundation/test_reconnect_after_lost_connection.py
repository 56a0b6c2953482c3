"""A unit of batch work whose PostgreSQL connection is terminated on the way runs again on a
new connection (``edgeplug.core.reconnect``), but never inside a caller's transaction."""

import pytest
from django.db import OperationalError, connection, transaction

from edgeplug.core.reconnect import with_reconnect
from edgeplug.tenancy.models import Tenant
from tests.gunicorn_server import connect_to_test_db


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    yield
    connection.close()  # a connection a test left broken is not the flush's to use


def _terminate_own_backend() -> None:
    pid = connection.cursor().connection.info.backend_pid
    with connect_to_test_db(autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.django_db(transaction=True)
def test_work_cut_mid_transaction_is_redone_whole_on_a_new_connection():
    calls = []

    def work() -> int:
        calls.append(connection.cursor().connection.info.backend_pid)
        with transaction.atomic():
            Tenant.objects.create(name=f"Try {len(calls)}", slug=f"try-{len(calls)}")
            if len(calls) == 1:
                _terminate_own_backend()
            return Tenant.objects.count()

    count, retries = with_reconnect(work, attempts=3, pause_s=0.01, what="test work")

    assert (count, retries) == (1, 1)
    assert calls[0] != calls[1], "the retry ran on the killed connection"
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["try-2"]


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_its_attempts():
    def work() -> None:
        _terminate_own_backend()
        Tenant.objects.count()

    with pytest.raises(OperationalError):
        with_reconnect(work, attempts=2, pause_s=0.01, what="test work")


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_nothing_is_redone():
    calls = []

    def work() -> None:
        calls.append(1)
        _terminate_own_backend()
        Tenant.objects.count()

    with pytest.raises(OperationalError), transaction.atomic():
        with_reconnect(work, attempts=3, pause_s=0.01, what="test work")
    assert calls == [1]
