"""Benchmark of the filter spec of ``POST …/list``: cost against the number of expressions.

Run with ``DATABASE_URL=postgres://… .venv/bin/python bench/filters.py [--sizes 1000,8000,16000] [--rounds 3]``.

What it does: makes a fresh database (a new PostgreSQL database on the server of ``DATABASE_URL``,
dropped afterwards; else a temporary SQLite file), migrates it, adds an admin and 50 users, raises
``FILTER_MAX_EXPRESSIONS`` (and the JSON body limit) past the largest size, and for each size and two
shapes of spec (``flat``: N top-level ``compare`` expressions, ``pk > -i``, that every user passes;
``or``: one ``or`` of N ``exact`` sub-expressions) measures, as medians over the rounds of wall time:

* **parse + compile**: ``parse_filter_spec`` and compiling the list's queryset to SQL (no database);
* **request**: ``POST /v1/users/list`` through Django's test client as the admin (JSON encoding, the
  parser, the filter spec, the query on the database, the answer);
* the same two with the **old** code put back in this process for the run (``FilterSpec.apply``
  chaining one ``filter()`` per expression, ``and``/``or`` folded pairwise), as the baseline.

Then it prints the ratio per doubling of the size (1.0 = linear ×2 → ×2, 2.0 = quadratic).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from bench.common import fresh_database  # noqa: E402

SHAPES = ("flat", "or")


def spec(shape: str, size: int) -> dict:
    """A filter spec of ``size`` expressions (counting sub-expressions) that every user passes."""
    if shape == "flat":
        return {"expressions": [{"type": "compare", "field": "pk", "operator": ">", "value": -i} for i in range(size)]}
    subs = [{"type": "exact", "field": "username", "value": f"nobody-{i}"} for i in range(size - 1)]
    subs[0] = {"type": "contains", "field": "username", "sub_string": "e"}
    return {"expressions": [{"type": "or", "sub_expressions": subs}]}


@contextlib.contextmanager
def old_code() -> Iterator[None]:
    """The filter spec as it was before issue 12: one ``filter()`` per expression, pairwise folds."""
    from config.api import filterspec

    def old_apply(self, queryset):
        for q in self.filters:
            queryset = queryset.filter(q)
        if self.needs_distinct:
            queryset = queryset.distinct()
        return queryset.order_by(*self.ordering, "pk")

    new_logical = filterspec._SpecParser.logical

    def old_logical(self, kind, raw, path):
        combined = new_logical(self, kind, raw, path)
        if combined is None:
            return None
        parts = combined.children
        folded = parts[0] if isinstance(parts[0], filterspec.Q) else filterspec.Q(parts[0])
        for q in parts[1:]:
            q = q if isinstance(q, filterspec.Q) else filterspec.Q(q)
            folded = (folded & q) if kind == "and" else (folded | q)
        return folded

    new_apply = filterspec.FilterSpec.apply
    filterspec.FilterSpec.apply = old_apply
    filterspec._SpecParser.logical = old_logical
    try:
        yield
    finally:
        filterspec.FilterSpec.apply = new_apply
        filterspec._SpecParser.logical = new_logical


def median_seconds(call: Callable[[], None], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(shape: str, size: int, rounds: int, admin) -> tuple[float, float]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from config.api.filterspec import parse_filter_spec
    from config.api.users.views import UserViewSet

    body = spec(shape, size)
    fields = UserViewSet.filter_fields
    queryset = get_user_model().objects.all()

    def parse_and_compile() -> None:
        str(parse_filter_spec(body, fields).apply(queryset).query)

    client = Client()
    client.force_login(admin)
    encoded = json.dumps(body)

    def request() -> None:
        response = client.post("/v1/users/list", encoded, content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        assert len(response.json()) == 51, len(response.json())

    return median_seconds(parse_and_compile, rounds), median_seconds(request, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,8000,16000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true", help="skip the old code (it is quadratic: slow)")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-filters-") as workdir:
        database_url, drop = fresh_database(Path(workdir), "bench_filters")
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DATABASE_URL": database_url,
                "VAR_DIR": str(Path(workdir) / "var"),
                "FILTER_MAX_EXPRESSIONS": str(max(sizes) + 1),
                "REQUEST_JSON_MAX_BYTES": str(1 << 30),
                "REQUEST_JSON_MAX_DEPTH": "1000",
                # The old code takes minutes at 16,000: no request or statement timeout for the baseline.
                "REQUEST_TIMEOUT_SECONDS": "0",
                "DB_STATEMENT_TIMEOUT_MS": "0",
            }
        )
        try:
            run(sizes, options)
        finally:
            from django.db import connections

            connections.close_all()
            drop()


def run(sizes: list[int], options: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    users = get_user_model()
    admin = users.objects.create_superuser("bench-admin", "admin@example.com", "bench-password-1")
    users.objects.bulk_create([users(username=f"user-{i}") for i in range(50)])
    print(f"database: {connection.vendor}; rounds: {options.rounds}; medians of wall time")
    print(f"{'shape':<6} {'expressions':>11} {'parse+compile':>14} {'request':>10} {'old p+c':>10} {'old request':>12}")
    results: dict[tuple[str, str], list[float]] = {}
    for shape in SHAPES:
        for size in sizes:
            new = measure(shape, size, options.rounds, admin)
            old = (math.nan, math.nan)
            if not options.no_baseline:
                with old_code():
                    old = measure(shape, size, options.rounds, admin)
            for label, value in zip(("parse+compile", "request", "old p+c", "old request"), (*new, *old), strict=True):
                results.setdefault((shape, label), []).append(value)
            widths = (14, 10, 10, 12)
            cells = " ".join(f"{value:>{width}.3f}" for value, width in zip((*new, *old), widths, strict=True))
            print(f"{shape:<6} {size:>11,} {cells}")
    print("\nratio per doubling of the size (time ratio ** (1 / log2(size ratio)); 2 = linear, 4 = quadratic)")
    for (shape, label), values in results.items():
        steps = []
        for index in range(1, len(sizes)):
            small, large, t_small, t_large = sizes[index - 1], sizes[index], values[index - 1], values[index]
            if t_small > 0 and not math.isnan(t_small):
                steps.append(f"{small:,}→{large:,}: ×{(t_large / t_small) ** (1 / math.log2(large / small)):.2f}")
        print(f"{shape:<6} {label:<14} {'; '.join(steps)}")


if __name__ == "__main__":
    main()
