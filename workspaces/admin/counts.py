"""Counts of related rows for changelist columns, as correlated subqueries: unlike ``Count`` over a join
they add no join or ``GROUP BY`` to the page's other queries (its row count, its filters), and two of
them never multiply each other."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce


def related_count(rows: QuerySet, link: str) -> Coalesce:
    """How many of ``rows`` point at the outer row through their foreign key ``link``."""
    counted = rows.filter(**{link: OuterRef("pk")}).order_by().values(link).annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
