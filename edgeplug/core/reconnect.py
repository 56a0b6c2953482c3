"""Run a unit of database work again on a new connection when the connection is lost on the
way (a PostgreSQL restart or failover, a terminated backend), for batch jobs that must not
stop at the first broken connection."""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")
LOST = (OperationalError, InterfaceError)


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
