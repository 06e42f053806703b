"""The node job actions and the node's view of ``/v1/jobs`` through the HTTP layer (Django's test client,
a real database): the launcher's poll (node jobs only, by hardware, in constant queries), acquire,
start, progress, outputs, finish, release and reset with their 400/403/409s. Jobs are built in the
state each test needs (factories); the whole protocol over a live server is test_nodes_protocol.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.errors import Conflict
from contracts.models import Hardware
from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.models import Job, JobTemplate
from jobtemplates.services.jobs.nodes import job_acquire
from jobtemplates.services.jobs.outputs import job_output_write
from jobtemplates.services.templates import template_import
from notifications.models import NotificationDelivery
from runners.models import Node
from tests.factories import JobFactory, UserFactory
from tests.runners.launcher import (
    DOGS_TRAIN,
    LOG_TYPE,
    MODEL_TYPE,
    NODE_NOTIFICATIONS,
    POLL_FILTER,
    client_of,
    import_dogs_train,
    make_node,
    node_user,
)

pytestmark = pytest.mark.django_db

JOBS = "/v1/jobs"
BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
ENCODED_MODEL = "Model%3CDomain%3C'Image%20Classification'%3E,%20Framework%3C'dogs_dummy',%20'1'%3E%3E"
RAW = {"content_type": "application/data", "HTTP_CONTENT_DISPOSITION": "attachment; filename=model"}


@pytest.fixture
def world(settings, tmp_path, admin_user):
    """The catalogue, the dogs template (node-run), noop (Celery-run), alice and two node users."""
    settings.MEDIA_ROOT = tmp_path / "media"
    catalogue_seed()
    noop = template_import(data=json.loads((BUILTIN / "noop.json").read_text()), creator=admin_user).template
    launcher, rival = node_user("launcher"), node_user("rival")
    return SimpleNamespace(
        admin=admin_user,
        alice=UserFactory(username="alice"),
        dogs=import_dogs_train(admin_user),
        noop=noop,
        launcher=launcher,
        node=make_node(launcher),
        rival=make_node(rival, ip="192.0.2.3"),
        rival_user=rival,
    )


def node_job(world, **fields) -> Job:
    """A queued dogs job of alice's (which the node users could not see but for being nodes)."""
    fields.setdefault("notification_override", NODE_NOTIFICATIONS)
    fields.setdefault("creator", world.alice)
    return JobFactory(template=world.dogs, **fields)


def as_launcher(world, node=None):
    return client_of(world.launcher, node or world.node)


def as_rival(world):
    return client_of(world.rival_user, world.rival)


def acquired(world, **fields) -> Job:
    job = node_job(world, **fields)
    assert as_launcher(world).get(f"{JOBS}/{job.pk}/acquire").status_code == 200
    return job


def started(world, **fields) -> Job:
    job = acquired(world, **fields)
    assert (
        as_launcher(world).post(f"{JOBS}/{job.pk}/start", {"send_notification": "email"}, format="json").status_code
        == 200
    )
    return job


def problems(response) -> list[tuple[str, str]]:
    return [(p["path"], p["code"]) for p in response.json()["errors"]]


def polled(client) -> list[int]:
    response = client.post(f"{JOBS}/list", POLL_FILTER, format="json")
    assert response.status_code == 200, response.content
    return [job["pk"] for job in response.json()]


