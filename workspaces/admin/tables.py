"""Read-only tables of related rows on a change page (a team's projects, a project's datasets, a dataset's
files), capped, with a link to all of them in their own changelist.

They are tables rather than read-only inlines on purpose: an inline posts two hidden fields per row
with every save of the page, so a dataset of some 500 files could no longer be saved (Django refuses a
request of more than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` fields), and it renders every row, however many.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.utils import display_for_value
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString

ROWS_SHOWN = 100


@dataclass(frozen=True)
class Column:
    """One column: its heading and what it shows of a row (``boolean``: as the admin's tick icons);
    ``prepare`` adds what the column reads to the rows' query (a join or a prefetch)."""

    heading: str
    value: Callable[[Any], Any]
    boolean: bool = False
    prepare: Callable[[QuerySet], QuerySet] | None = None

    def cell(self, row: Any) -> Any:
        value = self.value(row)
        if self.boolean or value is None or value == "":
            return display_for_value(value, "-", boolean=self.boolean)
        return value


def related_table(*, rows: QuerySet, columns: Sequence[Column], what: str, all_url: str = "") -> SafeString:
    """The first ``ROWS_SHOWN`` of ``rows`` as a table of ``columns`` (``what`` names them, plural)."""
    for column in columns:
        if column.prepare is not None:
            rows = column.prepare(rows)
    shown = list(rows[:ROWS_SHOWN])
    total = len(shown) if len(shown) < ROWS_SHOWN else rows.count()
    context = {
        "headings": [column.heading for column in columns],
        "rows": [[column.cell(row) for column in columns] for row in shown],
        "total": total,
        "what": what,
        "all_url": all_url,
    }
    return SafeString(render_to_string("admin/workspaces/related_table.html", context))


def link(url: str, text: object) -> SafeString:
    return format_html('<a href="{}">{}</a>', url, text)


def counted(active: int, total: int) -> str:
    """A count of active rows, with the soft-deleted ones beside it when there are any: ``3 (+1 deleted)``."""
    deleted = total - active
    return f"{active} (+{deleted} deleted)" if deleted else str(active)
