"""When the database cannot serve, the one place that says so.

- ``LOST``: the errors of a connection lost or refused (a PostgreSQL restart or failover, a
  terminated backend, SQLite locked): the platform's failure, which a task retries.
- ``database_unavailable(exc)``: whether a request's error is the database's, answered
  ``503 database_unavailable`` for the client to retry (the API, the pages under /api/, gRPC).
- ``with_reconnect``: a unit of database work run again on a new connection when the
  connection is lost on the way, for batch jobs that must not stop at the first broken one."""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, InternalError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")
LOST = (OperationalError, InterfaceError)
READ_ONLY_SQL_TRANSACTION = "25006"  # PostgreSQL's SQLSTATE


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database cannot serve now: its connection lost (``LOST``), or a
    server that cannot write, such as the old primary come back as a standby and reached after
    a failover through a name not yet updated. Such a connection answers Django's health
    check, so it would be kept for DB_CONN_MAX_AGE and every write refused meanwhile: it is
    marked to be closed at the end of the request, the next one connecting again."""
    if isinstance(exc, LOST):
        return True
    if (
        isinstance(exc, InternalError)
        and getattr(exc.__cause__, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION
    ):
        connection.close_at = time.monotonic()  # close_if_unusable_or_obsolete() closes it
        return True
    return False


def with_reconnect(
    work: Callable[[], T], *, attempts: int, pause_s: float, what: str
) -> tuple[T, int]:
    """``work()`` and how many times it was retried, trying up to ``attempts`` times.

    ``work`` must leave nothing behind when it fails: reads, or writes in one transaction of
    its own (which the lost connection rolls back). Inside a caller's transaction nothing is
    retried (the caller's earlier writes are gone with the connection): the error propagates.
    """
    attempt = 1
    while True:
        try:
            return work(), attempt - 1
        except LOST as error:
            if connection.in_atomic_block or attempt >= attempts:
                raise
            logger.warning("%s lost its database connection (%s); retrying", what, error)
            connection.close()  # the next query opens a new connection
            time.sleep(pause_s * attempt)
            attempt += 1
