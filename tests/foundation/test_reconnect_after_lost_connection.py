"""A unit of batch work whose PostgreSQL connection is terminated on the way runs again on a
new connection (``edgeplug.core.reconnect``), but never inside a caller's transaction; a write
refused by a server that cannot write (a standby reached after a failover) is such a lost
connection too, and the connection is dropped at the end of its request or task."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection, transaction

from edgeplug.core.reconnect import LOST, ServerCannotWrite, with_reconnect
from edgeplug.tenancy.models import Tenant
from tests.faults.components import connection_on_a_standby
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


@pytest.mark.django_db(transaction=True)
def test_a_write_refused_by_a_server_that_cannot_write_is_lost_and_its_connection_dropped():
    with connection_on_a_standby():
        assert Tenant.objects.count() == 0  # reads are served

        with pytest.raises(ServerCannotWrite, match="read-only transaction") as refused:
            Tenant.objects.create(name="Refused", slug="refused")

        assert isinstance(refused.value, LOST)  # what the API, gRPC and the tasks retry on
        connection.close_if_unusable_or_obsolete()  # the end of a request, or of a task
        assert connection.connection is None
    Tenant.objects.create(name="Written", slug="written")  # on a new connection


@pytest.mark.django_db(transaction=True)
def test_it_holds_on_a_connection_opened_inside_a_callers_own_query_wrapper():
    """A thread's first connection may open inside ``connection.execute_wrapper(...)`` (a
    benchmark's or a test's query counter): leaving that block takes the caller's wrapper
    off, not this one."""
    counted = []

    def count(execute, sql, params, many, context):
        counted.append(sql)
        return execute(sql, params, many, context)

    def in_a_new_thread() -> type[BaseException]:
        try:
            with connection.execute_wrapper(count):
                Tenant.objects.count()  # this thread's first connection
            counted.clear()
            with connection_on_a_standby():
                try:
                    Tenant.objects.create(name="Refused", slug="refused")
                except Exception as error:  # noqa: BLE001 - its type is the answer
                    return type(error)
                return type(None)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as thread:
        refused = thread.submit(in_a_new_thread).result()

    assert refused is ServerCannotWrite
    assert counted == []  # the caller's wrapper is off once its block has ended
