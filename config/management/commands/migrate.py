"""``migrate`` without a statement timeout: a migration may lock and rewrite a big table for longer than a
request may take (DB_STATEMENT_TIMEOUT_MS applies to everything else)."""

from __future__ import annotations

from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import DatabaseError, connections
from django.db.backends.signals import connection_created


def lift_statement_timeout(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")


class Command(DjangoMigrateCommand):
    def handle(self, *args, **options):
        connection = connections[options["database"]]
        connection_created.connect(lift_statement_timeout)
        if connection.connection is not None:
            lift_statement_timeout(None, connection)
        try:
            return super().handle(*args, **options)
        finally:
            connection_created.disconnect(lift_statement_timeout)
            # Back to the connection's own timeout (its startup options), for a process that goes on.
            if connection.vendor == "postgresql" and connection.connection is not None:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("RESET statement_timeout")
                except DatabaseError:
                    pass  # a broken connection or failed transaction: nothing goes on with it
