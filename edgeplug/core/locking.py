"""Concurrency for actions.

- ``locked``: re-read an instance under ``SELECT ... FOR NO KEY UPDATE`` before deciding
  anything from its state, so two concurrent requests cannot both act on the old state. Call
  inside the action's transaction; with only an id, ``locked(Model(pk=id))``.
  ``lock_rows``: the same lock on the rows a queryset finds by other columns (a compiled
  query of a hot path that reads and locks a row in one).
- ``share_locked``: re-read a row the action relies on but does not change under
  ``SELECT ... FOR SHARE``, so a change of it (``locked``, ``stamp_once``) waits for the
  action to commit, and the action for the change, while others relying on it go on at once.
- ``stamp_once``: a one-time change (revoke, retire) and its audit event, once;
  ``stamp_locked`` the same on a row the action has locked already to check it first.
- ``unique_or``: a row that must be new; if it exists, or a concurrent request creates it
  first, the unique constraint decides and the caller's conflict error is raised.
- ``rows_busy``: whether a database error says the rows were busy with another transaction
  (for the caller to answer "try again later" rather than "the database cannot serve").
- ``sql_error_code``: what the database said of an error, the one place that reads it.
- ``one_snapshot``: several reads that must agree (a run, then its results and attempts)
  see the database as at the first of them, not each a later commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from edgeplug.errors import NotFound

M = TypeVar("M", bound=Model)


def locked(instance: M, *related: str) -> M:
    """The instance's row, read again and locked (with ``related`` joined in, not locked).
    ``NotFound`` when it is gone: deleted by a concurrent request this one waited for (a
    double-clicked remove), as if it had never been found.

    ``FOR NO KEY UPDATE``, as PostgreSQL's own UPDATE of the row takes: two holders wait for
    each other, while rows referring to this one are inserted meanwhile as usual. A plain
    ``FOR UPDATE`` also conflicts with the ``KEY SHARE`` that Django's deferred foreign-key
    checks take at commit, so a transaction that inserted a row referring to a locked one
    (an entitlement naming a plan an order holds) and a holder waiting for that transaction
    (the order, for the tenant's standing) deadlocked."""
    model = type(instance)
    queryset = lock_rows(model._default_manager.all())
    if related:
        queryset = queryset.select_related(*related)
    try:
        return queryset.get(pk=instance.pk)
    except model.DoesNotExist:
        raise NotFound(f"The {model._meta.verbose_name} no longer exists.") from None


def lock_rows(queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` with its rows locked as ``locked`` locks one (``FOR NO KEY UPDATE`` of its
    own table's rows, joined ones read): rows gone once the lock is granted (deleted by the
    transaction waited for) are not found."""
    return queryset.select_for_update(no_key=True, of=("self",))


def share_locked(instance: M, *fields: str) -> M:
    """The instance's row (``fields`` only), read again and held under ``FOR SHARE`` until the
    transaction ends: for an action that relies on a row staying as it read it without
    changing it (an upload on its signing key staying unrevoked). Any number of transactions
    hold it at once; a change of the row (``locked``, ``stamp_once``) waits for them to end,
    and one taking it waits for a change in progress and reads what it committed. ``NotFound``
    when it is gone. Django's ``select_for_update`` has no ``FOR SHARE``; SQLite has no row
    locks (its writers take turns, each from its ``BEGIN IMMEDIATE``): a plain read there."""
    model = type(instance)
    queryset = model._default_manager.filter(pk=instance.pk).only(*fields).order_by()
    if connection.features.has_select_for_update:
        sql, params = queryset.query.sql_with_params()
        queryset = model._default_manager.raw(f"{sql} FOR SHARE", params)
    for row in queryset:
        return row
    raise NotFound(f"The {model._meta.verbose_name} no longer exists.")


def stamp_once(instance: M, field: str, *, then: Callable[[M], object], **also) -> M:
    """Lock the row and set the timestamp ``field`` to now (and ``also``'s fields) unless it
    is set already: revoking, retiring and the like happen once, and so does ``then(row)`` (the
    audit event), which runs only when this call set the stamp. Returns the locked row."""
    return stamp_locked(locked(instance), field, then=then, **also)


def stamp_locked(row: M, field: str, *, then: Callable[[M], object], **also) -> M:
    """``stamp_once`` for a row the caller's transaction has locked already (``locked``), to
    decide something from its state first: it is not read or locked again."""
    if getattr(row, field) is not None:
        return row
    setattr(row, field, timezone.now())
    for name, value in also.items():
        setattr(row, name, value)
    row.save(update_fields=[field, *also])
    then(row)
    return row


def sql_error_code(exc: DatabaseError) -> str | None:
    """The code a Django database error carries from its driver: PostgreSQL's SQLSTATE
    ("23505"), SQLite's error name ("SQLITE_CONSTRAINT_UNIQUE"), else None."""
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "sqlite_errorname", None)


# A broken unique constraint, as PostgreSQL (SQLSTATE) and SQLite (error name) say it.
_UNIQUE_VIOLATIONS = {"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}


@contextmanager
def unique_or(conflict: Exception) -> Iterator[None]:
    """Run the block in a savepoint; if it breaks a unique constraint (the row exists, or a
    concurrent request created it first), roll the block back and raise ``conflict``. Any
    other integrity error (a check, a foreign key) is a bug, raised as it is."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        if sql_error_code(exc) not in _UNIQUE_VIOLATIONS:
            raise
        raise conflict from exc


# PostgreSQL's SQLSTATEs of rows busy with another transaction: a lock held past lock_timeout,
# a deadlock with it (detected after deadlock_timeout, 1 s, before lock_timeout), a
# serialization failure (at REPEATABLE READ or SERIALIZABLE).
_BUSY = {"55P03", "40P01", "40001"}


def rows_busy(exc: DatabaseError) -> bool:
    """Whether ``exc`` ended the transaction because its rows were busy with another one: the
    same work may succeed when tried again. Any other OperationalError is a database that
    cannot serve now (``edgeplug.core.reconnect.LOST``)."""
    return sql_error_code(exc) in _BUSY


@contextmanager
def one_snapshot() -> Iterator[None]:
    """On PostgreSQL, the reads inside see one snapshot of the database: a row read first and
    rows related to it read by a later query (a prefetch) come from the same moment, so a
    commit landing between them (a certification stage's result and the run's progress it
    makes) is seen whole or not at all. Each statement under READ COMMITTED sees the commits
    made before it; this transaction is REPEATABLE READ (reads only: nothing to conflict).

    On SQLite (the embedded default) the reads are left as they are: its transactions begin
    IMMEDIATE (settings: one writer at a time, no deadlocks), so one here would hold the only
    write lock while a download is sent or a run is read, and the workers' writes would wait
    on it and fail. There a read between two commits may be a poll behind. Inside a
    transaction begun earlier, its reads are as that transaction's (no savepoint: reads
    alone have nothing to roll back)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