class TestPoll:
    def test_the_poll_lists_only_queued_node_jobs_the_node_can_run(self, world):
        queued = node_job(world)
        node_job(world, status="running", node=world.rival, start_time="2026-01-01T00:00:00Z")
        node_job(world, errored=True, node=world.rival)
        celery = JobFactory(template=world.noop, creator=world.launcher)  # its own, queued, Celery-run
        assert polled(as_launcher(world)) == [queued.pk]
        # The same filter without Node-Id: the user's own jobs, the Celery one included.
        assert polled(client_of(world.launcher)) == [celery.pk]
        # An admin's launcher sees every job, but its poll still holds node jobs only.
        admin_node = make_node(world.admin, ip="192.0.2.9")
        assert polled(client_of(world.admin, admin_node)) == [queued.pk]

    def test_jobs_needing_a_gpu_are_listed_for_nodes_with_that_generation_or_later(self, world):
        needs_pascal = template_import(
            data={**json.loads(DOGS_TRAIN.read_text()), "name": "dogs_gpu"}, creator=world.admin
        ).template
        JobTemplate.objects.filter(pk=needs_pascal.pk).update(min_hardware_generation="Pascal")
        cpu_job, gpu_job = node_job(world), JobFactory(template=needs_pascal, creator=world.alice)
        assert polled(as_launcher(world)) == [cpu_job.pk]
        for generation, sees in (("Maxwell", False), ("Pascal", True), ("Ampere", True)):
            world.node.hardware_generation = Hardware.objects.get(generation=generation)
            world.node.save()
            assert polled(as_launcher(world)) == ([cpu_job.pk, gpu_job.pk] if sees else [cpu_job.pk]), generation
        world.node.hardware_generation = Hardware.objects.get(generation="Maxwell")
        world.node.save()
        unfit = as_launcher(world).get(f"{JOBS}/{gpu_job.pk}/acquire")
        assert (unfit.status_code, unfit.json()["code"]) == (409, "node_unfit")

    def test_the_node_filter_fields(self, world):
        queued, held = node_job(world), acquired(world)
        client = as_launcher(world)
        by_node = {"expressions": [{"field": "node", "value": world.node.pk, "type": "exact"}]}
        assert [j["pk"] for j in client.post(f"{JOBS}/list", by_node, format="json").json()] == [held.pk]
        meta_only = {"expressions": [{"field": "template.workabletemplate", "type": "isnull"}]}
        assert client_of(world.admin).post(f"{JOBS}/list", meta_only, format="json").json() == []
        workable = {"expressions": [{"field": "template.workabletemplate", "type": "isnull", "invert": True}]}
        listed = [j["pk"] for j in client_of(world.admin).post(f"{JOBS}/list", workable, format="json").json()]
        assert listed == [queued.pk, held.pk]
        wrong = {"expressions": [{"field": "template.workabletemplate", "type": "exact", "value": 1}]}
        response = client.post(f"{JOBS}/list", wrong, format="json")
        assert (response.status_code, problems(response)) == (400, [("expressions[0].field", "isnull_only")])

    def test_the_poll_answers_in_constant_queries(self, world):
        def count(jobs: int) -> int:
            Job.objects.all().delete()
            for _ in range(jobs):
                job = node_job(world)
                job_output_write(job=job, name="log", output_type="JSON", data=[])
            client = as_launcher(world)
            client.post(f"{JOBS}/list", POLL_FILTER, format="json")  # the node's last_seen is written once
            with CaptureQueriesContext(connection) as captured:
                assert len(polled(client)) == jobs
            return len(captured)

        assert count(1) == count(30)

    def test_a_node_retrieves_the_jobs_it_may_run_and_those_it_ran(self, world):
        queued, mine = node_job(world), acquired(world)
        theirs = node_job(world, status="running", node=world.rival)
        client = as_launcher(world)
        assert client.get(f"{JOBS}/{queued.pk}").status_code == 200
        assert client.get(f"{JOBS}/{mine.pk}").json()["node"] == world.node.pk
        assert client.get(f"{JOBS}/{theirs.pk}").status_code == 404
        assert client_of(world.launcher).get(f"{JOBS}/{queued.pk}").status_code == 404  # not as a node


