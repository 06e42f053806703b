"""Meta-job advancing at a constant, small number of statements per node, and create-job's kept template
parts: the graph and the parameters are read once per process (keyed by pk and creation time), each
advance reads the parent, its children, the new upstream outputs once, inserts the next child already
marked sent and writes the parent's progress in one UPDATE; wiring and errors are as before."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from jobtemplates.models import Job, JobOutput, JobStatus
from jobtemplates.services.jobs import job_create, job_output_write, meta_job_advance
from jobtemplates.services.jobs.kept_templates import meta_graph, template_parameters
from jobtemplates.services.templates import template_import
from tests.factories import DatasetFactory, DomainFactory, LicenceFactory

pytestmark = pytest.mark.django_db

BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
NOOP_MODEL = "Model<Domain<'Image Classification'>, Framework<'noop', '1'>>"
# One advance creating the next child of a chain: the savepoint of its transaction (the test's own
# transaction makes it one), the parent locked, its children, the children's outputs not surfaced yet,
# their surfacing on the parent, the upstream outputs the next child is wired to, the child (marked sent
# in its insert), the parent's progress, the release.
ADVANCE_QUERIES = 9


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: calls.append(kwargs["kwargs"]["job_id"]))
    return calls


@pytest.fixture
def chain(catalogue, admin_user, user):
    """``chain(n)``: a meta-template of sleep_train + n sleep_predict, each predict's predictions feeding
    the next one's dataset, and a job of it (with the dataset both ends need)."""
    for name in ("sleep_train", "sleep_predict"):
        template_import(data=json.loads((BUILTIN / f"{name}.json").read_text()), creator=admin_user)
    dataset = DatasetFactory(domain=DomainFactory(name="ic"), licence=LicenceFactory(name="L"), creator=user)

    def make(n: int, name: str = "chain"):
        predicts = [f"p{i}" for i in range(1, n + 1)]
        edges = [{"from_node": "train", "from_output": "model", "to_node": p, "to_input": "model"} for p in predicts]
        edges += [
            {"from_node": a, "from_output": "predictions", "to_node": b, "to_input": "dataset"}
            for a, b in zip(predicts, predicts[1:], strict=False)
        ]
        nodes = {"train": {"name": "sleep_train"}, **{p: {"name": "sleep_predict"} for p in predicts}}
        body = {
            "name": name,
            "licence": "Apache 2.0",
            "domain": "ic",
            "specific": {"nodes": nodes, "dependencies": edges},
        }
        template = template_import(data=body, creator=admin_user).template
        given = {"value": dataset.pk, "type": IC_DATASET}
        inputs = {"train:dataset": given, "p1:dataset": given}
        return job_create(template=template, body={"input_values": inputs, "queue_anyway": True}, creator=user)

    make.dataset = dataset
    return make


def newest_child(parent: Job) -> Job:
    return Job.objects.filter(parent=parent).order_by("-pk").first()


