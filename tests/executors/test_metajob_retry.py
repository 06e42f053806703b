"""Retrying a meta-job (jobtemplates.services.jobs.retrying, ``POST /v1/jobs/{pk}/retry``): only the children
that did not finish and what depends on them run again, wired to the kept children's own ``JobOutput``
rows; changed values are checked as create-job checks them; the plan; what is refused.

Children run in this process (``run_job`` on committed data, as a worker runs them; their tasks are
recorded instead of sent), so a test decides which child runs when. A real worker runs a retry end to
end in tests/executors/test_metajob_retry_e2e.py.
"""

from __future__ import annotations

import pytest

from config.celery import app as celery_app
from config.errors import ApplicationError
from executors.runner import run_job
from jobtemplates.models import Job, JobStatus
from jobtemplates.services.jobs import NotRetryable, job_cancel, job_create, meta_job_retry
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.executors.conftest import dataset_input

pytestmark = pytest.mark.django_db(transaction=True)

FAIL = {"value": True, "type": "bool"}
FIXED = {"value": False, "type": "bool"}


@pytest.fixture(autouse=True)
def sent(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: calls.append(kwargs["kwargs"]["job_id"]))
    return calls


def edge(a: str, output: str, b: str, name: str) -> dict:
    return {"from_node": a, "from_output": output, "to_node": b, "to_input": name}


def meta(stage, name: str, nodes: dict[str, str], edges: list[dict]):
    body = {
        "name": name,
        "licence": "Apache 2.0",
        "domain": "ic",
        "specific": {"nodes": {node: {"name": child} for node, child in nodes.items()}, "dependencies": edges},
    }
    return template_import(data=body, creator=stage["admin"]).template


@pytest.fixture
def chain(stage):
    """train → p1 → p2: the train's model feeds both predicts, p1's predictions p2's dataset."""
    return meta(
        stage,
        "chain3",
        {"train": "sleep_train", "p1": "sleep_predict", "p2": "sleep_predict"},
        [
            edge("train", "model", "p1", "model"),
            edge("train", "model", "p2", "model"),
            edge("p1", "predictions", "p2", "dataset"),
        ],
    )


def start(stage, template, *, inputs: list[str], parameters: dict | None = None) -> Job:
    given = dataset_input(stage["dataset"])
    body = {
        "input_values": {name: given for name in inputs},
        "parameter_values": parameters or {},
        "queue_anyway": True,
    }
    return job_create(template=template, body=body, creator=stage["admin"])


def current(parent: Job) -> dict[str, Job]:
    return {job.child_name: job for job in Job.objects.filter(parent=parent, superseded_time__isnull=True)}


def run(parent: Job, node: str) -> Job:
    child = current(parent)[node]
    assert child.status == JobStatus.CREATED, (node, child.status)
    run_job(job_id=child.pk, worker="test")
    return Job.objects.get(pk=child.pk)


def run_all(parent: Job) -> Job:
    """Run the parent's waiting children, oldest first, until none waits; the parent as it ends."""
    for _ in range(20):
        waiting = Job.objects.filter(parent=parent, superseded_time__isnull=True, status=JobStatus.CREATED)
        child = waiting.order_by("pk").first()
        if child is None:
            break
        run_job(job_id=child.pk, worker="test")
    return Job.objects.get(pk=parent.pk)


def test_a_chain_failing_at_its_last_node_reruns_only_that_node(stage, chain):
    parent = start(stage, chain, inputs=["train:dataset", "p1:dataset"], parameters={"p2:fail": FAIL})
    assert run_all(parent).status == JobStatus.ERRORED
    before = current(parent)
    assert {name: job.status for name, job in before.items()} == {
        "train": "finished",
        "p1": "finished",
        "p2": "errored",
    }

    job, plan = meta_job_retry(job=Job.objects.get(pk=parent.pk), by=stage["admin"], dry_run=True)
    assert plan.rerun == ["p2"] and plan.kept == {"train": before["train"].pk, "p1": before["p1"].pk}
    assert plan.superseded == {"p2": before["p2"].pk}
    assert {o["name"] for o in plan.reused_outputs["train"]} == {"model"}
    assert {o["name"] for o in plan.reused_outputs["p1"]} == {"predictions"}
    assert Job.objects.get(pk=parent.pk).status == JobStatus.ERRORED  # a dry run changes nothing
    assert Job.objects.filter(parent=parent).count() == 3

    retried, _ = meta_job_retry(
        job=Job.objects.get(pk=parent.pk), by=stage["admin"], changes={"parameter_values": {"p2:fail": FIXED}}
    )
    assert retried.status == JobStatus.CREATED and retried.error_reason is None
    assert retried.parameter_values["p2:fail"] == FIXED and retried.resolved_parameters["p2:fail"] == FIXED
    now = current(parent)
    assert now["p2"].pk != before["p2"].pk and now["p2"].resolved_parameters["fail"] == FIXED
    # Wired to the kept children's own outputs: the very rows the failed p2 was given.
    assert now["p2"].input_values == before["p2"].input_values
    assert Job.objects.get(pk=before["p2"].pk).superseded_time is not None

    finished = run_all(parent)
    assert finished.status == JobStatus.FINISHED, finished.error_reason
    after = current(parent)
    for node in ("train", "p1"):  # not run again
        assert (after[node].pk, after[node].start_time, after[node].attempts) == (
            before[node].pk,
            before[node].start_time,
            before[node].attempts,
        )
    assert after["p2"].status == JobStatus.FINISHED
    assert Job.objects.filter(parent=parent).count() == 4  # the replaced p2 stays as history


