"""ORM queries compiled once per process, for the few that every request or batch of a hot
path runs with new values in the same shape (authentication, uploads, usage ingest): building
and compiling an ORM query costs several times what PostgreSQL takes to answer such a query,
and only the values change from one call to the next.

    _key_named = CompiledQuery(
        lambda tenant, key_id: VendorKey.objects.filter(tenant=tenant, key_id=key_id),
        tenant=VendorKey._meta.get_field("tenant"),
        key_id=VendorKey._meta.get_field("key_id"),
    )
    keys = _key_named.fetch(tenant=tenant.pk, key_id=key_id)  # a list of VendorKey

The queryset is built once with a placeholder for each parameter (an integer, text or
datetime field given says how a value is prepared, as a filter on that field prepares it for
the database: a datetime stays one on PostgreSQL and becomes text on SQLite), compiled, and its
SQL kept with the slots the placeholders took among its parameters; each call binds the values
and turns the rows into what the queryset itself would give (model instances with their
``select_related`` rows and deferred fields, or ``values_list`` tuples), with the same
converters. Only plain shapes: no annotations, no prefetch, no rows attached to a related
manager's instance (``agent.versions``), which ``fetch`` could not reproduce.

Thread-safe (gunicorn gthread workers share it): what is kept is immutable once built (a race
compiles twice and keeps one). Django's connections are per thread: the query runs, and its
converters are given, the calling thread's own connection. The converters themselves are the
compiling connection's backend's bound methods; they read only settings every connection to
that database shares (its time zone), never its state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import Field, Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError

_INTEGER_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}
_TEXT_TYPES = {"CharField", "TextField", "SlugField", "EmailField"}
_PLACEHOLDER_MOMENT = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)


def _placeholder(n: int, field: Field):
    """A value no real parameter of the query takes, of the type ``field`` stores."""
    kind = field.get_internal_type()
    if kind in _INTEGER_TYPES:
        return -7_000_001 - n
    if kind in _TEXT_TYPES:
        return f"\uffffcompiled-query-parameter-{n}\uffff"
    if kind == "DateTimeField":
        return _PLACEHOLDER_MOMENT + timedelta(microseconds=n)
    raise TypeError(f"CompiledQuery parameters are integer, text or datetime fields, not {kind}.")


def _from_placeholder(value, placeholders) -> bool:
    """Whether a parameter of the compiled query was made from a placeholder's value."""
    if isinstance(value, datetime):
        return value.year < 1903
    if isinstance(value, str):
        return value.startswith(("1901-", "1902-")) or any(
            str(placeholder) in value for placeholder in placeholders
        )
    return False


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple
    slots: tuple[tuple[str, tuple[int, ...]], ...]  # parameter name, its positions
    converters: tuple[tuple[int, tuple, Any], ...]  # position, converters, expression
    width: int  # the selected columns (ordering may add more to a row)
    model: type[Model] | None  # rows as its instances, or values_list tuples when None
    span: tuple[int, int]  # the model's own columns in a row
    init_list: tuple[str, ...]
    populators: tuple
    locks: bool  # select_for_update(): only inside a transaction, as the ORM requires


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet], **fields: Field) -> None:
        self._build = build
        for name, field in fields.items():
            # A value is bound as it is: None would be SQL NULL, which equals nothing, where a
            # filter on None means IS NULL. On a column that is never NULL both find nothing.
            if field.null:
                raise TypeError(f"CompiledQuery parameter {name!r} is on a nullable column.")
        # A foreign key's value is its target's (a filter on ``tenant`` takes a tenant's pk).
        self._fields = {
            name: getattr(field, "target_field", field) for name, field in fields.items()
        }
        self._db: str | None = None
        self._plans: dict[tuple[str, str], _Plan] = {}

    def _placeholders(self) -> dict:
        return {
            name: _placeholder(n, field) for n, (name, field) in enumerate(self._fields.items())
        }

    def _compile(self, db: str) -> _Plan:
        placeholders = self._placeholders()
        connection = connections[db]
        queryset = self._build(**placeholders)
        iterable = queryset._iterable_class
        if (
            iterable not in (ModelIterable, ValuesListIterable)
            or queryset.query.annotation_select
            or queryset._prefetch_related_lookups
            or queryset._known_related_objects
        ):
            raise TypeError("CompiledQuery takes plain model or values_list querysets only.")
        compiler = queryset.query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        params = tuple(params)
        slots = []
        for name, placeholder in placeholders.items():
            # As the database backend prepared it (SQLite's turns a datetime into text).
            prepared = self._fields[name].get_db_prep_value(placeholder, connection)
            positions = tuple(
                i
                for i, value in enumerate(params)
                if type(value) is type(prepared) and value == prepared
            )
            if not positions:
                raise TypeError(f"CompiledQuery: the query does not use parameter {name!r}.")
            slots.append((name, positions))
        taken = {position for _, positions in slots for position in positions}
        for index, value in enumerate(params):
            # A value made from a placeholder (now - a day, a LIKE pattern around a name) would
            # stay frozen at the placeholder's: refuse it, the caller passes it as a parameter.
            if index not in taken and _from_placeholder(value, placeholders.values()):
                raise TypeError(
                    f"CompiledQuery: parameter {index} of the query ({value!r}) is derived "
                    "from a placeholder; pass it as a parameter of its own."
                )
        select, klass_info = compiler.select, compiler.klass_info
        columns = [expression for expression, _, _ in select[: compiler.col_count]]
        # The converters as the compiler applies them, without the compiler (which holds the
        # compiling thread's connection).
        converters = tuple(
            (pos, tuple(convs), expression)
            for pos, (convs, expression) in compiler.get_converters(columns).items()
        )
        model = queryset.model if iterable is ModelIterable else None
        span, init_list, populators = (0, 0), (), ()
        if model is not None:
            fields = klass_info["select_fields"]
            span = (fields[0], fields[-1] + 1)
            init_list = tuple(column[0].target.attname for column in select[span[0] : span[1]])
            populators = tuple(get_related_populators(klass_info, select, db))
        return _Plan(
            sql,
            params,
            tuple(slots),
            converters,
            compiler.col_count,
            model,
            span,
            init_list,
            populators,
            bool(queryset.query.select_for_update),
        )

    def fetch(self, **values) -> list:
        """The rows the queryset gives for these parameter values."""
        if values.keys() != self._fields.keys():
            raise TypeError(f"CompiledQuery takes {sorted(self._fields)}, not {sorted(values)}.")
        if self._db is None:
            # The queryset's own database: the write one for select_for_update(), as the ORM.
            self._db = self._build(**self._placeholders()).db
        db = self._db
        connection = connections[db]
        key = (db, connection.vendor)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._compile(db)
        if plan.locks and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(plan.params)
        for name, positions in plan.slots:
            # As the ORM prepares a filter's value: a malformed one fails as it would there.
            value = self._fields[name].get_db_prep_value(values[name], connection)
            for position in positions:
                params[position] = value
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        return [self._instance(plan, db, connection, row) for row in rows]

    def first(self, **values):
        """The first row the queryset gives for these values, or None (``QuerySet.first``
        without its ordering: the queryset's own, if any, decides)."""
        found = self.fetch(**values)
        return found[0] if found else None

    @staticmethod
    def _instance(plan: _Plan, db: str, connection, found):
        row = list(found)
        for pos, convs, expression in plan.converters:  # SQLCompiler.apply_converters
            for converter in convs:
                row[pos] = converter(row[pos], expression, connection)
        if plan.model is None:
            return tuple(row[: plan.width])
        start, end = plan.span  # ModelIterable, one row
        instance = plan.model.from_db(db, plan.init_list, row[start:end])
        for populator in plan.populators:
            populator.populate(row, instance)
        return instance