class TestAcquire:
    def test_acquire_takes_a_queued_job_and_answers_it(self, world, django_capture_on_commit_callbacks):
        job = node_job(world)
        with django_capture_on_commit_callbacks(execute=True):
            response = as_launcher(world).get(f"{JOBS}/{job.pk}/acquire")
        assert response.status_code == 200
        assert (response.json()["pk"], response.json()["node"], response.json()["status"]) == (
            job.pk,
            world.node.pk,
            "created",
        )
        job.refresh_from_db()
        assert (job.node_id, job.attempts, job.claim_token is not None) == (world.node.pk, 1, True)
        assert list(NotificationDelivery.objects.filter(job=job).values_list("action", flat=True)) == ["on_acquire"]
        again = as_launcher(world).get(f"{JOBS}/{job.pk}/acquire")  # asking again answers it again
        assert again.status_code == 200 and Job.objects.get(pk=job.pk).attempts == 1

    def test_another_node_s_job_is_a_409_naming_it(self, world):
        job = acquired(world)
        response = as_rival(world).get(f"{JOBS}/{job.pk}/acquire")
        assert (response.status_code, response.json()["code"], response.json()["node"]) == (
            409,
            "job_acquired",
            world.node.pk,
        )

    def test_a_node_holding_a_job_cannot_take_another(self, world):
        held, other = acquired(world), node_job(world)
        response = as_launcher(world).get(f"{JOBS}/{other.pk}/acquire")
        assert (response.status_code, response.json()["code"], response.json()["job"]) == (409, "node_busy", held.pk)

    def test_a_node_removed_while_it_polls_acquires_nothing(self, world):
        # The node's row is deleted between its lookup and its acquire (its owner removed it, or an
        # admin did): a 409 naming that, never a foreign-key failure, and the job stays queued.
        job = node_job(world)
        Node.objects.filter(pk=world.node.pk).delete()
        with pytest.raises(Conflict) as refused:
            job_acquire(job=Job.objects.get(pk=job.pk), node=world.node)
        assert refused.value.code == "node_removed"
        job.refresh_from_db()
        assert (job.node_id, job.status, job.claim_token) == (None, "created", None)

    def test_a_celery_job_cannot_be_acquired(self, world):
        job = JobFactory(template=world.noop, creator=world.launcher)
        response = as_launcher(world).get(f"{JOBS}/{job.pk}/acquire")
        assert (response.status_code, response.json()["code"], response.json()["runner"]) == (
            409,
            "not_node_job",
            "celery",
        )

    def test_acquire_needs_node_id(self, world, admin_user):
        job = node_job(world)
        response = client_of(admin_user).get(f"{JOBS}/{job.pk}/acquire")
        assert (response.status_code, response.json()["code"]) == (403, "not_a_node")

    def test_a_started_cancelled_or_deleted_job_is_a_409(self, world):
        for fields in ({"status": "running"}, {"cancelled": True}, {"finished": True}):
            job = node_job(world, **fields)
            assert as_launcher(world).get(f"{JOBS}/{job.pk}/acquire").status_code == 409, fields


class TestHolderOnly:
    def test_a_node_cannot_act_on_a_job_it_does_not_hold(self, world):
        queued, held = node_job(world), acquired(world)
        rival = as_rival(world)
        calls = [
            ("post", f"{JOBS}/{held.pk}/start", {"send_notification": "email"}),
            ("post", f"{JOBS}/{held.pk}/progress/0.5", {}),
            ("post", f"{JOBS}/{held.pk}/finish", {"success": False, "send_notification": "email"}),
            ("delete", f"{JOBS}/{held.pk}/release", None),
            ("delete", f"{JOBS}/{held.pk}/reset", None),
            ("post", f"{JOBS}/{queued.pk}/start", {"send_notification": "email"}),  # never acquired
        ]
        for method, path, body in calls:
            response = getattr(rival, method)(path, body, format="json") if body is not None else rival.delete(path)
            assert (response.status_code, response.json()["code"]) == (403, "not_holder"), path
        output = rival.post(f"{JOBS}/{held.pk}/outputs/model/{ENCODED_MODEL}", b"zip", **RAW)
        assert (output.status_code, output.json()["code"]) == (403, "not_holder")
        held.refresh_from_db()
        assert (held.status, held.node_id) == ("created", world.node.pk)

    def test_node_actions_need_node_id(self, world):
        job = acquired(world, creator=world.launcher)  # its user's own job: visible without Node-Id too
        plain = client_of(world.launcher)
        for path, body in (
            (f"{JOBS}/{job.pk}/acquire", None),
            (f"{JOBS}/{job.pk}/start", {}),
            (f"{JOBS}/{job.pk}/progress/0.5", {}),
            (f"{JOBS}/{job.pk}/finish", {"success": True}),
            (f"{JOBS}/{job.pk}/reset", None),
        ):
            if path.endswith("acquire"):
                response = plain.get(path)
            elif path.endswith("reset"):
                response = plain.delete(path)
            else:
                response = plain.post(path, body, format="json")
            assert (response.status_code, response.json()["code"]) == (403, "not_a_node"), path
        # Without Node-Id the user sees only what it sees as a user: alice's jobs are not among them.
        hidden = node_job(world)
        assert plain.get(f"{JOBS}/{hidden.pk}").status_code == 404


