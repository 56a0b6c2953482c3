"""When the database cannot serve, the one place that says so.

- ``LOST``: the errors of a database that cannot serve now: a connection lost or refused (a
  PostgreSQL restart or failover, a terminated backend, SQLite locked), or a write refused by
  a server that cannot write (``ServerCannotWrite``). The platform's failure, not the
  request's: a request answers ``503 database_unavailable`` (REST, gRPC UNAVAILABLE) for the
  client to retry, and a task retries, wherever each catches ``LOST``.
- ``with_reconnect``: a unit of database work run again on a new connection when the
  connection is lost on the way, for batch jobs that must not stop at the first broken one."""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, InternalError, OperationalError, connection

from edgeplug.core.locking import sql_error_code

logger = logging.getLogger(__name__)

T = TypeVar("T")
READ_ONLY_SQL_TRANSACTION = "25006"  # PostgreSQL's SQLSTATE


class ServerCannotWrite(OperationalError):
    """A write refused with "cannot execute ... in a read-only transaction": after a failover,
    the old primary come back as a standby and reached through a name not yet updated (a
    known trouble of managed databases' failovers). PostgreSQL reports it as an internal
    error, which would read as a bug (a 500, a task failed for good); it is the database's
    operation, a connection to drop and open again, so it is raised as one."""


LOST = (OperationalError, InterfaceError)


def _writes_refused_as_lost(execute, sql, params, many, context):
    """Every query of a PostgreSQL connection (an execute wrapper): a write refused by a server
    that cannot write is raised as ``ServerCannotWrite``, and the connection marked to be
    closed. Such a connection answers Django's health check, so the end of a web request or a
    gRPC call would keep it for DB_CONN_MAX_AGE with every write refused; with ``close_at``
    passed, ``close_if_unusable_or_obsolete()`` drops it, and the next one connects again,
    through the names updated by then. (Celery closes its connections around every task.)"""
    try:
        return execute(sql, params, many, context)
    except InternalError as error:
        if sql_error_code(error) != READ_ONLY_SQL_TRANSACTION:
            raise
        context["connection"].close_at = time.monotonic()
        raise ServerCannotWrite(*error.args) from error


def watch_writes(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver (``CoreConfig.ready``): the wrapper on each PostgreSQL
    connection."""
    # First in the list, so it sees every query's error, and a caller's own
    # ``with connection.execute_wrapper(...)`` pops its own wrapper, not this one.
    if connection.vendor == "postgresql" and _writes_refused_as_lost not in (
        connection.execute_wrappers
    ):
        connection.execute_wrappers.insert(0, _writes_refused_as_lost)


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
            logger.warning("%s could not use the database (%s); retrying", what, error)
            connection.close()  # the next query opens a new connection
            time.sleep(pause_s * attempt)
            attempt += 1
