"""The reaper (``jobs_reap``, run by beat): jobs whose worker died go back to the queue or error past
the attempt limit, created jobs whose message seems lost are sent again with a doubling wait, and
meta-jobs left behind are advanced. Clocks are moved by writing the timestamps the reaper reads.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from jobtemplates.models import Job, JobStatus
from jobtemplates.services.jobs import job_abort, job_claim, job_output_write, meta_job_advance
from jobtemplates.services.jobs import reaping as reaping_module
from jobtemplates.services.jobs.enqueueing import RUN_JOB_TASK
from jobtemplates.services.jobs.reaping import jobs_reap
from jobtemplates.services.templates import template_import
from tests.factories import JobFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("templates")]

BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
NOOP_MODEL = "Model<Domain<'Image Classification'>, Framework<'noop', '1'>>"
STALE = 60
RESEND = 300


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def _clocks(settings, tmp_path):
    settings.JOB_HEARTBEAT_STALE_SECONDS = STALE
    settings.JOB_MAX_ATTEMPTS = 3
    settings.JOB_RESEND_AFTER_SECONDS = RESEND
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def templates(catalogue, admin_user):
    def builtin(name):
        return template_import(data=json.loads((BUILTIN / f"{name}.json").read_text()), creator=admin_user).template

    templates = {name: builtin(name) for name in ("noop", "sleep_train", "sleep_predict")}
    templates["meta"] = template_import(
        data={
            "name": "chain",
            "licence": "Apache 2.0",
            "domain": "ic",
            "specific": {
                "nodes": {"train": {"name": "sleep_train"}, "predict": {"name": "sleep_predict"}},
                "dependencies": [
                    {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}
                ],
            },
        },
        creator=admin_user,
    ).template
    return templates


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Job ids of run_job tasks sent to the broker, recorded instead."""
    ids: list[int] = []

    def record(name, *args, **kwargs):
        assert name == RUN_JOB_TASK
        ids.append(kwargs["kwargs"]["job_id"])

    monkeypatch.setattr(celery_app, "send_task", record)
    return ids


# --- running jobs whose worker died ------------------------------------------------------------------


class TestStaleHeartbeats:
    def test_a_stale_running_job_goes_back_to_created_and_is_sent_again(self, sent):
        job = JobFactory(running=True, heartbeat=ago(STALE + 1))
        report = jobs_reap()
        assert report.requeued == [job.pk] and sent == [job.pk]
        job.refresh_from_db()
        assert (job.status, job.claim_token, job.worker, job.heartbeat) == ("created", None, None, None)
        assert job.attempts == 1  # kept: the next claim makes it 2, and the limit counts them
        assert job.enqueued_time > ago(5)
        assert job.sends == 1  # the reaper's send counts like any other

    def test_the_old_claim_is_void_after_requeue(self, sent):
        job = JobFactory(running=True, heartbeat=ago(STALE + 1))
        old_token = job.claim_token
        jobs_reap()
        claim = job_claim(job_id=job.pk, worker="w2@host")
        assert claim is not None and claim.token != old_token and claim.attempt == 2

    def test_a_fresh_heartbeat_is_left_alone(self, sent):
        job = JobFactory(running=True, heartbeat=ago(STALE - 5))
        report = jobs_reap()
        assert report.requeued == report.errored == [] and sent == []
        after = Job.objects.get(pk=job.pk)
        assert (after.status, after.claim_token, after.heartbeat) == ("running", job.claim_token, job.heartbeat)

    def test_past_the_attempt_limit_the_job_errors(self, sent):
        job = JobFactory(running=True, heartbeat=ago(STALE + 1), attempts=3)
        report = jobs_reap()
        assert report.errored == [job.pk] and report.requeued == [] and sent == []
        job.refresh_from_db()
        assert job.status == "errored" and job.end_time is not None
        assert job.error_reason == "its worker stopped responding 3 times; giving up"

    def test_every_attempt_counts_towards_the_limit(self, sent):
        job = JobFactory(running=True, heartbeat=ago(STALE + 1))
        for attempt in (2, 3):
            assert jobs_reap().requeued == [job.pk]
            claim = job_claim(job_id=job.pk, worker=f"w{attempt}@host")
            assert claim.attempt == attempt
            Job.objects.filter(pk=job.pk).update(heartbeat=ago(STALE + 1))
        assert jobs_reap().errored == [job.pk]
        assert Job.objects.get(pk=job.pk).status == "errored"

    def test_a_meta_parent_is_never_reaped_by_heartbeat(self, templates, sent):
        # A meta-job has no worker and no heartbeat of its own; its children have.
        parent = JobFactory(template=templates["meta"], running=True, heartbeat=ago(STALE * 10))
        JobFactory(template=templates["sleep_train"], parent=parent, child_name="train", running=True)
        report = jobs_reap()
        assert parent.pk not in report.requeued + report.errored
        assert Job.objects.get(pk=parent.pk).status == "running"

    def test_final_jobs_are_left_alone(self, sent):
        finished = JobFactory(running=True, heartbeat=ago(STALE + 1))
        Job.objects.filter(pk=finished.pk).update(status=JobStatus.FINISHED)
        report = jobs_reap()
        assert report.requeued == report.errored == [] and sent == []

    def test_a_soft_deleted_orphan_is_errored_not_run_again(self, sent):
        """A deleted job's claim is refused, so re-queueing it would leave it "created" for ever."""
        deleted = JobFactory(running=True, heartbeat=ago(STALE + 1), deletion_time=timezone.now())
        report = jobs_reap()
        assert report.errored == [deleted.pk] and report.requeued == [] and sent == []
        deleted.refresh_from_db()
        assert deleted.status == "errored"
        assert deleted.error_reason == "its worker stopped responding and the job is deleted"

    def test_a_job_reclaimed_while_the_reaper_runs_is_left_to_its_new_worker(self, sent, monkeypatch):
        """Between the reaper's read and its write the job was aborted and claimed again: the reaper's
        write is refused (stale claim) and the pass goes on with the other jobs."""
        raced = JobFactory(running=True, heartbeat=ago(STALE + 1))
        other = JobFactory(running=True, heartbeat=ago(STALE + 1))
        real_transition = reaping_module.job_transition
        new_claims = {}

        def transition_after_a_race(*, job_id, **kwargs):
            if job_id == raced.pk and not new_claims:
                job_abort(job=Job.objects.select_related("template").get(pk=job_id))
                new_claims[job_id] = job_claim(job_id=job_id, worker="w2@host")
            return real_transition(job_id=job_id, **kwargs)

        monkeypatch.setattr(reaping_module, "job_transition", transition_after_a_race)
        report = jobs_reap()
        assert report.requeued == [other.pk]
        raced.refresh_from_db()
        assert (raced.status, raced.worker, raced.claim_token) == ("running", "w2@host", new_claims[raced.pk].token)


