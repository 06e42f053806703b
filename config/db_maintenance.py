"""Planner statistics refreshed on demand: ``ANALYZE`` of given models' tables after a bulk write.

Autovacuum analyses a table once enough of it changed, but only later (its naptime, then its
thresholds): until then the planner plans a freshly filled table from an empty one's statistics. A
10,000-template filtered list ran in 8.7 ms before ``ANALYZE`` and 0.16 ms after (issue 13).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


def model_tables(models: Iterable[type[Model]]) -> list[str]:
    """The tables behind ``models`` (a proxy's is its concrete model's; unmanaged ones are left out), sorted."""
    concrete = [model._meta.concrete_model or model for model in models]  # (never None for a model class)
    return sorted({model._meta.db_table for model in concrete if model._meta.managed})


def tables_analyse(*, models: Iterable[type[Model]], using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Refresh the planner's statistics of the tables of ``models``: PostgreSQL and SQLite run ``ANALYZE`` on
    them (inside or outside a transaction); other backends nothing. Answers the tables analysed."""
    connection = connections[using]
    tables = model_tables(models)
    if not tables or connection.vendor not in ("postgresql", "sqlite"):
        return []
    quoted = [connection.ops.quote_name(table) for table in tables]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(quoted)}")
        else:
            # SQLite analyses one table (or schema) per statement; its planner reads sqlite_stat1.
            for table in quoted:
                cursor.execute(f"ANALYZE {table}")
    return tables
