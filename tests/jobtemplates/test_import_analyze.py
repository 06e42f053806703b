"""``import_templates`` leaves the planner statistics of the template tables current: right after the
command (before autovacuum could run) each table's statistics count the rows the import wrote.

The test's rows are never committed (the test runs in a transaction that is rolled back), so autovacuum
cannot see them: only an ``ANALYZE`` run by the command itself, in this transaction, counts them.
"""

from __future__ import annotations

import json
import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from jobtemplates.models import Job, JobTemplate, MetaDependency, MetaNode, Parameter
from jobtemplates.services.templates.statistics import template_content_models
from tests.jobtemplates.conftest import REPO, meta_body

pytestmark = pytest.mark.django_db

UFDL_FOLDER = REPO / "templates" / "ufdl"
TEMPLATE_TABLES = sorted(model._meta.db_table for model in (JobTemplate, Parameter, MetaNode, MetaDependency))


def import_templates(*args: str) -> str:
    out = StringIO()
    call_command("import_templates", *args, stdout=out, stderr=StringIO(), no_color=True)
    return out.getvalue()


def row_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        return cursor.fetchone()[0]


def planner_row_counts(tables: list[str]) -> dict[str, int | None]:
    """What the planner's statistics say each table holds (None: no statistics)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # reltuples is -1 for a table never analysed or vacuumed (PostgreSQL 14+), 0 on older servers.
            cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [tables])
            return {table: None for table in tables} | {
                name: (int(rows) if rows >= 0 else None) for name, rows in cursor.fetchall()
            }
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return {table: None for table in tables}
        # Each row's stat starts with the row count of the table (or of the index it describes).
        cursor.execute("SELECT tbl, stat FROM sqlite_stat1")
        counts: dict[str, int | None] = {table: None for table in tables}
        for table, stat in cursor.fetchall():
            if table in counts:
                counts[table] = max(counts[table] or 0, int(stat.split()[0]))
        return counts


def column_statistics(table: str) -> set[str]:
    """The columns of ``table`` PostgreSQL keeps statistics for (pg_stats)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s", [table])
        return {name for (name,) in cursor.fetchall()}


def test_the_template_content_models_are_those_deleted_with_a_template_not_its_jobs():
    models = template_content_models()
    assert models[0] is JobTemplate
    assert {JobTemplate, Parameter, MetaNode, MetaDependency} <= set(models)
    assert Job not in models


def test_the_statistics_count_the_imported_rows_right_after_the_command(catalogue, tmp_path):
    # UFDL's 29 workable templates and a meta-template over two of them: rows in every template table.
    shutil.copytree(UFDL_FOLDER, tmp_path / "ufdl")
    (tmp_path / "meta.json").write_text(json.dumps(meta_body()), encoding="utf-8")
    before = planner_row_counts(TEMPLATE_TABLES)
    output = import_templates(str(tmp_path), "--verbosity", "2")
    counts = {table: row_count(table) for table in TEMPLATE_TABLES}
    assert counts["jobtemplates_jobtemplate"] == 30 and all(counts.values()), counts
    assert before != counts
    assert planner_row_counts(TEMPLATE_TABLES) == counts
    assert f"analysed {', '.join(TEMPLATE_TABLES)}" in output
    if connection.vendor == "postgresql":
        assert {"name", "version", "scope", "deletion_time"} <= column_statistics("jobtemplates_jobtemplate")
        assert {"template_id", "name"} <= column_statistics("jobtemplates_parameter")


def test_a_run_that_creates_nothing_does_not_analyse(catalogue):
    import_templates(str(UFDL_FOLDER))
    assert "analysed " not in import_templates(str(UFDL_FOLDER), "--verbosity", "2")