def finish(child: Job, dataset_pk: int) -> JobOutput:
    """The child finished with the output its successors are wired to."""
    Job.objects.filter(pk=child.pk).update(status=JobStatus.FINISHED, end_time=timezone.now(), progress=1.0)
    if child.child_name == "train":
        return job_output_write(job=child, name="model", output_type=NOOP_MODEL, data=b"model")
    return job_output_write(job=child, name="predictions", output_type=IC_DATASET, data=dataset_pk)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_each_advance_of_a_chain_costs_the_same_few_statements(chain, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        parent = chain(12)
    counts, statements = [], []
    for _ in range(12):
        finish(newest_child(parent), chain.dataset.pk)
        with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
            meta_job_advance(parent_id=parent.pk)
        counts.append(len(captured))
        statements.append([q["sql"] for q in captured.captured_queries])
    # The first advance may still read the graph in a fresh process; after it, never.
    assert counts[1:] == [ADVANCE_QUERIES] * 11, counts
    for sqls in statements[1:]:
        assert not any(
            table in sql for sql in sqls for table in ('"jobtemplates_metanode"', '"jobtemplates_metadependency"')
        )
        assert not any('FROM "jobtemplates_jobtemplate"' in sql or '"auth_user"' in sql for sql in sqls)
        updates = [sql for sql in sqls if sql.startswith("UPDATE")]
        assert len(updates) == 1 and '"progress"' in updates[0]  # no UPDATE marking the child sent
    children = list(Job.objects.filter(parent=parent).order_by("pk"))
    assert [c.child_name for c in children] == ["train", *(f"p{i}" for i in range(1, 13))]
    assert sent == [c.pk for c in children]  # each sent once, after commit
    assert all(c.sends == 1 and c.enqueued_time is not None for c in children)


def test_the_next_child_is_wired_to_the_latest_upstream_outputs(chain, sent):
    parent = chain(2)
    train = newest_child(parent)
    finish(train, chain.dataset.pk)
    # A later output of the same name, deleted (another type: one live row per name and type): not wired.
    latest = JobOutput.objects.get(job=train, name="model")
    JobOutput.objects.create(
        job=train,
        name="model",
        type="Model<Domain<'x'>, Framework<'y', '1'>>",
        file=latest.file.name,
        size=1,
        deletion_time=timezone.now(),
    )
    meta_job_advance(parent_id=parent.pk)
    p1 = newest_child(parent)
    assert p1.child_name == "p1"
    assert p1.input_values == {
        "model": {"value": latest.pk, "type": f"JobOutput<{NOOP_MODEL}>"},
        "dataset": {"value": chain.dataset.pk, "type": IC_DATASET},
    }
    finish(p1, chain.dataset.pk)
    meta_job_advance(parent_id=parent.pk)
    p2 = newest_child(parent)
    assert (p2.child_name, p2.input_values["dataset"]) == ("p2", {"value": chain.dataset.pk, "type": IC_DATASET})
    assert p2.input_values["model"] == {"value": latest.pk, "type": f"JobOutput<{NOOP_MODEL}>"}
    assert Job.objects.get(pk=parent.pk).progress == pytest.approx(2 / 3)  # train and p1 of 3 nodes


def test_a_missing_upstream_output_errors_the_parent_and_creates_nothing(chain, sent):
    parent = chain(2)
    train = newest_child(parent)
    finish(train, chain.dataset.pk)
    meta_job_advance(parent_id=parent.pk)
    p1 = newest_child(parent)
    Job.objects.filter(pk=p1.pk).update(status=JobStatus.FINISHED, end_time=timezone.now())  # no predictions
    meta_job_advance(parent_id=parent.pk)
    parent.refresh_from_db()
    assert parent.status == JobStatus.ERRORED
    assert "cannot wire the next child" in parent.error_reason and "predictions" in parent.error_reason
    assert sorted(Job.objects.filter(parent=parent).values_list("child_name", flat=True)) == ["p1", "train"]


def test_a_chain_finishes_its_parent(chain, sent):
    parent = chain(3)
    for _ in range(4):
        finish(newest_child(parent), chain.dataset.pk)
        meta_job_advance(parent_id=parent.pk)
    parent.refresh_from_db()
    assert (parent.status, parent.progress) == (JobStatus.FINISHED, 1.0)
    assert set(parent.outputs.values_list("name", flat=True)) >= {"train:model", "p1:predictions", "p3:predictions"}


def test_the_kept_graph_is_read_once_and_keyed_by_creation_time(chain, sent):
    template = chain(3).template
    meta_graph(template)
    with CaptureQueriesContext(connection) as captured:
        graph = meta_graph(template)
    assert len(captured) == 0
    assert [n.name for n in graph.nodes] == ["train", "p1", "p2", "p3"]
    assert {e.from_node for e in graph.nodes[2].feeding} == {"train", "p1"}
    # Another template under the same pk (SQLite giving a rolled-back pk again) is another key.
    template.creation_time += timedelta(microseconds=1)
    with CaptureQueriesContext(connection) as captured:
        meta_graph(template)
    assert len(captured) == 2


def test_the_kept_parameters_are_read_once_and_keyed_by_creation_time(chain, sent):
    template = chain(1).template.nodes.get(name="p1").child
    first = template_parameters(template)
    with CaptureQueriesContext(connection) as captured:
        assert template_parameters(template) == first
    assert len(captured) == 0
    assert [p.name for p in first] == ["sleep", "fail"]
    other = replace_creation_time(template)
    with CaptureQueriesContext(connection) as captured:
        template_parameters(other)
    assert len(captured) == 1


def replace_creation_time(template):
    template.creation_time = template.creation_time + timedelta(seconds=1)
    return template


def test_creating_a_meta_job_marks_its_ready_children_sent_in_their_insert(
    chain, sent, django_capture_on_commit_callbacks
):
    with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
        parent = chain(3, name="chain_created")
    train = newest_child(parent)
    assert not any(q["sql"].startswith("UPDATE") for q in captured.captured_queries)
    assert (train.child_name, train.sends, sent) == ("train", 1, [train.pk])


def test_an_idempotent_create_job_is_one_statement_more_than_a_plain_one(client, chain, sent):
    parent = chain(1)
    template = parent.template.nodes.get(name="train").child
    body = {"input_values": {"dataset": {"value": chain.dataset.pk, "type": IC_DATASET}}, "queue_anyway": True}
    url = f"/v1/job-templates/{template.pk}/create-job"
    client.post(url, body, format="json")  # warms this process's kept parts

    def statements(**headers) -> int:
        """Without the savepoint a test's transaction needs (in autocommit there is none)."""
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, body, format="json", headers=headers)
        assert response.status_code == 200, response.json()
        return sum("SAVEPOINT" not in q["sql"] for q in captured.captured_queries)

    plain = statements()
    # The key's read; PostgreSQL writes the key in the job's own statement, SQLite in its transaction.
    assert statements(**{"Idempotency-Key": "k-1"}) == plain + (1 if connection.vendor == "postgresql" else 2)
    replayed = client.post(url, body, format="json", headers={"Idempotency-Key": "k-1"})
    assert replayed.headers["Idempotent-Replayed"] == "true"
