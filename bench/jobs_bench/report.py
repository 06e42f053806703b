"""The targets of issue 14 and how the run prints them (in the style of bench/api_bench/report.py)."""

from __future__ import annotations

from dataclasses import dataclass

TARGET_WIDTH = 68
DECIMALS = {"×": 2, "%": 1, "s": 2, "statements": 1}


@dataclass(frozen=True)
class Target:
    what: str
    measured: float | None  # None: not measured (its section was not run, or failed)
    limit: float
    unit: str  # "×", "%", "s", "statements"
    at_least: bool = False
    note: str = ""

    def passed(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def row(self) -> str:
        comparison = "≥" if self.at_least else "≤"
        unit = self.unit if self.unit in ("×", "%") else f" {self.unit}"
        decimals = DECIMALS.get(self.unit, 2)
        target = f"{comparison} {self.limit:.{decimals}f}{unit}"
        if self.measured is None:
            value, verdict = "-", "MISS (not measured)"
        else:
            value = f"{self.measured:.{decimals}f}{unit}"
            verdict = "PASS" if self.passed() else "MISS"
        note = f"  {self.note}" if self.note else ""
        return f"{self.what:<{TARGET_WIDTH}}{value:>18}{target:>18}  {verdict}{note}"


def targets_table(rows: list[Target]) -> str:
    header = f"{'target (issue 14)':<{TARGET_WIDTH}}{'measured':>18}{'target':>18}  verdict"
    lines = ["", "targets", header, "-" * len(header), *(row.row() for row in rows)]
    passed = sum(1 for row in rows if row.passed())
    lines.append(f"{passed} of {len(rows)} PASS")
    return "\n".join(lines)
