"""Querysets compiled once per process, for the few reads a hot path makes on every request or
batch, where building and compiling the ORM query costs several times what PostgreSQL takes
to answer it (usage ingest runs each of its reads for every batch of 1,000 events).

``CompiledRows(build, *placeholders)``: ``build(*placeholders)`` makes the queryset, a
``values_list`` one; the placeholders must each reach the SQL as parameters of their own (ids,
datetimes compared to columns), and ``rows(*values)`` runs the SQL compiled from it with the
values in their places. The rule the queryset states keeps its one home (the ORM code that
``build`` calls); only its compilation is kept.

On PostgreSQL only: elsewhere (the embedded SQLite default) ``rows`` evaluates ``build(*values)``
as written, since SQLite's backend adapts parameters (datetimes become strings) in ways the
placeholders would not survive. Thread-safe: what is kept is immutable once built (a race
compiles twice and keeps one), and nothing kept refers to a connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet


class CompiledRows:
    def __init__(self, build: Callable[..., QuerySet], *placeholders: Any) -> None:
        self._build = build
        self._placeholders = placeholders
        self._compiled: dict[str, tuple] = {}

    def _compile(self, alias: str) -> tuple:
        queryset = self._build(*self._placeholders)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        params = list(params)
        slots = []
        for placeholder in self._placeholders:
            positions = tuple(
                index
                for index, param in enumerate(params)
                if type(param) is type(placeholder) and param == placeholder
            )
            if not positions:
                raise ImproperlyConfigured(
                    f"{self._build.__qualname__}: placeholder {placeholder!r} is not a parameter "
                    "of the compiled SQL"
                )
            slots.append(positions)
        columns = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
        if compiler.get_converters(columns):
            raise ImproperlyConfigured(
                f"{self._build.__qualname__}: its columns need converters; read it with the ORM"
            )
        return sql, tuple(params), tuple(slots)

    def rows(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
        connection = connections[using]
        if connection.vendor != "postgresql":
            return list(self._build(*values).using(using))
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        sql, template, slots = compiled
        params = list(template)
        for positions, value in zip(slots, values, strict=True):
            for index in positions:
                params[index] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
