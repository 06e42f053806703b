"""End to end with a real Celery worker process on the test database and the configured broker:
jobs run to their end, meta-jobs wire and wait, errors stop siblings, cancel stops a running job, and a
worker killed mid-job leaves a job that runs again and finishes exactly once."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app
from jobtemplates.models import Job, JobOutput
from jobtemplates.services.jobs import job_cancel, job_create
from jobtemplates.services.jobs.reaping import jobs_reap
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.e2e import wait_for_status
from tests.executors.conftest import dataset_input
from tests.workers import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def create(template, body, user):
    return job_create(template=template, body=body, creator=user)


def import_meta(admin, name, nodes, dependencies):
    return template_import(
        data={
            "name": name,
            "licence": "Apache 2.0",
            "domain": "ic",
            "specific": {"nodes": nodes, "dependencies": dependencies},
        },
        creator=admin,
    ).template


class TestWorkableJobs:
    def test_job_runs_to_finished_with_downloadable_outputs(self, worker, stage):
        admin, dataset = stage["admin"], stage["dataset"]
        job = create(
            stage["templates"]["sleep_train"],
            {
                "input_values": {"dataset": dataset_input(dataset)},
                "parameter_values": {"sleep": {"value": 0.4, "type": "float"}},
            },
            admin,
        )
        job = wait_for_status(job.pk, {"finished", "errored"})
        assert job.status == "finished", job.error_reason
        assert job.progress == 1.0 and job.start_time and job.end_time and job.attempts == 1
        assert job.worker and job.node is None
        outputs = {(o.name, o.type) for o in job.outputs.all()}
        model_type = "Model<Domain<'Image Classification'>, Framework<'noop', '1'>>"
        assert outputs == {("model", model_type), ("metrics", "JSON"), ("log", "BLOB<'log'>")}

        client = bearer_client(admin)
        body = client.get(f"/v1/jobs/{job.pk}").json()
        assert body["status"] == "finished" and body["is_cancelled"] is False
        assert {o["name"] for o in body["outputs"]} == {"model", "metrics", "log"}
        model = client.get(f"/v1/jobs/{job.pk}/outputs/model/{model_type}")
        assert model.status_code == 200
        assert b"".join(model.streaming_content) == f"model trained on dataset {dataset.pk}".encode()
        info = client.get(f"/v1/jobs/{job.pk}/outputs/metrics/JSON/info").json()
        metrics = client.post(f"/v1/job-outputs/{info['pk']}/download")
        assert b"".join(metrics.streaming_content) == b'{"dataset": %d, "accuracy": 1.0}' % dataset.pk

    def test_failing_executor_errors_with_its_traceback_kept(self, worker, stage):
        job = create(
            stage["templates"]["fail"],
            {"input_values": {}, "parameter_values": {"message": {"value": "boom on purpose", "type": "str"}}},
            stage["admin"],
        )
        job = wait_for_status(job.pk, {"finished", "errored"})
        assert job.status == "errored"
        assert job.error_reason == "RuntimeError: boom on purpose"
        log = job.outputs.get(name="log")
        text = log.file.open("rb").read().decode()
        assert "Traceback" in text and "boom on purpose" in text

    def test_cancel_stops_a_running_job(self, worker, stage):
        admin = stage["admin"]
        job = create(
            stage["templates"]["noop"],
            {
                "input_values": {},
                "parameter_values": {"sleep": {"value": 30.0, "type": "float"}, "steps": {"value": 300, "type": "int"}},
            },
            admin,
        )
        wait_for_status(job.pk, "running")
        wait_until(lambda: Job.objects.get(pk=job.pk).progress > 0, timeout=10, message="progress written")
        response = bearer_client(admin).post(f"/v1/jobs/{job.pk}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        assert response.json()["is_cancelled"] is True
        # The executor sees ctx.cancelled() and returns; the worker is free for the next job at once.
        follow_up = create(stage["templates"]["noop"], {"input_values": {}}, admin)
        follow_up = wait_for_status(follow_up.pk, "finished", timeout=20)
        job.refresh_from_db()
        assert job.status == "cancelled" and job.progress < 1.0

    def test_cancel_terminates_an_executor_that_ignores_it(self, worker, stage):
        admin = stage["admin"]
        job = create(stage["templates"]["stubborn"], {"input_values": {}}, admin)
        wait_for_status(job.pk, "running")
        job_cancel(job=Job.objects.get(pk=job.pk))
        # After the grace period the runner kills the pool child; the pool starts a new one.
        for _ in range(3):
            other = create(stage["templates"]["noop"], {"input_values": {}}, admin)
            wait_for_status(other.pk, "finished", timeout=30)
        wait_until(lambda: "did not stop within" in worker.tail(200), timeout=20, message="termination logged")
        assert Job.objects.get(pk=job.pk).status == "cancelled"

    def test_a_duplicate_message_is_refused_by_the_claim(self, worker, stage):
        job = create(stage["templates"]["noop"], {"input_values": {}}, stage["admin"])
        job = wait_for_status(job.pk, "finished")
        celery_app.send_task("executors.run_job", kwargs={"job_id": job.pk})
        wait_until(lambda: "not claimable (finished)" in worker.tail(400), timeout=20, message="refusal logged")
        again = Job.objects.get(pk=job.pk)
        assert (again.attempts, again.end_time) == (1, job.end_time)


class TestMetaJobs:
    def test_train_then_predict_chain(self, worker, stage):
        admin, dataset = stage["admin"], stage["dataset"]
        meta = import_meta(
            admin,
            "chain",
            {
                "train": {"name": "sleep_train", "parameter_default_overrides": {"sleep": {"default": 0.2}}},
                "predict": {"name": "sleep_predict"},
            },
            [{"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}],
        )
        parent = create(
            meta,
            {"input_values": {"train:dataset": dataset_input(dataset), "predict:dataset": dataset_input(dataset)}},
            admin,
        )
        assert [c.child_name for c in parent.children.all()] == ["train"]  # only the ready child exists
        parent = wait_for_status(parent.pk, {"finished", "errored"})
        assert parent.status == "finished", parent.error_reason
        train, predict = parent.children.get(child_name="train"), parent.children.get(child_name="predict")
        assert predict.creation_time >= train.end_time
        model = train.outputs.get(name="model")
        assert predict.input_values["model"] == {"value": model.pk, "type": f"JobOutput<{model.type}>"}
        assert predict.resolved_parameters["sleep"] == {"value": 0.0, "type": "float"}
        assert train.resolved_parameters["sleep"] == {"value": 0.2, "type": "float"}
        surfaced = {o.name for o in parent.outputs.all()}
        assert {"train:model", "train:metrics", "predict:predictions"} <= surfaced
        predictions = parent.outputs.get(name="predict:predictions")
        assert predictions.file.open("rb").read() == str(dataset.pk).encode()
        assert parent.progress == 1.0

    def test_fan_in_waits_for_both_upstream_children(self, worker, stage):
        admin, dataset = stage["admin"], stage["dataset"]
        meta = import_meta(
            admin,
            "fan_in",
            {
                "slow_train": {"name": "sleep_train", "parameter_default_overrides": {"sleep": {"default": 1.5}}},
                "fast_train": {"name": "sleep_train"},
                "first_predict": {"name": "sleep_predict"},
                "combine": {"name": "sleep_predict"},
            },
            [
                {"from_node": "fast_train", "from_output": "model", "to_node": "first_predict", "to_input": "model"},
                {"from_node": "slow_train", "from_output": "model", "to_node": "combine", "to_input": "model"},
                {
                    "from_node": "first_predict",
                    "from_output": "predictions",
                    "to_node": "combine",
                    "to_input": "dataset",
                },
            ],
        )
        parent = create(
            meta,
            {
                "input_values": {
                    "slow_train:dataset": dataset_input(dataset),
                    "fast_train:dataset": dataset_input(dataset),
                    "first_predict:dataset": dataset_input(dataset),
                }
            },
            admin,
        )
        parent = wait_for_status(parent.pk, {"finished", "errored"}, timeout=40)
        assert parent.status == "finished", parent.error_reason
        children = {c.child_name: c for c in parent.children.all()}
        combine = children["combine"]
        assert combine.creation_time >= children["slow_train"].end_time
        assert combine.creation_time >= children["first_predict"].end_time
        # The predictions (a JSON type) were passed by value; the model by reference.
        assert combine.input_values["dataset"] == {
            "value": dataset.pk,
            "type": "PK<Dataset<Domain<'Image Classification'>>>",
        }
        assert Job.objects.filter(parent=parent, child_name="combine").count() == 1

    def test_a_failing_child_errors_the_parent_and_stops_its_siblings(self, worker, stage):
        admin, dataset = stage["admin"], stage["dataset"]
        meta = import_meta(
            admin,
            "failing",
            {
                "broken": {
                    "name": "sleep_train",
                    "parameter_default_overrides": {"fail": {"default": True}, "sleep": {"default": 0.5}},
                },
                "long": {"name": "sleep_train", "parameter_default_overrides": {"sleep": {"default": 60.0}}},
                "after": {"name": "sleep_predict"},
            },
            [{"from_node": "broken", "from_output": "model", "to_node": "after", "to_input": "model"}],
        )
        parent = create(
            meta,
            {
                "input_values": {
                    "broken:dataset": dataset_input(dataset),
                    "long:dataset": dataset_input(dataset),
                    "after:dataset": dataset_input(dataset),
                }
            },
            admin,
        )
        parent = wait_for_status(parent.pk, {"errored", "finished"}, timeout=30)
        assert parent.status == "errored"
        assert parent.error_reason.startswith("child broken errored: RuntimeError: training failed on purpose")
        children = {c.child_name: c for c in parent.children.all()}
        assert "after" not in children
        assert children["long"].status == "cancelled" and children["long"].is_cancelled

    def test_cancelling_the_parent_cascades(self, worker, stage):
        admin, dataset = stage["admin"], stage["dataset"]
        meta = import_meta(
            admin,
            "to_cancel",
            {
                "train": {"name": "sleep_train", "parameter_default_overrides": {"sleep": {"default": 30.0}}},
                "predict": {"name": "sleep_predict"},
            },
            [{"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}],
        )
        parent = create(
            meta,
            {"input_values": {"train:dataset": dataset_input(dataset), "predict:dataset": dataset_input(dataset)}},
            admin,
        )
        train = parent.children.get(child_name="train")
        wait_for_status(train.pk, "running")
        wait_for_status(parent.pk, "running")
        job_cancel(job=Job.objects.get(pk=parent.pk))
        assert Job.objects.get(pk=train.pk).status == "cancelled"
        assert Job.objects.get(pk=parent.pk).is_cancelled
        wait_until(
            lambda: Job.objects.get(pk=train.pk).heartbeat is None or "cancelled" in worker.tail(100),
            timeout=10,
            message="the child's run to stop",
        )
        assert not Job.objects.filter(parent=parent, child_name="predict").exists()


class TestRecovery:
    def test_a_worker_killed_mid_job_leaves_a_job_that_runs_again_exactly_once(self, stage, start_worker):
        admin = stage["admin"]
        first = start_worker(name="doomed")
        job = create(
            stage["templates"]["noop"],
            {
                "input_values": {},
                "parameter_values": {"sleep": {"value": 3.0, "type": "float"}, "steps": {"value": 30, "type": "int"}},
            },
            admin,
        )
        wait_for_status(job.pk, "running")
        wait_until(lambda: Job.objects.get(pk=job.pk).progress > 0.1, timeout=10, message="progress")
        first.kill()
        second = start_worker(name="rescuer")
        # The heartbeat goes stale; the reaper (beat's task, run here directly) puts the job back.
        wait_until(lambda: job.pk in jobs_reap().requeued, timeout=20, interval=0.5, message="reaper requeues")
        job = wait_for_status(job.pk, {"finished", "errored"}, timeout=30)
        assert job.status == "finished", job.error_reason
        assert job.attempts == 2
        assert "rescuer" in job.worker
        assert JobOutput.objects.filter(job=job, name="log").count() == 1
        assert "did not stop" not in second.tail(200)