class TestBodies:
    @pytest.mark.parametrize("fraction", ["abc", "2.0", "nan", "-0.1", "inf", "1e400", "0x1"])
    def test_a_fraction_outside_0_to_1_is_a_400(self, world, fraction):
        job = started(world)
        response = as_launcher(world).post(f"{JOBS}/{job.pk}/progress/{fraction}", {}, format="json")
        assert (response.status_code, problems(response)) == (400, [("progress", "invalid_progress")])

    def test_progress_as_python_prints_it_with_its_comment(self, world):
        job = started(world)
        response = as_launcher(world).post(
            f"{JOBS}/{job.pk}/progress/0.42000000000000004", {"comment": "half"}, format="json"
        )
        assert response.status_code == 200
        job.refresh_from_db()
        assert (job.progress, job.progress_data) == (0.42000000000000004, {"comment": "half"})
        listed = as_launcher(world).post(f"{JOBS}/{job.pk}/progress/0.5", [1], format="json")
        assert (listed.status_code, problems(listed)) == (400, [("", "wrong_type")])

    def test_progress_data_past_its_limit_is_a_400_and_keeps_the_last_report(self, world, settings):
        settings.JOB_PROGRESS_DATA_MAX_BYTES = 1000
        job = started(world)
        client = as_launcher(world)
        assert client.post(f"{JOBS}/{job.pk}/progress/0.25", {"comment": "ok"}, format="json").status_code == 200
        response = client.post(f"{JOBS}/{job.pk}/progress/0.5", {"comment": "x" * 1000}, format="json")
        assert (response.status_code, response.json()["code"], response.json()["limit"]) == (
            400,
            "progress_data_too_large",
            1000,
        )
        job.refresh_from_db()
        assert (job.progress, job.progress_data) == (0.25, {"comment": "ok"})

    def test_a_node_s_long_error_is_kept_within_the_text_limit_start_and_end(self, world, settings):
        settings.TEXT_FIELD_MAX_CHARS = 500
        job = started(world)
        error = "Traceback (most recent call last):\n" + "  frame\n" * 1000 + "RuntimeError: out of memory"
        response = as_launcher(world).post(f"{JOBS}/{job.pk}/finish", {"success": False, "error": error}, format="json")
        assert response.status_code == 200, response.content
        job.refresh_from_db()
        assert job.status == "errored" and len(job.error_reason) <= 500
        assert job.error_reason.startswith("Traceback") and job.error_reason.endswith("RuntimeError: out of memory")
        assert "characters left out: TEXT_FIELD_MAX_CHARS" in job.error_reason

    def test_progress_before_start_is_a_409(self, world):
        job = acquired(world)
        response = as_launcher(world).post(f"{JOBS}/{job.pk}/progress/0.5", {}, format="json")
        assert (response.status_code, response.json()["code"]) == (409, "illegal_transition")

    def test_start_and_finish_bodies_are_checked_with_every_problem_at_once(self, world):
        job = acquired(world)
        client = as_launcher(world)
        start = client.post(f"{JOBS}/{job.pk}/start", {"send_notification": 5, "extra": 1}, format="json")
        assert (start.status_code, problems(start)) == (
            400,
            [("extra", "unknown_key"), ("send_notification", "wrong_type")],
        )
        assert client.post(f"{JOBS}/{job.pk}/start", {}, format="json").status_code == 200  # the key is optional
        finish = client.post(f"{JOBS}/{job.pk}/finish", {"send_notification": "email", "error": 3}, format="json")
        assert (finish.status_code, problems(finish)) == (400, [("success", "required"), ("error", "wrong_type")])
        yes = client.post(f"{JOBS}/{job.pk}/finish", {"success": "yes"}, format="json")
        assert problems(yes) == [("success", "wrong_type")]
        assert Job.objects.get(pk=job.pk).status == "running"


