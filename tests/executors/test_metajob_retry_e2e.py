"""A meta-job retried end to end with a real worker: a chain failing at its last node is retried over HTTP
with that node's parameter fixed; only that node runs again and the meta-job finishes."""

from __future__ import annotations

import pytest

from jobtemplates.models import Job
from jobtemplates.services.jobs import job_create
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.e2e import wait_for_status
from tests.executors.conftest import dataset_input

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FINAL = {"finished", "errored", "cancelled"}


def test_a_failed_chain_is_retried_and_only_its_last_node_runs_again(start_worker, stage):
    edges = [
        {"from_node": "train", "from_output": "model", "to_node": "p1", "to_input": "model"},
        {"from_node": "train", "from_output": "model", "to_node": "p2", "to_input": "model"},
        {"from_node": "p1", "from_output": "predictions", "to_node": "p2", "to_input": "dataset"},
    ]
    nodes = {"train": {"name": "sleep_train"}, "p1": {"name": "sleep_predict"}, "p2": {"name": "sleep_predict"}}
    template = template_import(
        data={
            "name": "chain_e2e",
            "licence": "Apache 2.0",
            "domain": "ic",
            "specific": {"nodes": nodes, "dependencies": edges},
        },
        creator=stage["admin"],
    ).template
    start_worker(concurrency=1)
    given = dataset_input(stage["dataset"])
    parent = job_create(
        template=template,
        body={
            "input_values": {"train:dataset": given, "p1:dataset": given},
            "parameter_values": {"p2:fail": {"value": True, "type": "bool"}},
        },
        creator=stage["admin"],
    )
    assert wait_for_status(parent.pk, FINAL, timeout=60).status == "errored"
    first = {job.child_name: job for job in Job.objects.filter(parent=parent)}
    assert {name: job.status for name, job in first.items()} == {"train": "finished", "p1": "finished", "p2": "errored"}

    response = bearer_client(stage["admin"]).post(
        f"/v1/jobs/{parent.pk}/retry",
        {"parameter_values": {"p2:fail": {"value": False, "type": "bool"}}},
        format="json",
    )
    assert response.status_code == 200, response.content
    done = wait_for_status(parent.pk, FINAL, timeout=60)
    assert done.status == "finished", done.error_reason
    now = {job.child_name: job for job in Job.objects.filter(parent=parent, superseded_time__isnull=True)}
    assert all(job.status == "finished" for job in now.values())
    for node in ("train", "p1"):
        assert (now[node].pk, now[node].end_time) == (first[node].pk, first[node].end_time)
    assert now["p2"].pk != first["p2"].pk
    # The parent surfaces the new p2's predictions beside the kept children's outputs.
    assert {"train:model", "p1:predictions", "p2:predictions"} <= {o.name for o in done.outputs.all()}
