"""Reading many rows a chunk at a time, each chunk a plain query.

``in_id_chunks`` pages by primary key (keyset: ``pk > the last one read``, ``LIMIT size``)
rather than with a server-side cursor (``.iterator()``): no cursor outlives a chunk, so the
caller may commit between chunks. A cursor read outside a transaction is declared WITH HOLD
and kept by the database session, which behind PgBouncer in transaction pooling is another
server connection at the next fetch (docs/scaling.md); with ``DISABLE_SERVER_SIDE_CURSORS``
``.iterator()`` reads every row at once.
"""

from collections.abc import Iterator
from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def in_id_chunks(queryset: QuerySet[M], size: int) -> Iterator[list[M]]:
    """The rows of ``queryset`` in primary-key order, ``size`` at a time, each chunk read when
    the previous one has been handled. A row the query finds only later (changed meanwhile) is
    read when its id is past the last one read, and left out when it is before it; none is
    read twice."""
    ordered = queryset.order_by("pk")
    chunk = list(ordered[:size])
    while chunk:
        yield chunk
        chunk = list(ordered.filter(pk__gt=chunk[-1].pk)[:size])
