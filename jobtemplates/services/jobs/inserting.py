"""Inserting a row and the rows that point at it in one statement (PostgreSQL), for create-job.

A job, its references and its idempotency key are written together or not at all. On PostgreSQL that
is one ``WITH job AS (INSERT … RETURNING id), … INSERT … SELECT job.id …`` statement: atomic by itself,
so it needs no BEGIN/COMMIT round trips around it. Elsewhere (SQLite: local, round trips are free) it
is the plain save and bulk inserts in a transaction. Either way the primary row comes back saved
(pk set, ``_state`` as after ``save()``), and a unique violation raises ``IntegrityError`` with
nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.models import ForeignKey, Model
from django.db.models.sql import InsertQuery


@dataclass
class Dependents:
    """Unsaved rows of one model whose ``fk`` (a field name) is to point at the primary row."""

    rows: Sequence[Model]
    fk: str
    ignore_conflicts: bool = False
    model: type[Model] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.model is None and self.rows:
            self.model = type(self.rows[0])


def insert_with_dependents(primary: Model, dependents: list[Dependents], *, using: str = "default") -> None:
    """Insert ``primary`` and every group of ``dependents`` (their ``fk`` set to it) all at once."""
    groups = [group for group in dependents if group.rows]
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            primary.save(force_insert=True, using=using)
            for group in groups:
                for row in group.rows:
                    setattr(row, group.fk, primary)
                type(group.rows[0])._default_manager.using(using).bulk_create(
                    group.rows, ignore_conflicts=group.ignore_conflicts
                )
        return
    meta = primary._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
    query = InsertQuery(type(primary))
    query.insert_values(fields, [primary])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [meta.pk]
    [(insert_sql, insert_params)] = compiler.as_sql()
    quote = connection.ops.quote_name
    parts = [f"{quote('primary_row')} AS ({insert_sql})"]
    params = list(insert_params)
    pk_column = quote(meta.pk.column)
    for index, group in enumerate(groups):
        model = group.model
        assert model is not None
        fk = model._meta.get_field(group.fk)
        if not isinstance(fk, ForeignKey):
            raise TypeError(f"{model.__name__}.{group.fk} is not a foreign key")
        columns = [f for f in model._meta.local_concrete_fields if f is not model._meta.auto_field and f is not fk]
        rows_sql = []
        for row in group.rows:
            values = [f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in columns]
            # Typed, so that a NULL (or any literal) is read as its column's type.
            rows_sql.append(f"({', '.join(f'CAST(%s AS {f.db_type(connection)})' for f in columns)})")
            params += values
        names = ", ".join(quote(f"v{n}") for n in range(len(columns)))
        conflict = " ON CONFLICT DO NOTHING" if group.ignore_conflicts else ""
        parts.append(
            f"{quote(f'dependent_{index}')} AS (INSERT INTO {quote(model._meta.db_table)} "
            f"({quote(fk.column)}, {', '.join(quote(f.column) for f in columns)}) "
            f"SELECT {quote('primary_row')}.{pk_column}, {names} FROM {quote('primary_row')} CROSS JOIN "
            f"(VALUES {', '.join(rows_sql)}) AS {quote('v')} ({names}){conflict})"
        )
    sql = f"WITH {', '.join(parts)} SELECT {pk_column} FROM {quote('primary_row')}"
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        [(pk,)] = cursor.fetchall()
    primary.pk = pk
    primary._state.adding = False
    primary._state.db = using
    for group in groups:
        for row in group.rows:
            setattr(row, group.fk, primary)
