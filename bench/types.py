"""Benchmark of the type language over UFDL's template strings: parse (cold, cached), format, subtype.

Run with ``.venv/bin/python bench/types.py [--rounds N] [--fixtures DIR]``. Pure Python, no Django.
Each figure is the median over the rounds of operations per CPU second (process time, so that other
work on a shared machine does not distort it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from contracts.contracts import parse_contract  # noqa: E402
from contracts.types import format_type, is_subtype, parse_type  # noqa: E402

DEFAULT_FIXTURES = Path(os.environ.get("UFDL_FIXTURES_DIR", "/work/shared/fixtures/ufdl"))


def template_strings(fixtures: Path) -> tuple[list[str], list[str]]:
    """The distinct parameter type strings and job-type (contract) strings of the fixture templates."""
    type_strings: set[str] = set()
    contract_strings: set[str] = set()
    for path in sorted(fixtures.glob("templates/*.json")):
        specific = json.loads(path.read_text(encoding="utf-8"))["specific"]
        contract_strings.add(specific["job_type"])
        for parameter in specific["parameters"].values():
            type_strings.update(parameter["types"])
    return sorted(type_strings), sorted(contract_strings)


def operations_per_second(operation: Callable[[], int], *, rounds: int, minimum_seconds: float = 0.2) -> float:
    """Median over ``rounds`` of (operations done / seconds); ``operation`` returns how many it did."""
    rates = []
    for _ in range(rounds):
        done = 0
        start = time.process_time()
        while True:
            done += operation()
            elapsed = time.process_time() - start
            if elapsed >= minimum_seconds:
                break
        rates.append(done / elapsed)
    return statistics.median(rates)


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rounds", type=int, default=7)
    arguments.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    options = arguments.parse_args()

    type_strings, contract_strings = template_strings(options.fixtures)
    parsed = [parse_type(text) for text in type_strings]
    pairs = [(a, b) for a in parsed for b in parsed]

    def parse_cold() -> int:
        for text in type_strings:
            parse_type.cache_clear()
            parse_type(text)
        return len(type_strings)

    def parse_cached() -> int:
        for text in type_strings:
            parse_type(text)
        return len(type_strings)

    def contracts_cold() -> int:
        for text in contract_strings:
            parse_contract.cache_clear()
            parse_type.cache_clear()
            parse_contract(text)
        return len(contract_strings)

    def format_fresh() -> int:
        # Freshly parsed values, so the lazily cached canonical text is really computed.
        parse_type.cache_clear()
        values = [parse_type(text) for text in type_strings]
        start = time.process_time()
        for value in values:
            format_type(value)
        format_fresh.seconds += time.process_time() - start
        return len(values)

    format_fresh.seconds = 0.0

    def subtype_all_pairs() -> int:
        for a, b in pairs:
            is_subtype(a, b)
        return len(pairs)

    rounds = options.rounds
    cold = operations_per_second(parse_cold, rounds=rounds)
    cached = operations_per_second(parse_cached, rounds=rounds)
    contracts = operations_per_second(contracts_cold, rounds=rounds)
    formatted = operations_per_second(lambda: len([format_type(value) for value in parsed]), rounds=rounds)
    subtype = operations_per_second(subtype_all_pairs, rounds=rounds)
    # Format timing of fresh values excludes the parsing done to make them.
    format_counts = [format_fresh() for _ in range(200)]
    fresh_formats = sum(format_counts) / format_fresh.seconds

    print(f"strings: {len(type_strings)} distinct parameter types, {len(contract_strings)} contracts; {rounds} rounds")
    print(f"parse, cold (cache cleared each parse): {cold:12,.0f} /s")
    print(f"parse, cached:                          {cached:12,.0f} /s   ({cached / cold:,.0f}x cold)")
    print(f"parse_contract, cold (both caches):     {contracts:12,.0f} /s")
    print(f"format, first time on a fresh value:    {fresh_formats:12,.0f} /s")
    print(f"format, repeated (canonical text kept): {formatted:12,.0f} /s")
    print(f"is_subtype, all {len(pairs)} pairs:         {subtype:12,.0f} /s")


if __name__ == "__main__":
    main()
