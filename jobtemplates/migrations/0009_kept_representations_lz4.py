"""Kept representations compressed with lz4 on PostgreSQL (14+, built with lz4), and the rows kept so far
rewritten so that they are too.

A full list reads every template's kept ``detail`` (46 MB at 10,000 templates): with PostgreSQL's default
pglz, about half of the database's time for it went to decompressing; lz4 decompresses the same bytes
in about 40% of that time. Other databases (SQLite), and servers without lz4, are left as they are.
"""

from django.db import migrations

COLUMNS = ("detail", "parameters", "types", "outputs", "export")
TABLE = "jobtemplates_templaterepresentation"


def _lz4_available(cursor) -> bool:
    cursor.execute("SELECT current_setting('server_version_num')::int >= 140000")
    if not cursor.fetchone()[0]:
        return False
    cursor.execute("SAVEPOINT lz4_probe")
    try:
        cursor.execute("CREATE TEMPORARY TABLE lz4_probe (b bytea COMPRESSION lz4) ON COMMIT DROP")
    except Exception:
        cursor.execute("ROLLBACK TO SAVEPOINT lz4_probe")
        return False
    cursor.execute("DROP TABLE lz4_probe")
    cursor.execute("RELEASE SAVEPOINT lz4_probe")
    return True


def use_lz4(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if not _lz4_available(cursor):
            return
        for column in COLUMNS:
            cursor.execute(f'ALTER TABLE "{TABLE}" ALTER COLUMN "{column}" SET COMPRESSION lz4')
        # A value copied as it is keeps its old compression: concatenating makes a new one.
        assignments = ", ".join(f'"{column}" = "{column}" || \'\'::bytea' for column in COLUMNS)
        cursor.execute(f'UPDATE "{TABLE}" SET {assignments}')


def use_default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int >= 140000")
        if cursor.fetchone()[0]:
            for column in COLUMNS:
                cursor.execute(f'ALTER TABLE "{TABLE}" ALTER COLUMN "{column}" SET COMPRESSION DEFAULT')


class Migration(migrations.Migration):
    dependencies = [("jobtemplates", "0008_kept_representations")]

    operations = [migrations.RunPython(use_lz4, use_default, elidable=True)]