class TestOutputs:
    def test_a_node_uploads_its_outputs_raw_and_ufdl_s_output_object_answers(self, world):
        job = started(world)
        response = as_launcher(world).post(f"{JOBS}/{job.pk}/outputs/model/{ENCODED_MODEL}", b"PK\x03\x04zip", **RAW)
        assert response.status_code == 200, response.content
        output = response.json()
        assert list(output)[:7] == ["pk", "job", "name", "type", "creator", "creation_time", "deletion_time"]
        assert (output["job"], output["name"], output["type"], output["creator"], output["size"]) == (
            job.pk,
            "model",
            MODEL_TYPE,
            world.launcher.pk,
            7,
        )
        download = as_launcher(world).get(f"{JOBS}/{job.pk}/outputs/model/{ENCODED_MODEL}")
        assert b"".join(download.streaming_content) == b"PK\x03\x04zip"

    def test_a_duplicate_output_is_a_409_and_a_bad_type_a_400(self, world):
        job = started(world)
        client = as_launcher(world)
        path = f"{JOBS}/{job.pk}/outputs"
        assert client.post(f"{path}/log/Compressed%3CJSON,%208%3E", b"zip", **RAW).status_code == 200
        again = client.post(f"{path}/log/Compressed%3CJSON,%208%3E", b"zip", **RAW)
        assert (again.status_code, again.json()["code"]) == (409, "output_exists")
        bad = client.post(f"{path}/model/Model%3CDomain", b"zip", **RAW)
        assert (bad.status_code, problems(bad)) == (400, [("type", "unparseable_type")])
        not_json = client.post(f"{path}/metadata/JSON", b"{not json", **RAW)
        assert (not_json.status_code, not_json.json()["code"]) == (422, "invalid_output")
        assert sorted(job.outputs.values_list("type", flat=True)) == [LOG_TYPE]

    def test_an_output_past_the_limit_is_a_413(self, world, settings):
        settings.JOB_OUTPUT_MAX_BYTES = 8
        job = started(world)
        response = as_launcher(world).post(f"{JOBS}/{job.pk}/outputs/model/{ENCODED_MODEL}", b"123456789", **RAW)
        assert (response.status_code, response.json()["detail"]) == (
            413,
            "The file (9 bytes) is larger than the limit of 8 bytes.",
        )
        assert not job.outputs.exists()

    def test_outputs_are_added_while_the_job_runs_by_its_node_or_an_admin(self, world):
        job = acquired(world)
        early = as_launcher(world).post(f"{JOBS}/{job.pk}/outputs/model/{ENCODED_MODEL}", b"zip", **RAW)
        assert (early.status_code, early.json()["code"]) == (409, "illegal_transition")
        as_launcher(world).post(f"{JOBS}/{job.pk}/start", {}, format="json")
        plain = client_of(world.alice).post(f"{JOBS}/{job.pk}/outputs/model/{ENCODED_MODEL}", b"zip", **RAW)
        assert (plain.status_code, plain.json()["code"]) == (403, "not_a_node")
        admin = client_of(world.admin).post(f"{JOBS}/{job.pk}/outputs/model/{ENCODED_MODEL}", b"zip", **RAW)
        assert admin.status_code == 200


