"""One-row reads whose SQL is compiled once per process, not once per call.

Building and compiling a queryset costs about a millisecond of Python, more than running a one-row
``SELECT`` by primary key on a local PostgreSQL. On paths taken for every job (a worker reading what it
needs to decide whether to claim one) that is most of the read. A :class:`OneRowRead` is built by the
ORM once per database alias, with sentinel integers where each call's values go; each call runs that SQL
with its own values, and converts the row as the ORM would (JSON, datetimes, booleans on SQLite).

Sentinels must be integers no real value equals (negative, below any pk) and appear in the compiled
parameters exactly as given: the read refuses to compile otherwise, so a queryset that folds a sentinel
into its SQL text fails loudly, not silently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connections
from django.db.models import QuerySet


class OneRowRead:
    """``build()`` (a ``values_list`` queryset filtered with sentinels) as SQL compiled once per
    database alias; ``fetch`` runs it with each sentinel replaced by its value and returns the first row
    as a tuple of values converted as the ORM converts them, or None."""

    def __init__(self, build: Callable[[], QuerySet], *, sentinels: tuple[int, ...]) -> None:
        self._build = build
        self._sentinels = frozenset(sentinels)
        # Alias → (sql, params, the selected columns). Nothing here holds a connection: a thread's
        # connection comes and goes, the alias's SQL stays.
        self._compiled: dict[str, tuple[str, tuple, list]] = {}
        self._lock = threading.Lock()
        self.compilations = 0  # how many times it was compiled (once per alias)

    def fetch(self, *, values: Mapping[int, Any], using: str = "default") -> tuple | None:
        if set(values) != self._sentinels:
            raise ValueError(f"values for exactly the sentinels {sorted(self._sentinels)} are needed")
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compile(using)
        sql, params, columns = compiled
        arguments = [values.get(param, param) if type(param) is int else param for param in params]
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, arguments)
            row = cursor.fetchone()
        if row is None:
            return None
        converted = list(row)
        for index, column in enumerate(columns):
            for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
                converted[index] = converter(converted[index], column, connection)
        return tuple(converted)

    def _compile(self, using: str) -> tuple[str, tuple, list]:
        queryset = self._build().using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        found = {param for param in params if type(param) is int and param in self._sentinels}
        if found != self._sentinels:
            raise AssertionError(
                f"the query does not compile its sentinels {sorted(self._sentinels - found)} as parameters"
            )
        compiled = (sql, tuple(params), [column for column, _, _ in compiler.select])
        with self._lock:
            self._compiled[using] = compiled
            self.compilations += 1
        return compiled