def test_a_fan_in_whose_branch_failed_reruns_that_branch_and_the_join(stage):
    # Branch one: t1 → pa; branch two: t2; the join j takes t2's model and pa's predictions.
    template = meta(
        stage,
        "fan_in",
        {"t1": "sleep_train", "pa": "sleep_predict", "t2": "sleep_train", "j": "sleep_predict"},
        [
            edge("t1", "model", "pa", "model"),
            edge("t2", "model", "j", "model"),
            edge("pa", "predictions", "j", "dataset"),
        ],
    )
    parent = start(stage, template, inputs=["t1:dataset", "pa:dataset", "t2:dataset"], parameters={"t2:fail": FAIL})
    run(parent, "t1")
    run(parent, "pa")
    assert run(parent, "t2").status == JobStatus.ERRORED
    assert Job.objects.get(pk=parent.pk).status == JobStatus.ERRORED
    kept = current(parent)

    _, plan = meta_job_retry(
        job=Job.objects.get(pk=parent.pk), by=stage["admin"], changes={"parameter_values": {"t2:fail": FIXED}}
    )
    assert plan.rerun == ["t2", "j"] and set(plan.kept) == {"t1", "pa"}
    assert {o["name"] for o in plan.reused_outputs["pa"]} == {"predictions"}
    finished = run_all(parent)
    assert finished.status == JobStatus.FINISHED, finished.error_reason
    after = current(parent)
    assert (after["t1"].pk, after["pa"].pk) == (kept["t1"].pk, kept["pa"].pk)
    assert after["t2"].pk != kept["t2"].pk and after["j"].status == JobStatus.FINISHED


def test_a_cancelled_meta_job_is_retried_from_where_it_stopped(stage, chain):
    parent = start(stage, chain, inputs=["train:dataset", "p1:dataset"])
    train = run(parent, "train")
    job_cancel(job=Job.objects.get(pk=parent.pk))
    assert Job.objects.get(pk=parent.pk).status == JobStatus.CANCELLED
    assert current(parent)["p1"].status == JobStatus.CANCELLED

    retried, plan = meta_job_retry(job=Job.objects.get(pk=parent.pk), by=stage["admin"])
    assert plan.rerun == ["p1", "p2"] and plan.kept == {"train": train.pk}
    assert retried.is_cancelled is False
    finished = run_all(parent)
    assert finished.status == JobStatus.FINISHED and finished.is_cancelled is False
    assert current(parent)["train"].pk == train.pk


def test_what_a_retry_refuses(stage, chain):
    parent = start(stage, chain, inputs=["train:dataset", "p1:dataset"], parameters={"p2:fail": FAIL})
    run(parent, "train")
    running_parent = Job.objects.get(pk=parent.pk)
    assert running_parent.status == JobStatus.RUNNING
    with pytest.raises(NotRetryable, match="is running"):
        meta_job_retry(job=running_parent, by=stage["admin"])
    child = current(parent)["p1"]
    with pytest.raises(NotRetryable, match="retry the meta-job") as refused:
        meta_job_retry(job=child, by=stage["admin"])
    assert refused.value.extra["parent_status"] == JobStatus.RUNNING
    noop = start(stage, stage["templates"]["noop"], inputs=[])
    with pytest.raises(NotRetryable, match="relaunch"):
        meta_job_retry(job=noop, by=stage["admin"])

    run_all(parent)
    errored = Job.objects.get(pk=parent.pk)
    with pytest.raises(ApplicationError) as invalid:
        meta_job_retry(
            job=errored,
            by=stage["admin"],
            changes={
                "parameter_values": {
                    "train:sleep": {"value": 1.0, "type": "float"},
                    "p2:fail": {"value": 3, "type": "bool"},
                },
                "colour": "red",
            },
        )
    paths = {problem.path for problem in invalid.value.problems}
    assert {"parameter_values.train:sleep", "colour"} <= paths, paths  # train is kept: not re-run
    with pytest.raises(ApplicationError) as wrong_value:
        meta_job_retry(
            job=errored, by=stage["admin"], changes={"parameter_values": {"p2:fail": {"value": 3, "type": "bool"}}}
        )
    assert any(problem.path.startswith("parameter_values.p2:fail") for problem in wrong_value.value.problems)
    assert Job.objects.get(pk=parent.pk).status == JobStatus.ERRORED and Job.objects.filter(parent=parent).count() == 3


def test_the_http_route(stage, chain, user):
    parent = start(stage, chain, inputs=["train:dataset", "p1:dataset"], parameters={"p2:fail": FAIL})
    run_all(parent)
    admin = bearer_client(stage["admin"])
    plan = admin.post(f"/v1/jobs/{parent.pk}/retry?dry_run=true", {}, format="json")
    assert plan.status_code == 200, plan.content
    assert plan.json()["plan"]["rerun"] == ["p2"] and plan.json()["job"]["status"] == "errored"
    assert bearer_client(user).post(f"/v1/jobs/{parent.pk}/retry", {}, format="json").status_code == 404
    done = admin.post(f"/v1/jobs/{parent.pk}/retry", {"parameter_values": {"p2:fail": FIXED}}, format="json")
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["status"] == "created" and len(body["children"]) == 3
    assert current(parent)["p2"].pk in body["children"]
    again = admin.post(f"/v1/jobs/{parent.pk}/retry", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_retryable"
