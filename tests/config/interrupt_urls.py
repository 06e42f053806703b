"""Slow views for tests/config/test_interrupts.py (a test URLconf, never routed in the service): each
records how it ended in ``ENDED`` and sets ``STARTED`` once it is working."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path

from contracts.models.catalogue import Framework

STARTED = threading.Event()
ENDED: list[str] = []


def _recording(work):
    def view(request):
        STARTED.set()
        if os.environ.get("SLOW_VIEW_MARKER"):  # a server process tells its test it has started
            Path(os.environ["SLOW_VIEW_MARKER"]).touch()
        try:
            work()
        except BaseException as stopped:
            ENDED.append(type(stopped).__name__)
            raise
        ENDED.append("completed")
        return HttpResponse("done")

    return view


def spin(seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def sleep_in_database() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_sleep(30)")
        else:  # a long SQLite statement: count to a billion
            cursor.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
                "SELECT count(*) FROM n"
            )


def write_then_spin() -> None:
    with transaction.atomic():
        Framework.objects.create(name="half-written", version="1")
        spin()


urlpatterns = [
    path("spin", _recording(spin)),
    path("sleep-in-database", _recording(sleep_in_database)),
    path("write-then-spin", _recording(write_then_spin)),
    path("quick", lambda request: HttpResponse("quick")),
]
