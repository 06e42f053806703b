"""config.compiled.OneRowRead: a one-row read compiled once per alias gives what the ORM gives (JSON,
datetimes, joined columns converted alike, on PostgreSQL and SQLite), with each call's own values, and
refuses a queryset that does not compile its sentinels as parameters."""

from __future__ import annotations

import threading

import pytest

from config.compiled import OneRowRead
from executors.runner import TEMPLATE_FIELDS, _run_facts
from jobtemplates.models import Job
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db(transaction=True)

SENTINEL = -7_000_000_000_001
COLUMNS = ("pk", "status", "input_values", "creation_time", "creator__email", "template__outputs", "is_cancelled")


def read() -> OneRowRead:
    return OneRowRead(lambda: Job.objects.filter(pk=SENTINEL).values_list(*COLUMNS), sentinels=(SENTINEL,))


def test_each_call_reads_its_own_row_as_the_orm_does_compiled_once(stage):
    jobs = [
        JobFactory(creator=stage["admin"], input_values={"dataset": {"value": n, "type": "int"}}) for n in range(1, 4)
    ]
    statement = read()
    for job in jobs:
        expected = Job.objects.filter(pk=job.pk).values_list(*COLUMNS).get()
        assert statement.fetch(values={SENTINEL: job.pk}) == expected
    assert statement.fetch(values={SENTINEL: max(job.pk for job in jobs) + 1000}) is None
    assert statement.compilations == 1


def test_another_threads_connection_uses_the_same_sql(stage):
    job = JobFactory(creator=stage["admin"])
    statement = read()
    assert statement.fetch(values={SENTINEL: job.pk})[0] == job.pk
    seen = []

    def other() -> None:
        from django.db import connection

        try:
            seen.append(statement.fetch(values={SENTINEL: job.pk}))
        finally:
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen and seen[0][0] == job.pk
    assert statement.compilations == 1


def test_values_must_name_exactly_its_sentinels():
    with pytest.raises(ValueError, match="sentinels"):
        read().fetch(values={})
    with pytest.raises(ValueError, match="sentinels"):
        read().fetch(values={SENTINEL: 1, -5: 2})


def test_a_sentinel_the_sql_does_not_carry_as_a_parameter_is_refused():
    folded = OneRowRead(lambda: Job.objects.filter(pk__gt=0).values_list("pk"), sentinels=(SENTINEL,))
    with pytest.raises(AssertionError, match="sentinels"):
        folded.fetch(values={SENTINEL: 1})


def test_the_runners_facts_read_matches_the_orm(stage):
    job = JobFactory(creator=stage["admin"])
    facts = _run_facts(job.pk)
    assert facts is not None and facts.runner == job.runner
    assert facts.creator.pk == stage["admin"].pk and facts.creator.email == stage["admin"].email
    for field in TEMPLATE_FIELDS:
        assert getattr(facts.template, field) == getattr(job.template, field), field
    assert _run_facts(job.pk + 10_000) is None
