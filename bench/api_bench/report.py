"""What the run prints: the route table of each size, the concurrency table, and the targets of issue 13."""

from __future__ import annotations

from dataclasses import dataclass

from bench.api_bench.client import Figures, WrkResult
from bench.api_bench.fixtures import FILTERED

NAME_WIDTH = 26
TARGET_SIZE = 10_000
TARGET_WIDTH = 56


def route_header() -> str:
    return (
        f"{'route':<{NAME_WIDTH}}{'items':>7}{'bytes':>11}{'median ms':>11}{'p90 ms':>9}{'×floor':>8}"
        f"{'SQL':>5}{'wrk req/s':>11}"
    )


def route_row(name: str, figures: Figures, floor_ms: float | None) -> str:
    if figures.failure:
        return f"{name:<{NAME_WIDTH}}FAILED {figures.failure}"
    ratio = f"{figures.median_ms / floor_ms:.2f}" if floor_ms else "-"
    wrk = f"{figures.wrk_rps:.1f}" if figures.wrk_rps is not None else "-"
    notes = f"  ({'; '.join(figures.notes)})" if figures.notes else ""
    return (
        f"{name:<{NAME_WIDTH}}{figures.items:>7}{figures.size:>11}{figures.median_ms:>11.2f}{figures.p90_ms:>9.2f}"
        f"{ratio:>8}{figures.queries!s:>5}{wrk:>11}{notes}"
    )


def concurrency_header() -> str:
    return f"{'route':<{NAME_WIDTH}}{'clients':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'p99/p50':>9}"


def concurrency_row(name: str, clients: int, result: WrkResult) -> str:
    if result.rps is None:
        return f"{name:<{NAME_WIDTH}}{clients:>8}  {result.note}"
    p50 = f"{result.p50_ms:.2f}" if result.p50_ms is not None else "-"
    p99 = f"{result.p99_ms:.2f}" if result.p99_ms is not None else "-"
    spread = f"{result.p99_ms / result.p50_ms:.1f}" if result.p50_ms and result.p99_ms else "-"
    note = f"  ({result.note})" if result.note else ""
    return f"{name:<{NAME_WIDTH}}{clients:>8}{result.rps:>10.1f}{p50:>10}{p99:>10}{spread:>9}{note}"


@dataclass(frozen=True)
class Target:
    what: str
    measured: float | None  # None: not measured (a failed route, wrk missing)
    limit: float
    unit: str  # "×floor", "ms", "×one client", "×p50"
    at_least: bool = False
    note: str = ""

    def row(self) -> str:
        comparison = "≥" if self.at_least else "≤"
        target = f"{comparison} {self.limit:g}{' ' if self.unit == 'ms' else ''}{self.unit}"
        if self.measured is None:
            value, verdict = "-", "MISS (not measured)"
        else:
            value = f"{self.measured:.2f}{' ' if self.unit == 'ms' else ''}{self.unit}"
            passed = self.measured >= self.limit if self.at_least else self.measured <= self.limit
            verdict = "PASS" if passed else "MISS"
        note = f"  {self.note}" if self.note else ""
        return f"{self.what:<{TARGET_WIDTH}}{value:>16}{target:>14}  {verdict}{note}"


def targets(
    results: dict[str, Figures], concurrency: dict[int, WrkResult], *, size: int, concurrency_route: str
) -> list[Target]:
    """Issue 13's targets from the largest size's figures (ratios to that size's floor, in the same run)."""
    floor = results.get("floor")
    floor_ms = floor.median_ms if floor and not floor.failure else None
    where = f"at {size:,}" + ("" if size >= TARGET_SIZE else f" (target: at {TARGET_SIZE:,})")

    def median(name: str) -> float | None:
        figures = results.get(name)
        return None if figures is None or figures.failure else figures.median_ms

    def ratio(name: str) -> float | None:
        value = median(name)
        return value / floor_ms if value is not None and floor_ms else None

    rows = [
        Target("retrieve", ratio("retrieve"), 1.2, "×floor"),
        Target("get-all-parameters", ratio("get-all-parameters"), 1.2, "×floor"),
        Target("get-types", ratio("get-types"), 1.2, "×floor"),
        Target("create-job", ratio("create-job"), 2.0, "×floor"),
        Target(f"filtered list of {FILTERED} {where}", ratio(f"list filtered {FILTERED}"), 1.5, "×floor"),
        Target(f"matching Train+dataset {where}", median("matching Train+dataset"), 150, "ms"),
        Target(f"matching Train (no input) {where}", median("matching Train"), 150, "ms"),
        Target(f"full list {where}", median("list (full)"), 600, "ms"),
    ]
    one, fifty = concurrency.get(1), concurrency.get(50)
    scaling = fifty.rps / one.rps if one and fifty and one.rps and fifty.rps else None
    spread = fifty.p99_ms / fifty.p50_ms if fifty and fifty.p50_ms and fifty.p99_ms else None
    rows += [
        Target(f"{concurrency_route}: req/s of 50 clients / of 1", scaling, 1.7, "×", at_least=True),
        Target(f"{concurrency_route}: p99 / p50 with 50 clients", spread, 5.0, "×"),
    ]
    return rows


def mebibytes(count: int) -> str:
    return f"{count / 2**20:.0f} MiB"
