"""Racing requests or actions against each other as concurrent workers do: one thread each,
released together, each on its own database connection."""

import threading
from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

import pytest
from django.db import connection, connections

# Racing tests need concurrent writers and row locks across connections: PostgreSQL's (the
# embedded SQLite default serializes writers, and pg_stat_activity is PostgreSQL's).
needs_row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers and row locks across connections (PostgreSQL)",
)

T = TypeVar("T")
R = TypeVar("R")


def race(work: Callable[[T], R], inputs: Iterable[T]) -> list[R]:
    """``work(item)`` for every item at once, one thread each, released together by a barrier;
    the answers in the order of ``inputs``. Each thread closes its database connections; the
    first exception a thread raised is raised here once every thread has finished."""
    items = list(inputs)
    barrier = threading.Barrier(len(items))
    answers: list = [None] * len(items)
    errors: list[BaseException] = []

    def run(index: int, item: T) -> None:
        try:
            barrier.wait()
            answers[index] = work(item)
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, item)) for i, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return answers


def in_thread(work, answers: list, errors: list, name: str | None = None) -> threading.Thread:
    """``work()`` started in a thread on its own database connection (closed when it ends):
    its answer appended to ``answers``, or what it raised to ``errors``, for the test to
    check once it has joined the thread (a request waiting for a lock the test holds)."""

    def run():
        try:
            answers.append(work())
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def wait_for_blocked_backend(or_finished: threading.Thread | None = None) -> int | None:
    """The pid of another connection of this database once it waits for a lock (PostgreSQL's
    own state, polled; not a clock): how a test knows a concurrent request reached the lock
    the test holds. With ``or_finished``: None once that thread has ended without waiting
    (code that takes no lock the test holds), so the test goes on to fail on what the
    thread did rather than here."""
    ready = threading.Event()
    for _ in range(3000):
        blocked = _blocked_backends()
        if blocked:
            return blocked[0][0]
        if or_finished is not None and not or_finished.is_alive():
            return None
        ready.wait(0.01)
    raise AssertionError(f"no other connection came to wait for a lock: {_activity()}")


def backend_pid() -> int:
    """The PostgreSQL pid of this thread's connection (for ``wait_for_blocked_backends``)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def wait_for_blocked_backends(pids: Collection[int], *, on: Collection[str] = ()) -> None:
    """Return once each of these connections waits for a lock (one the test holds, or one
    another of them holds), polled as ``wait_for_blocked_backend`` polls. By pid: another
    connection (a Celery worker's) may be waiting for the test's lock too. ``on``: the kinds
    of lock they wait for between them (PostgreSQL's ``wait_event``: ``relation`` for a table
    lock, ``transactionid`` for another transaction's row), when the test needs each where it
    put it: a connection waiting a moment for another lock (a table's extension) is not."""
    ready = threading.Event()
    for _ in range(3000):
        waiting = {pid: event for pid, event in _blocked_backends() if pid in pids}
        if len(waiting) == len(pids) and (not on or sorted(waiting.values()) == sorted(on)):
            return
        ready.wait(0.01)
    raise AssertionError(f"connections {sorted(pids)} did not all come to wait: {_activity()}")


def _blocked_backends() -> list[tuple[int, str]]:
    """(pid, the kind of lock it waits for) of each other connection waiting for a lock."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps one snapshot of the statistics: drop it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid, wait_event FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' ORDER BY pid"
        )
        return cursor.fetchall()


def _activity() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, wait_event_type FROM pg_stat_activity "
            "WHERE datname = current_database()"
        )
        return cursor.fetchall()