class TestFinish:
    def test_success_with_the_contract_s_outputs_finishes_the_job(self, world):
        job = started(world)
        client = as_launcher(world)
        client.post(f"{JOBS}/{job.pk}/outputs/model/{ENCODED_MODEL}", b"zip", **RAW)
        response = client.post(
            f"{JOBS}/{job.pk}/finish", {"success": True, "send_notification": "email"}, format="json"
        )
        assert response.status_code == 200
        assert (response.json()["error_reason"], response.json()["node"], response.json()["status"]) == (
            None,
            world.node.pk,
            "finished",
        )
        again = client.post(f"{JOBS}/{job.pk}/finish", {"success": True}, format="json")
        assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")

    def test_a_restarting_node_fails_a_job_it_acquired_but_never_started(self, world):
        job = acquired(world)
        body = {"success": False, "send_notification": "", "error": "Node restarted during job execution."}
        response = as_launcher(world).post(f"{JOBS}/{job.pk}/finish", body, format="json")
        assert (response.status_code, response.json()["status"]) == (200, "errored")
        assert as_launcher(world).delete(f"{JOBS}/{job.pk}/reset").json()["status"] == "created"

    def test_failure_errors_the_job_with_the_node_s_error(self, world):
        job = started(world)
        response = as_launcher(world).post(
            f"{JOBS}/{job.pk}/finish", {"success": False, "error": "boom"}, format="json"
        )
        assert (response.json()["status"], response.json()["error_reason"]) == ("errored", "boom")


class TestReleaseAndReset:
    def test_the_holder_releases_an_acquired_job(self, world, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            job = acquired(world)
            response = as_launcher(world).delete(f"{JOBS}/{job.pk}/release")
        assert response.status_code == 200 and response.json()["node"] is None
        job.refresh_from_db()
        assert (job.status, job.node_id, job.claim_token) == ("created", None, None)
        assert polled(as_rival(world)) == [job.pk]
        again = as_launcher(world).delete(f"{JOBS}/{job.pk}/release")  # nobody holds it: answered as it is
        assert again.status_code == 200
        actions = list(NotificationDelivery.objects.filter(job=job).values_list("action", flat=True))
        assert actions == ["on_acquire", "on_release"]

    def test_a_started_job_cannot_be_released(self, world):
        job = started(world)
        response = as_launcher(world).delete(f"{JOBS}/{job.pk}/release")
        assert (response.status_code, response.json()["code"], response.json()["status"]) == (
            409,
            "illegal_transition",
            "running",
        )

    def test_an_admin_releases_without_node_id_others_may_not(self, world):
        job = acquired(world)
        refused = client_of(world.alice).delete(f"{JOBS}/{job.pk}/release")  # her job, but not a node
        assert (refused.status_code, refused.json()["code"]) == (403, "not_a_node")
        assert client_of(world.admin).delete(f"{JOBS}/{job.pk}/release").status_code == 200
        assert Job.objects.get(pk=job.pk).node_id is None

    def test_reset_brings_an_errored_job_back_without_its_outputs(self, world):
        job = started(world)
        client = as_launcher(world)
        client.post(f"{JOBS}/{job.pk}/outputs/metadata/JSON", b"{}", **RAW)
        running = client.delete(f"{JOBS}/{job.pk}/reset")
        assert (running.status_code, running.json()["code"]) == (409, "illegal_transition")
        client.post(f"{JOBS}/{job.pk}/finish", {"success": False, "error": "boom"}, format="json")
        rival = as_rival(world).delete(f"{JOBS}/{job.pk}/reset")
        assert (rival.status_code, rival.json()["code"]) == (403, "not_holder")
        response = client.delete(f"{JOBS}/{job.pk}/reset")
        assert response.status_code == 200
        job.refresh_from_db()
        assert (job.status, job.node_id, job.error_reason, job.outputs.count()) == ("created", None, None, 0)
        assert polled(as_rival(world)) == [job.pk]

    def test_an_admin_resets_any_errored_node_job_a_finished_one_never(self, world):
        errored = node_job(world, errored=True, node=world.rival)
        assert client_of(world.admin).delete(f"{JOBS}/{errored.pk}/reset").status_code == 200
        finished = node_job(world, finished=True, node=world.node)
        response = as_launcher(world).delete(f"{JOBS}/{finished.pk}/reset")
        assert (response.status_code, response.json()["code"]) == (409, "illegal_transition")
