"""The UFDL node protocol end to end: launchers written in the tests (tests/runners/launcher.py) speak HTTP
to a live server exactly as the real one does, on the shipped ``dogs_dummy_image_class_train`` template.

A whole job (register, poll, acquire, start, dataset, progress, pings, outputs, finish) with the calls
the recording shows; a second launch that finds its node; two nodes racing for one job (exactly one
wins); a node that vanishes mid-job (the reaper releases the job, the other node finishes it); a node
restarting while it holds a job. Nothing is mocked: a real server thread, database and storage.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.models import Job
from jobtemplates.services.jobs.reaping import jobs_reap
from notifications.models import NotificationDelivery
from runners.models import Node
from tests.conftest import bearer_client
from tests.factories import UserFactory
from tests.runners.launcher import (
    LOG_TYPE,
    MODEL_TYPE,
    NODE_RESTARTED,
    PASSWORD,
    Launcher,
    LauncherError,
    create_job,
    dogs_dataset,
    import_dogs_train,
    node_user,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stage(live_server, settings, tmp_path):
    """The catalogue, the dogs template, alice (who creates jobs) and her public dataset of dogs."""
    settings.MEDIA_ROOT = tmp_path / "media"
    catalogue_seed()
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    alice = UserFactory(username="alice")
    return {
        "url": live_server.url,
        "template": import_dogs_train(admin),
        "alice": bearer_client(alice),
        "dataset": dogs_dataset(alice),
    }


def launcher(stage, username: str, **kwargs) -> Launcher:
    if not get_user_model().objects.filter(username=username).exists():
        node_user(username)
    return Launcher(stage["url"], username, PASSWORD, **kwargs)


def actions_of(job_pk: int) -> list[str]:
    return list(NotificationDelivery.objects.filter(job_id=job_pk).order_by("pk").values_list("action", flat=True))


ENCODED_MODEL_TYPE = "Model%3CDomain%3C'Image%20Classification'%3E,%20Framework%3C'dogs_dummy',%20'1'%3E%3E"
# The recording (launcher-session.md, "The whole job"), as (method, path pattern, Node-Id sent).
RECORDED = [
    ("POST", r"v1/auth/obtain", False),
    ("POST", r"v1/nodes/list", False),
    ("POST", r"v1/nodes/create", False),
    ("POST", r"v1/jobs/list", True),
    ("GET", r"v1/job-templates/\d+", True),
    ("POST", r"v1/job-types/list", True),
    ("POST", r"v1/job-contracts/list", True),
    ("GET", r"v1/jobs/\d+/acquire", True),
    ("POST", r"v1/jobs/\d+/start", True),
    ("POST", r"v1/datasets/list", True),
    ("GET", r"v1/datasets/\d+", False),
    ("GET", r"v1/datasets/\d+/files/.+\.jpg", False),
    ("GET", r"v1/classify/datasets/\d+/categories", False),
    *[("GET", r"v1/datasets/\d+/files/.+\.jpg", False)] * 4,
    ("GET", r"v1/jobs/\d+", True),
    ("POST", r"v1/jobs/\d+/progress/0\.1", True),
    ("GET", r"v1/nodes/ping", True),
    ("POST", r"v1/jobs/\d+/progress/0\.26", True),
    ("POST", r"v1/jobs/\d+/progress/0\.42000000000000004", True),
    ("POST", r"v1/jobs/\d+/progress/0\.58", True),
    ("POST", r"v1/jobs/\d+/progress/0\.7400000000000001", True),
    ("POST", r"v1/jobs/\d+/progress/0\.9", True),
    ("POST", r"v1/jobs/\d+/progress/0\.9", True),
    ("GET", r"v1/nodes/ping", True),
    ("POST", r"v1/jobs/\d+/outputs/model/" + ENCODED_MODEL_TYPE, True),
    ("POST", r"v1/jobs/\d+/outputs/metadata/JSON", True),
    ("POST", r"v1/jobs/\d+/outputs/log/Compressed%3CJSON,%208%3E", True),
    ("POST", r"v1/jobs/\d+/finish", True),
]  # fmt: skip


def test_a_launcher_runs_a_dogs_dummy_job_to_the_end(stage):
    node = launcher(stage, "launcher")
    registered = node.register()  # the first launch: registers before any job exists
    assert registered == {
        "pk": node.node_id,
        "ip": "192.0.2.2",
        "index": 0,
        "driver_version": None,
        "hardware_generation": None,
        "gpu_mem": None,
        "cpu_mem": 25_275_990_016,
        "last_seen": registered["last_seen"],
        "current_job": None,
        "owner": Node.objects.get(pk=node.node_id).owner_id,
        "alive": True,
    }
    created = create_job(stage["alice"], stage["template"], stage["dataset"])

    jobs = node.poll()
    assert [job["pk"] for job in jobs] == [created["pk"]]
    node.prepare(jobs[0])
    finished = node.run(jobs[0])

    assert [(m, p, n is not None, s) for m, p, n, s in node.calls[:1]] == [("POST", "v1/auth/obtain", False, 200)]
    sent = [(method, path, node_id is not None) for method, path, node_id, _ in node.calls]
    assert len(sent) == len(RECORDED), sent
    for (method, path, with_node), (want_method, pattern, want_node) in zip(sent, RECORDED, strict=True):
        assert (method, with_node) == (want_method, want_node) and re.fullmatch(pattern, path), (method, path)
    assert {status for *_, status in node.calls} == {200, 201}
    assert all(node_id in (None, node.node_id) for _, _, node_id, _ in node.calls)

    job = Job.objects.get(pk=created["pk"])
    assert (finished["pk"], finished["error_reason"], finished["node"]) == (job.pk, None, node.node_id)
    assert finished["end_time"] is not None and finished["start_time"] is not None
    assert (job.status, job.node_id, job.progress, job.error_reason) == ("finished", node.node_id, 1.0, None)
    assert job.progress_data == {"comment": "Analysed dataset"}
    assert sorted((o.name, o.type) for o in job.outputs.all()) == [
        ("log", LOG_TYPE),
        ("metadata", "JSON"),
        ("model", MODEL_TYPE),
    ]
    assert sorted(o["name"] for o in finished["outputs"]) == ["log", "metadata", "model"]
    assert actions_of(job.pk) == ["on_acquire", "on_start", "on_finish"]
    # After finish: the node holds nothing and was seen; the job keeps naming it.
    answer = node.context.get(f"v1/nodes/{node.node_id}")
    assert answer["current_job"] is None and answer["last_seen"] is not None
    assert node.context.get(f"v1/jobs/{job.pk}")["node"] == node.node_id
    assert node.poll() == []


def test_a_second_launch_finds_its_node_and_updates_it(stage):
    first = launcher(stage, "launcher")
    pk = first.register()["pk"]
    again = launcher(stage, "launcher", cpu_mem=1024)
    node = again.register()
    assert (node["pk"], node["cpu_mem"], node["current_job"]) == (pk, 1024, None)
    assert [(m, p, n) for m, p, n, _ in again.calls] == [
        ("POST", "v1/auth/obtain", None),
        ("POST", "v1/nodes/list", None),
        ("PATCH", f"v1/nodes/{pk}", pk),
    ]
    assert Node.objects.count() == 1


def test_two_nodes_racing_for_one_job_exactly_one_wins(stage):
    nodes = [launcher(stage, "launcher-a"), launcher(stage, "launcher-b", ip="192.0.2.3")]
    for node in nodes:
        node.register()
    for _ in range(3):
        created = create_job(stage["alice"], stage["template"], stage["dataset"])
        assert all(created["pk"] in [job["pk"] for job in node.poll()] for node in nodes)
        barrier = threading.Barrier(len(nodes))
        results: dict[int, object] = {}

        def race(node: Launcher, pk: int = created["pk"], barrier=barrier, results=results) -> None:
            barrier.wait()
            try:
                results[node.node_id] = node.acquire(pk)
            except LauncherError as error:
                results[node.node_id] = error

        threads = [threading.Thread(target=race, args=(node,)) for node in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        winners = [pk for pk, result in results.items() if isinstance(result, dict)]
        losers = [result for result in results.values() if isinstance(result, LauncherError)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert (losers[0].status, losers[0].code) == (409, "job_acquired")
        assert losers[0].json["node"] == winners[0]
        job = Job.objects.get(pk=created["pk"])
        assert (job.node_id, job.attempts, actions_of(job.pk)) == (winners[0], 1, ["on_acquire"])
        winner = next(node for node in nodes if node.node_id == winners[0])
        winner.run(winner.context.get(f"v1/jobs/{job.pk}"))
        assert Job.objects.get(pk=job.pk).status == "finished"


def test_a_vanished_node_s_job_is_released_and_finished_by_another(stage):
    gone, other = launcher(stage, "launcher-a"), launcher(stage, "launcher-b", ip="192.0.2.3")
    gone.register()
    other.register()
    created = create_job(stage["alice"], stage["template"], stage["dataset"])
    pk = created["pk"]
    gone.acquire(pk)
    gone.start(pk)
    gone.progress(pk, 0.1, "Downloaded dataset")
    assert other.poll() == []  # held: nobody else sees it queued
    # It stops being seen; the reaper lets go of its job.
    Node.objects.filter(pk=gone.node_id).update(
        last_seen=timezone.now() - timedelta(seconds=settings.NODE_STALE_SECONDS + 5)
    )
    report = jobs_reap()
    assert report.released == [pk]
    job = Job.objects.get(pk=pk)
    assert (job.status, job.node_id, job.start_time, job.claim_token) == ("created", None, None, None)

    with pytest.raises(LauncherError) as refused:  # it comes back: the job is no longer its own
        gone.progress(pk, 0.26)
    assert (refused.value.status, refused.value.code) == (403, "not_holder")

    jobs = other.poll()
    assert [job["pk"] for job in jobs] == [pk]
    other.run(jobs[0])
    job = Job.objects.get(pk=pk)
    assert (job.status, job.node_id, job.attempts) == ("finished", other.node_id, 2)
    with pytest.raises(LauncherError) as refused:
        gone.finish(pk, success=True)
    assert (refused.value.status, refused.value.code) == (403, "not_holder")
    with pytest.raises(LauncherError) as refused:
        gone.add_output(pk, "model", MODEL_TYPE, b"late")
    assert (refused.value.status, refused.value.code) == (403, "not_holder")
    assert actions_of(pk) == ["on_acquire", "on_start", "on_release", "on_reset", "on_acquire", "on_start", "on_finish"]


def test_a_restarted_node_fails_resets_and_releases_the_job_it_held(stage):
    before = launcher(stage, "launcher")
    before.register()
    created = create_job(stage["alice"], stage["template"], stage["dataset"])
    pk = created["pk"]
    before.acquire(pk)
    before.start(pk)
    before.add_output(pk, "metadata", "JSON", b"{}")

    after = launcher(stage, "launcher")  # the same machine, started again
    node = after.register()
    assert node["current_job"] == pk
    assert [(m, p, n) for m, p, n, _ in after.calls[3:]] == [
        ("POST", f"v1/jobs/{pk}/finish", node["pk"]),
        ("DELETE", f"v1/jobs/{pk}/reset", node["pk"]),
        ("DELETE", f"v1/jobs/{pk}/release", node["pk"]),
    ]
    job = Job.objects.get(pk=pk)
    assert (job.status, job.node_id, job.error_reason, job.outputs.count()) == ("created", None, None, 0)
    assert actions_of(pk) == ["on_acquire", "on_start", "on_error", "on_reset"]
    # Queued again: the node takes it and runs it to the end.
    jobs = after.poll()
    assert [job["pk"] for job in jobs] == [pk]
    after.run(jobs[0])
    assert Job.objects.get(pk=pk).status == "finished"


def test_a_failing_executor_finishes_the_job_as_errored_with_its_log(stage):
    node = launcher(stage, "launcher")
    node.register()
    created = create_job(stage["alice"], stage["template"], stage["dataset"])
    answer = node.run(node.poll()[0], fail=True)
    assert answer["error_reason"].startswith("Failed to execute pre-run code:\nTraceback")
    job = Job.objects.get(pk=created["pk"])
    assert job.status == "errored" and sorted(o.name for o in job.outputs.all()) == ["log", "metadata"]
    assert actions_of(job.pk) == ["on_acquire", "on_start", "on_error"]
    assert node.context.get(f"v1/nodes/{node.node_id}")["current_job"] is None


def test_finishing_without_the_contract_s_outputs_errors_the_job(stage):
    node = launcher(stage, "launcher")
    node.register()
    pk = create_job(stage["alice"], stage["template"], stage["dataset"])["pk"]
    node.acquire(pk)
    node.start(pk)
    answer = node.finish(pk, success=True)
    assert answer["error_reason"] == f"the node did not upload its contract's outputs: model ({MODEL_TYPE})"
    assert Job.objects.get(pk=pk).status == "errored"
    assert NODE_RESTARTED not in answer["error_reason"]