# --- created jobs whose message was lost ----------------------------------------------------------------


class TestResend:
    def test_a_created_job_is_sent_again_only_after_the_wait(self, sent):
        waiting = JobFactory(queued=True, enqueued_time=ago(RESEND - 10))
        lost = JobFactory(queued=True, enqueued_time=ago(RESEND + 1))
        report = jobs_reap()
        assert report.resent == [lost.pk] and sent == [lost.pk]
        lost.refresh_from_db()
        assert lost.sends == 2 and lost.enqueued_time > ago(5)
        assert Job.objects.get(pk=waiting.pk).sends == 1

    def test_the_wait_doubles_with_every_send(self, sent):
        # sends → seconds since the last send after which it is sent again: 1 → 300, 2 → 600, 3 → 1200
        for sends, wait in ((1, RESEND), (2, 2 * RESEND), (3, 4 * RESEND)):
            early = JobFactory(queued=True, sends=sends, enqueued_time=ago(wait - 10))
            due = JobFactory(queued=True, sends=sends, enqueued_time=ago(wait + 10))
            sent.clear()
            assert jobs_reap().resent == [due.pk], sends
            assert Job.objects.get(pk=due.pk).sends == sends + 1
            assert Job.objects.get(pk=early.pk).sends == sends
            Job.objects.filter(pk__in=[early.pk, due.pk]).update(status=JobStatus.CANCELLED)

    def test_a_job_never_sent_is_sent(self, sent):
        job = JobFactory(sends=0, enqueued_time=None)
        assert jobs_reap().resent == [job.pk]
        assert Job.objects.get(pk=job.pk).sends == 1

    def test_a_failed_send_is_counted_but_not_reported(self, monkeypatch):
        def refuse(*args, **kwargs):
            raise ConnectionError("broker down")

        monkeypatch.setattr(celery_app, "send_task", refuse)
        job = JobFactory(queued=True, enqueued_time=ago(RESEND + 1))
        assert jobs_reap().resent == []
        assert Job.objects.get(pk=job.pk).sends == 2  # the wait grows even while the broker is down

    def test_meta_parents_are_not_sent(self, templates, sent):
        JobFactory(template=templates["meta"], sends=0, enqueued_time=None)
        assert jobs_reap().resent == [] and sent == []


# --- meta-jobs ---------------------------------------------------------------------------------------------


