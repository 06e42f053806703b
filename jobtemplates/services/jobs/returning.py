"""``UPDATE … RETURNING`` for job rows: one statement that writes a job and gives back what the caller
needs of it (no re-read). PostgreSQL and SQLite (3.35 and later) both have it; Django's ORM does not.

The UPDATE is Django's own (the queryset's filter and the values, prepared by Django's update
compiler), with a RETURNING clause added; the returned values go through the fields' converters, and
the rows come back as model instances whose other fields are deferred (read on access, as with
``only()``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from django.db import connections, transaction
from django.db.models import Field, Model, QuerySet
from django.db.models.sql import UpdateQuery

M = TypeVar("M", bound=Model)


def update_returning(queryset: QuerySet[M], values: Mapping[str, Any], returning: Sequence[str]) -> list[M]:
    """``queryset.update(**values)``, returning the updated rows as instances with ``returning`` loaded
    (field names, as in ``only()``; the primary key is always loaded)."""
    model = queryset.model
    meta = model._meta
    fields = [meta.pk] + [_column(model, name) for name in returning if meta.get_field(name) is not meta.pk]
    # chain(klass) gives a query of that class (the stubs say only Query).
    query = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
    query.add_update_values(dict(values))
    query.annotations = {}
    connection = connections[queryset.db]
    sql, params = query.get_compiler(queryset.db).as_sql()
    if len(query.alias_map) > 1:  # a filter across a join: not one plain UPDATE of this table
        raise ValueError("update_returning filters on the updated table's own columns only")
    quote = connection.ops.quote_name
    sql = f"{sql} RETURNING {', '.join(quote(field.column) for field in fields)}"
    columns = [field.get_col(meta.db_table) for field in fields]
    converters = [connection.ops.get_db_converters(column) + column.get_db_converters(connection) for column in columns]
    with transaction.mark_for_rollback_on_error(using=queryset.db), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    instances = []
    for row in rows:
        loaded = {}
        for field, value, column, chain in zip(fields, row, columns, converters, strict=True):
            for converter in chain:
                value = converter(value, column, connection)
            loaded[field.attname] = value
        instances.append(instance_of(model, queryset.db, loaded))
    return instances


def _column(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise ValueError(f"{model.__name__}.{name} is not a column: it cannot be returned")
    return field


def instance_of(model: type[M], database: str, loaded: Mapping[str, Any]) -> M:
    """A row of ``model`` as read from ``database`` with only ``loaded`` (attname → value) loaded; its
    other fields are deferred (read from the database on access, as with ``only()``)."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in loaded]
    return model.from_db(database, names, [loaded[name] for name in names])
