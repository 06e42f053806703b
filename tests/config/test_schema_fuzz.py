"""Schemathesis over every operation of ``/v1/schema``, as an admin and as a plain user (issue 12).

Each operation gets a few generated requests (valid ones and invalid ones) through the WSGI app in this
process, inside the test's transaction; every request runs in a savepoint that is rolled back, so a
delete does not take the seeded rows away from the next request. Half of the requests aim at the seeded
rows (their pks, file names, …), the rest at whatever schemathesis makes up. Every answer must be no 5xx,
a documented status code, a documented content type and a body that matches the documented schema.

The budget is small so that it fits the suite (``FUZZ_MAX_EXAMPLES`` generated requests per operation, each
sent once per role; ``FUZZ_SEED`` fixes what is generated); ``make fuzz`` runs a larger one and prints its
figures (``FUZZ_REPORT``: the first failing request of each operation and check, one JSON line each).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.config.schema_harness import Seed, bearer, connections_kept_open, load_api_schema, seed_rows

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "2"))
SEED = int(os.environ.get("FUZZ_SEED", "12"))
# Where ``make fuzz`` writes what it found (one JSON line per failure); unset in the suite.
REPORT = os.environ.get("FUZZ_REPORT", "")
# Only the operations whose label contains this (debugging a finding), e.g. "POST /v1/jobs/list".
ONLY = os.environ.get("FUZZ_ONLY", "")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


@pytest.fixture(scope="module")
def api_schema():
    return load_api_schema()


@dataclass
class Tally:
    """What a run did: cases sent, failures by check, the first failing request of each kind."""

    cases: int = 0
    failures: Counter = field(default_factory=Counter)
    server_errors: int = 0
    examples: dict[tuple[str, str, str], str] = field(default_factory=dict)
    unsatisfiable: list[str] = field(default_factory=list)

    def record(self, *, role: str, case, response, group: FailureGroup) -> None:
        for failure in group.exceptions:
            check = failure.checks[0] if getattr(failure, "checks", ()) else type(failure).__name__
            self.failures[check] += 1
            if check == "not_a_server_error":
                self.server_errors += 1
            key = (role, case.operation.label, check)
            if key not in self.examples:
                self.examples[key] = _describe(case, response, failure)


def _describe(case, response, failure) -> str:
    body = case.body if not isinstance(case.body, schemathesis.core.NotSet) else None
    text = response.content.decode("utf-8", "replace")
    return json.dumps(
        {
            "request": {
                "method": case.method,
                "path": case.formatted_path,
                "query": case.query,
                "body": body,
                "media_type": case.media_type,
            },
            "status": response.status_code,
            "response": text[:400],
            "failure": f"{failure.title}: {failure.message}"[:600],
        },
        default=repr,
    )


def fuzz_operation(operation, *, roles: dict[str, dict[str, str]], seed: Seed, tally: Tally) -> None:
    """Generated requests for one operation (valid and invalid ones, half of them at the seeded rows), each
    sent once per role, each in a savepoint that is rolled back."""
    seeded = seed.path_parameters(operation.path, [parameter.name for parameter in operation.path_parameters])
    strategies = [operation.as_strategy(generation_mode=mode) for mode in MODES]
    if seeded:
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters=seeded) for mode in MODES]

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(case=st.one_of(*strategies))
    def run(case) -> None:
        for role, headers in roles.items():
            tally.cases += 1
            with transaction.atomic():
                response = case.call(headers=headers)
                transaction.set_rollback(True)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                tally.record(role=role, case=case, response=response, group=group)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # Nothing of this operation can be generated (no parameters, no body, nothing to make invalid).
        tally.unsatisfiable.append(operation.label)


def test_every_operation_answers_as_documented(api_schema, settings, tmp_path, capsys):
    seed = seed_rows(settings, tmp_path)
    tally = Tally()
    started = time.monotonic()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    operations = [operation for operation in operations if ONLY in operation.label]
    timings = []
    with connections_kept_open():
        for operation in operations:
            began = time.monotonic()
            # Fresh tokens per operation: a long run outlives an access token's lifetime.
            roles = {role: bearer(user) for role, user in seed.users.items()}
            fuzz_operation(operation, roles=roles, seed=seed, tally=tally)
            timings.append((time.monotonic() - began, operation.label))
    elapsed = time.monotonic() - started
    summary = (
        f"fuzz: {len(operations)} operations x {len(seed.users)} roles, {tally.cases} cases in {elapsed:.1f} s, "
        f"{sum(tally.failures.values())} failures {dict(tally.failures)}, {tally.server_errors} server errors, "
        f"{len(tally.unsatisfiable)} operations with nothing to generate"
    )
    with capsys.disabled():
        print("\n" + summary)
        if os.environ.get("FUZZ_TIMINGS"):
            for seconds, label in sorted(timings, reverse=True)[:15]:
                print(f"  {seconds:6.2f} s  {label}")
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as report:
            report.write(json.dumps({"summary": summary}) + "\n")
            for (failed_role, label, check), example in sorted(tally.examples.items()):
                report.write(json.dumps({"role": failed_role, "operation": label, "check": check}) + " " + example)
                report.write("\n")
    problems = "\n".join(
        f"{label} [{check}]: {example}" for (_, label, check), example in sorted(tally.examples.items())
    )
    assert not tally.failures, summary + "\n" + problems[:20000]