class TestMetaJobs:
    def finished_train(self, parent, templates):
        train = JobFactory(
            template=templates["sleep_train"],
            parent=parent,
            child_name="train",
            status=JobStatus.FINISHED,
            end_time=timezone.now(),
            progress=1.0,
        )
        job_output_write(job=train, name="model", output_type=NOOP_MODEL, data=b"model")
        return train

    def test_a_meta_job_left_behind_is_advanced(self, templates, sent, django_capture_on_commit_callbacks):
        parent = JobFactory(template=templates["meta"], status=JobStatus.RUNNING)
        train = self.finished_train(parent, templates)
        with django_capture_on_commit_callbacks(execute=True):
            report = jobs_reap()
        assert report.advanced == [parent.pk]
        predict = Job.objects.get(parent=parent, child_name="predict")
        model = train.outputs.get(name="model")
        assert predict.input_values["model"] == {"value": model.pk, "type": f"JobOutput<{NOOP_MODEL}>"}
        assert sent == [predict.pk]
        assert set(Job.objects.get(pk=parent.pk).outputs.values_list("name", flat=True)) == {"train:model"}
        assert Job.objects.get(pk=parent.pk).progress == 0.5

    def test_advancing_twice_creates_no_child_twice(self, templates, sent, django_capture_on_commit_callbacks):
        parent = JobFactory(template=templates["meta"], status=JobStatus.RUNNING)
        self.finished_train(parent, templates)
        with django_capture_on_commit_callbacks(execute=True):
            jobs_reap()
            jobs_reap()
        assert Job.objects.filter(parent=parent, child_name="predict").count() == 1

    def test_a_meta_job_whose_children_all_finished_finishes(self, templates, sent):
        parent = JobFactory(template=templates["meta"], status=JobStatus.RUNNING)
        self.finished_train(parent, templates)
        JobFactory(
            template=templates["sleep_predict"],
            parent=parent,
            child_name="predict",
            status=JobStatus.FINISHED,
            end_time=timezone.now(),
            progress=1.0,
        )
        assert jobs_reap().advanced == [parent.pk]
        parent.refresh_from_db()
        assert (parent.status, parent.progress) == ("finished", 1.0)

    def test_a_meta_job_that_cannot_wire_its_next_child_errors_and_the_others_go_on(self, templates, sent):
        broken = JobFactory(template=templates["meta"], status=JobStatus.RUNNING)
        train = self.finished_train(broken, templates)
        train.outputs.all().delete()  # its model is gone: the predict child cannot be wired
        healthy = JobFactory(template=templates["meta"], status=JobStatus.RUNNING)
        self.finished_train(healthy, templates)
        JobFactory(
            template=templates["sleep_predict"],
            parent=healthy,
            child_name="predict",
            status=JobStatus.FINISHED,
            end_time=timezone.now(),
            progress=1.0,
        )
        report = jobs_reap()
        assert sorted(report.advanced) == sorted([broken.pk, healthy.pk])
        assert Job.objects.get(pk=healthy.pk).status == "finished"
        broken.refresh_from_db()
        assert broken.status == "errored"
        assert broken.error_reason.startswith("cannot wire the next child: ")
        assert not broken.children.filter(child_name="predict").exists()

    def test_advancing_costs_the_same_queries_however_many_children_finished(self, templates, admin_user, sent):
        """A parent advances after each child: its cost must not grow with the children already done
        (a chain of n children would cost O(n²) queries under the parent's row lock)."""
        predicts = [f"p{i}" for i in range(1, 21)]
        fan_out = template_import(
            data={
                "name": "fan_out",
                "licence": "Apache 2.0",
                "domain": "ic",
                "specific": {
                    "nodes": {"train": {"name": "sleep_train"}, **{p: {"name": "sleep_predict"} for p in predicts}},
                    "dependencies": [
                        {"from_node": "train", "from_output": "model", "to_node": p, "to_input": "model"}
                        for p in predicts
                    ],
                },
            },
            creator=admin_user,
        ).template
        parent = JobFactory(template=fan_out, status=JobStatus.RUNNING)
        self.finished_train(parent, templates)
        children = [JobFactory(template=templates["sleep_predict"], parent=parent, child_name=p) for p in predicts]
        meta_job_advance(parent_id=parent.pk)

        def finish_one_and_count(child) -> int:
            Job.objects.filter(pk=child.pk).update(status=JobStatus.FINISHED, end_time=timezone.now(), progress=1.0)
            job_output_write(
                job=child, name="predictions", output_type="PK<Dataset<Domain<'Image Classification'>>>", data=1
            )
            with CaptureQueriesContext(connection) as captured:
                meta_job_advance(parent_id=parent.pk)
            return len(captured)

        counts = {}
        for index, child in enumerate(children[:-1]):
            count = finish_one_and_count(child)
            if index in (2, 18):
                counts[index + 1] = count
        assert counts[3] == counts[19], counts
        assert Job.objects.get(pk=parent.pk).outputs.count() == 1 + 19  # train:model and each predictions

    def test_final_meta_jobs_are_not_advanced(self, templates, sent):
        JobFactory(template=templates["meta"], status=JobStatus.CANCELLED)
        assert jobs_reap().advanced == []


class TestMetaJobProgress:
    def test_a_running_childs_progress_moves_its_ancestors(self, templates, sent):
        """The parent's progress is the mean over its nodes (a node without a job counts 0), kept up to
        date as children report progress, not only when they finish."""
        from jobtemplates.services.jobs import Claim, job_progress

        parent = JobFactory(template=templates["meta"], status=JobStatus.RUNNING)
        train = JobFactory(template=templates["sleep_train"], parent=parent, child_name="train", running=True)
        claim = Claim(job_id=train.pk, token=train.claim_token, attempt=1)
        assert job_progress(claim=claim, progress=0.5, data={}, notify=False)
        parent.refresh_from_db()
        assert parent.progress == pytest.approx(0.25)  # (0.5 + nothing yet for predict) / 2 nodes
        assert job_progress(claim=claim, progress=1.0, data={}, notify=False)
        assert Job.objects.get(pk=parent.pk).progress == pytest.approx(0.5)
