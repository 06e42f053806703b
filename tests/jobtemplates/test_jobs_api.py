"""``/v1/jobs`` and ``/v1/job-outputs`` (http-api.md §4): who may do what on which job, lifecycle
routes with their 409s, outputs, filter specs, the §4.1 shape (golden file) and a constant number of
queries per list.

Jobs are built directly in the state a test needs (factories); no worker runs here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from jobtemplates.models import Job, JobOutput, JobStatus, JobTemplate
from jobtemplates.services.jobs import job_create, job_output_write
from jobtemplates.services.jobs.enqueueing import RUN_JOB_TASK
from jobtemplates.services.jobs.outputs import job_outputs_surface
from jobtemplates.services.templates import template_import
from tests.factories import DatasetFactory, DomainFactory, JobFactory, LicenceFactory, ProjectFactory

# Every test has the templates (job factories default to noop).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("templates")]

JOBS = "/v1/jobs"
OUTPUTS = "/v1/job-outputs"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
NOOP_MODEL = "Model<Domain<'Image Classification'>, Framework<'noop', '1'>>"
# UFDL's job keys in UFDL's order (http-api.md §4.1); ours follow.
COMPAT_KEYS = [
    "pk",
    "template",
    "parent",
    "start_time",
    "end_time",
    "error_reason",
    "input_values",
    "parameter_values",
    "node",
    "description",
    "outputs",
    "is_cancelled",
    "creator",
    "creation_time",
    "deletion_time",
]


# --- data ------------------------------------------------------------------------------------------


def builtin(file: str, admin, **changes) -> JobTemplate:
    body = {**json.loads((BUILTIN / f"{file}.json").read_text()), **changes}
    return template_import(data=body, creator=admin).template


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def templates(catalogue, admin_user):
    """noop and sleep_train (public), a copy of noop only admins see, and sleep_train → sleep_predict."""
    train = builtin("sleep_train", admin_user)
    predict = builtin("sleep_predict", admin_user)
    meta = template_import(
        data={
            "name": "train_predict",
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
    return {
        "noop": builtin("noop", admin_user),
        "train": train,
        "predict": predict,
        "meta": meta,
        "hidden": builtin("noop", admin_user, name="hidden_noop", scope="user"),
    }


@pytest.fixture
def lab(user, other_user):
    """A project whose team has alice (R) and bob (W): its jobs are seen by both."""
    return ProjectFactory(name="lab", members={user: "R", other_user: "W"})


def lab_job(lab, **fields) -> Job:
    """A job in ``lab`` (as create-job makes them from a project-scoped template)."""
    return JobFactory(project=lab, **fields)


@pytest.fixture
def jobs(templates, user, other_user, admin_user, lab):
    """alice's and bob's jobs on the public noop (each sees only their own), bob's on the hidden template
    (alice cannot see it), alice's on the hidden template (she sees her own), the admin's, and one of
    each in the project lab, which both see."""
    return {
        "mine": JobFactory(creator=user, template=templates["noop"]),
        "bobs": JobFactory(creator=other_user, template=templates["noop"]),
        "bobs_hidden": JobFactory(creator=other_user, template=templates["hidden"]),
        "mine_hidden": JobFactory(creator=user, template=templates["hidden"]),
        "admins": JobFactory(creator=admin_user, template=templates["noop"]),
        "mine_in_lab": lab_job(lab, creator=user, template=templates["noop"]),
        "bobs_in_lab": lab_job(lab, creator=other_user, template=templates["noop"]),
    }


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """Tasks sent to the broker, recorded instead."""
    calls: list[tuple] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: calls.append((name, kwargs)))
    return calls


def write(job: Job, name: str, output_type: str, data: Any = b"bytes") -> JobOutput:
    return job_output_write(job=job, name=name, output_type=output_type, data=data)


def pks(response) -> list[int]:
    assert response.status_code == 200, response.content
    body = response.json()
    return [item["pk"] for item in (body["results"] if isinstance(body, dict) else body)]


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


# --- reading ---------------------------------------------------------------------------------------


class TestVisibility:
    def test_a_user_lists_own_jobs_and_jobs_of_their_projects(self, client, jobs):
        # Not every job of a template they can see: bob's and the admin's noop jobs stay theirs.
        expected = [jobs[name].pk for name in ("mine", "mine_hidden", "mine_in_lab", "bobs_in_lab")]
        assert pks(client.post(f"{JOBS}/list")) == expected
        assert pks(client.post(f"{JOBS}/list", {}, format="json")) == expected
        assert pks(client.get(JOBS)) == expected

    def test_admins_list_every_job(self, admin_client, jobs):
        assert pks(admin_client.post(f"{JOBS}/list")) == sorted(job.pk for job in jobs.values())

    def test_retrieve_follows_the_same_rule_and_invisible_is_404(self, client, other_client, admin_client, jobs):
        for name in ("mine", "mine_hidden", "mine_in_lab", "bobs_in_lab"):
            assert client.get(f"{JOBS}/{jobs[name].pk}").status_code == 200, name
        for name in ("bobs", "admins", "bobs_hidden"):
            response = client.get(f"{JOBS}/{jobs[name].pk}")
            assert response.status_code == 404 and response.json()["code"] == "not_found", name
        # bob created it: his own job stays visible to him although the template is not.
        assert other_client.get(f"{JOBS}/{jobs['bobs_hidden'].pk}").status_code == 200
        assert admin_client.get(f"{JOBS}/{jobs['bobs_hidden'].pk}").status_code == 200
        assert client.get(f"{JOBS}/999999").status_code == 404

    def test_anonymous_callers_get_401(self, anon_client, jobs):
        assert anon_client.post(f"{JOBS}/list").status_code == 401
        assert anon_client.get(f"{JOBS}/{jobs['mine'].pk}").status_code == 401

    def test_no_trailing_slash_needed_and_one_accepted(self, client, jobs):
        assert client.get(f"{JOBS}/{jobs['mine'].pk}/").status_code == 200
        assert client.post(f"{JOBS}/list/").status_code == 200


class TestFilters:
    @pytest.fixture
    def varied(self, jobs, templates, user):
        JobFactory(creator=user, template=templates["train"], finished=True, description="trained well")
        JobFactory(creator=user, template=templates["noop"], errored=True)
        return jobs

    def test_by_status(self, client, varied):
        finished = client.post(
            f"{JOBS}/list", {"expressions": [{"type": "exact", "field": "status", "value": "finished"}]}, format="json"
        )
        assert [j["description"] for j in finished.json()] == ["trained well"]
        assert pks(client.get(f"{JOBS}?status=errored")) == list(
            Job.objects.filter(status="errored").values_list("pk", flat=True)
        )

    def test_by_template_name_creator_and_order(self, client, varied, templates):
        body = {
            "expressions": [
                {"type": "contains", "field": "template.name", "sub_string": "noop"},
                {"type": "exact", "field": "creator.username", "value": "alice"},
            ],
            "order_by": [{"field": "pk", "ascending": False}],
        }
        expected = list(
            Job.objects.filter(template__name__contains="noop", creator__username="alice")
            .order_by("-pk")
            .values_list("pk", flat=True)
        )
        # alice's: noop, the hidden noop, the noop in lab and the errored noop.
        assert pks(client.post(f"{JOBS}/list", body, format="json")) == expected and len(expected) == 4
        assert pks(client.get(f"{JOBS}?template={templates['train'].pk}")) == list(
            Job.objects.filter(template=templates["train"]).values_list("pk", flat=True)
        )

    def test_unknown_or_private_fields_are_a_400_naming_the_path(self, client, varied):
        for field in ("creator.password", "claim_token", "template.executor_class.x", "nope"):
            response = client.post(
                f"{JOBS}/list", {"expressions": [{"type": "exact", "field": field, "value": "x"}]}, format="json"
            )
            assert response.status_code == 400, field
            assert response.json()["errors"][0]["path"] == "expressions[0].field"

    def test_soft_deleted_jobs_only_with_include_inactive(self, client, varied):
        Job.objects.filter(pk=varied["mine"].pk).update(deletion_time=timezone.now())
        assert varied["mine"].pk not in pks(client.post(f"{JOBS}/list"))
        assert varied["mine"].pk in pks(client.post(f"{JOBS}/list", {"include_inactive": True}, format="json"))
        assert varied["mine"].pk in pks(client.get(f"{JOBS}?include_inactive=true"))


# --- the representation ------------------------------------------------------------------------------


def normalise(data: Any, key: str | None = None) -> Any:
    """Run-dependent values (pks, users, times) replaced by placeholders."""
    if isinstance(data, dict):
        if set(data) == {"value", "type"} and data["type"].startswith(("PK<", "JobOutput<")):
            return {"value": "<pk>", "type": data["type"]}
        return {k: normalise(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [normalise(item, key) for item in data]
    if key in {"pk", "parent", "creator", "children"} and isinstance(data, int):
        return f"<{key}>"
    if key in {"start_time", "end_time", "creation_time", "deletion_time"} and isinstance(data, str):
        return "<time>"
    return data


def assert_golden(name: str, data: Any) -> None:
    """``data`` normalised equals ``golden/<name>.json``; JSON types strictly (``1`` is not ``1.0``).
    Regenerate after a deliberate change with ``UPDATE_GOLDEN=1`` and review the diff."""
    path = GOLDEN / f"{name}.json"
    normalised = normalise(data)
    if UPDATE:
        path.write_text(json.dumps(normalised, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert json.dumps(normalised, sort_keys=True) == json.dumps(expected, sort_keys=True)
    # The representation's own keys in their order (JSON columns may come back reordered by jsonb).
    assert list(normalised) == list(expected)


class TestShape:
    @pytest.fixture
    def finished_meta(self, templates, user):
        """A finished train → predict meta-job whose child outputs surfaced on the parent."""
        dataset = DatasetFactory(
            name="digits",
            domain=DomainFactory(name="ic"),
            licence=LicenceFactory(name="Apache 2.0"),
            is_public=True,
            creator=user,
        )
        given = {
            "train:dataset": {"value": dataset.pk, "type": IC_DATASET},
            "predict:dataset": {"value": dataset.pk, "type": IC_DATASET},
        }
        parent = JobFactory(
            template=templates["meta"],
            creator=user,
            finished=True,
            description="first try",
            input_values=given,
            parameter_values={"train:sleep": {"value": 0.5, "type": "float"}},
            resolved_parameters={
                "train:sleep": {"value": 0.5, "type": "float"},
                "train:fail": {"value": False, "type": "bool"},
                "predict:sleep": {"value": 0.0, "type": "float"},
                "predict:fail": {"value": False, "type": "bool"},
            },
        )
        train = JobFactory(
            template=templates["train"],
            creator=user,
            finished=True,
            parent=parent,
            child_name="train",
            description="first try",
            input_values={"dataset": given["train:dataset"]},
            parameter_values={"sleep": {"value": 0.5, "type": "float"}},
            resolved_parameters={"sleep": {"value": 0.5, "type": "float"}, "fail": {"value": False, "type": "bool"}},
        )
        write(train, "model", NOOP_MODEL, b"model")
        write(train, "metrics", "JSON", {"accuracy": 1.0})
        job_outputs_surface(parent=parent, children=[train])
        return parent, train

    def test_a_workable_job_as_pinned(self, client, finished_meta):
        body = client.get(f"{JOBS}/{finished_meta[1].pk}").json()
        assert list(body)[: len(COMPAT_KEYS)] == COMPAT_KEYS
        assert_golden("job_retrieve_child", body)

    def test_a_meta_job_as_pinned(self, client, finished_meta):
        parent, train = finished_meta
        body = client.get(f"{JOBS}/{parent.pk}").json()
        assert body["children"] == [train.pk]
        assert [o["name"] for o in body["outputs"]] == ["train:model", "train:metrics"]
        assert_golden("job_retrieve_meta", body)

    def test_list_items_have_the_retrieve_shape(self, client, finished_meta):
        listed = client.post(f"{JOBS}/list").json()
        retrieved = [client.get(f"{JOBS}/{item['pk']}").json() for item in listed]
        assert listed == retrieved

    def test_a_cancelled_job_says_so_whether_or_not_it_started(self, client, templates, user):
        never_started = JobFactory(creator=user, cancelled=True)
        body = client.get(f"{JOBS}/{never_started.pk}").json()
        assert (body["status"], body["is_cancelled"], body["start_time"]) == ("cancelled", True, None)

    def test_soft_deleted_outputs_are_not_listed(self, client, jobs):
        output = write(jobs["mine"], "log", "BLOB<'log'>")
        JobOutput.objects.filter(pk=output.pk).update(deletion_time=timezone.now())
        assert client.get(f"{JOBS}/{jobs['mine'].pk}").json()["outputs"] == []


class TestQueryCounts:
    """A job list answers in a constant number of queries (STYLE.md rule 2)."""

    def grow(self, n: int, templates, user) -> None:
        while Job.objects.count() < n:
            parent = JobFactory(template=templates["meta"], creator=user, finished=True)
            child = JobFactory(
                template=templates["train"], creator=user, finished=True, parent=parent, child_name="train"
            )
            write(child, "model", NOOP_MODEL)
            write(child, "metrics", "JSON", {"n": child.pk})
            job_outputs_surface(parent=parent, children=[child])

    @pytest.mark.parametrize(
        ("method", "path"), [("post", f"{JOBS}/list"), ("get", JOBS), ("post", f"{OUTPUTS}/list"), ("get", OUTPUTS)]
    )
    @pytest.mark.parametrize("who", ["user", "admin"])
    def test_lists_do_not_grow_with_the_number_of_jobs(self, request, templates, user, method, path, who):
        client = request.getfixturevalue("client" if who == "user" else "admin_client")
        counts = []
        for n in (4, 30):
            self.grow(n, templates, user)
            with CaptureQueriesContext(connection) as captured:
                response = getattr(client, method)(path)
            assert response.status_code == 200
            counts.append(len(captured))
        assert counts[0] == counts[1]
        # the bearer's user, (GET: the count), the jobs with their templates, outputs, children
        assert counts[1] <= 5, counts


# --- changing a job ------------------------------------------------------------------------------------


class TestDescription:
    @pytest.mark.parametrize("method", ["put", "patch"])
    def test_the_creator_and_admins_may_change_it(self, client, admin_client, jobs, method):
        job = jobs["mine"]
        response = getattr(client, method)(f"{JOBS}/{job.pk}", {"description": "better"}, format="json")
        assert response.status_code == 200 and response.json()["description"] == "better"
        response = getattr(admin_client, method)(f"{JOBS}/{job.pk}", {"description": ""}, format="json")
        assert response.status_code == 200 and Job.objects.get(pk=job.pk).description == ""

    def test_others_may_not(self, client, other_client, jobs):
        before = jobs["mine_in_lab"].description
        # bob sees alice's job in their project but may not change it; a job he cannot see is a 404.
        response = other_client.patch(f"{JOBS}/{jobs['mine_in_lab'].pk}", {"description": "mine now"}, format="json")
        assert response.status_code == 403
        assert other_client.patch(f"{JOBS}/{jobs['mine'].pk}", {"description": "x"}, format="json").status_code == 404
        assert client.patch(f"{JOBS}/{jobs['bobs_hidden'].pk}", {"description": "x"}, format="json").status_code == 404
        assert Job.objects.get(pk=jobs["mine_in_lab"].pk).description == before

    def test_only_the_description_changes(self, client, jobs):
        job = jobs["mine"]
        response = client.put(
            f"{JOBS}/{job.pk}", {"description": "d", "status": "finished", "input_values": {"x": 1}}, format="json"
        )
        assert response.status_code == 200
        job.refresh_from_db()
        assert (job.description, job.status, job.input_values) == ("d", "created", {})

    def test_a_missing_or_non_text_description_is_a_400(self, client, jobs):
        for body in ({}, {"description": ["a"]}, {"description": None}):
            response = client.put(f"{JOBS}/{jobs['mine'].pk}", body, format="json")
            assert response.status_code == 400, body
            assert response.json()["errors"][0]["path"] == "description"


class TestSoftDeleteHardReinstate:
    def test_soft_delete_and_reinstate_are_for_admins(self, client, admin_client, jobs):
        job = jobs["mine"]
        assert client.delete(f"{JOBS}/{job.pk}").status_code == 403
        assert admin_client.delete(f"{JOBS}/{job.pk}").status_code == 204
        job.refresh_from_db()
        assert job.deletion_time is not None
        # still readable by pk, with its deletion time
        assert client.get(f"{JOBS}/{job.pk}").json()["deletion_time"] is not None
        assert client.delete(f"{JOBS}/{job.pk}/reinstate").status_code == 403
        response = admin_client.delete(f"{JOBS}/{job.pk}/reinstate")
        assert response.status_code == 200 and response.json()["deletion_time"] is None
        assert admin_client.delete(f"{JOBS}/{job.pk}").status_code == 204
        assert admin_client.post(f"{JOBS}/{job.pk}/reinstate").status_code == 200

    def test_hard_delete_removes_the_job_and_its_files(
        self, client, admin_client, jobs, django_capture_on_commit_callbacks
    ):
        job = jobs["mine"]
        Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHED)
        output = write(job, "log", "BLOB<'log'>")
        path = Path(output.file.path)
        assert client.delete(f"{JOBS}/{job.pk}/hard").status_code == 403
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.delete(f"{JOBS}/{job.pk}/hard")
        assert response.status_code == 200 and response.json()["pk"] == job.pk
        assert not Job.objects.filter(pk=job.pk).exists() and not path.exists()

    def test_hard_delete_of_a_meta_job_removes_its_childrens_files(
        self, admin_client, templates, user, django_capture_on_commit_callbacks
    ):
        parent = JobFactory(template=templates["meta"], creator=user, finished=True)
        child = JobFactory(template=templates["train"], creator=user, finished=True, parent=parent, child_name="train")
        model = write(child, "model", NOOP_MODEL)
        job_outputs_surface(parent=parent, children=[child])
        path = Path(model.file.path)
        with django_capture_on_commit_callbacks(execute=True):
            assert admin_client.delete(f"{JOBS}/{parent.pk}/hard").status_code == 200
        assert not Job.objects.filter(pk__in=[parent.pk, child.pk]).exists()
        assert not path.exists()

    def test_hard_delete_is_409_while_the_job_or_a_child_runs(self, admin_client, templates, user):
        running = JobFactory(creator=user, running=True)
        response = admin_client.delete(f"{JOBS}/{running.pk}/hard")
        assert response.status_code == 409
        assert (response.json()["code"], response.json()["status"]) == ("job_running", "running")
        parent = JobFactory(template=templates["meta"], creator=user, running=True)
        JobFactory(template=templates["train"], creator=user, running=True, parent=parent, child_name="train")
        assert admin_client.delete(f"{JOBS}/{parent.pk}/hard").status_code == 409
        # a grandchild counts too (meta-templates nest)
        outer = JobFactory(template=templates["meta"], creator=user, running=True)
        inner = JobFactory(template=templates["meta"], creator=user, running=True, parent=outer, child_name="inner")
        JobFactory(template=templates["train"], creator=user, running=True, parent=inner, child_name="train")
        Job.objects.filter(pk__in=[outer.pk, inner.pk]).update(status=JobStatus.CREATED)
        assert admin_client.delete(f"{JOBS}/{outer.pk}/hard").status_code == 409
        assert Job.objects.filter(pk__in=[running.pk, parent.pk, outer.pk]).count() == 3

    def test_hard_delete_is_409_while_another_job_uses_its_outputs(self, admin_client, templates, user):
        stage_dataset = DatasetFactory(domain=DomainFactory(name="ic"), is_public=True)
        train = JobFactory(template=templates["train"], creator=user, finished=True)
        model = write(train, "model", NOOP_MODEL)
        predict = job_create(
            template=templates["predict"],
            creator=user,
            body={
                "input_values": {
                    "model": {"value": model.pk, "type": f"JobOutput<{NOOP_MODEL}>"},
                    "dataset": {"value": stage_dataset.pk, "type": "PK<Dataset<Domain<'Image Classification'>>>"},
                }
            },
        )
        response = admin_client.delete(f"{JOBS}/{train.pk}/hard")
        assert response.status_code == 409
        assert response.json()["errors"][0]["message"] == f"used by job {predict.pk} (input_values.model)"
        assert Job.objects.filter(pk=train.pk).exists()
        # The user's job goes first; then the output is free.
        Job.objects.filter(pk=predict.pk).update(status=JobStatus.FINISHED)
        assert admin_client.delete(f"{JOBS}/{predict.pk}/hard").status_code == 200
        assert admin_client.delete(f"{JOBS}/{train.pk}/hard").status_code == 200

    def test_a_refused_hard_delete_leaves_the_files(
        self, admin_client, templates, user, django_capture_on_commit_callbacks
    ):
        parent = JobFactory(template=templates["meta"], creator=user, running=True)
        done = JobFactory(template=templates["train"], creator=user, finished=True, parent=parent, child_name="a")
        JobFactory(template=templates["train"], creator=user, running=True, parent=parent, child_name="b")
        model = write(done, "model", NOOP_MODEL)
        with django_capture_on_commit_callbacks(execute=True):
            assert admin_client.delete(f"{JOBS}/{parent.pk}/hard").status_code == 409
        assert Path(model.file.path).exists()


class TestCancel:
    def test_a_job_finishing_while_being_cancelled_answers_409(self, client, user, monkeypatch):
        from jobtemplates.services.jobs import cancellation

        job = JobFactory(creator=user, running=True)
        real_cancel_tree = cancellation.job_cancel_tree

        def finish_first(*, job_id, reason):
            Job.objects.filter(pk=job_id).update(status=JobStatus.FINISHED)  # the worker got there first
            real_cancel_tree(job_id=job_id, reason=reason)

        monkeypatch.setattr(cancellation, "job_cancel_tree", finish_first)
        response = client.post(f"{JOBS}/{job.pk}/cancel")
        assert response.status_code == 409
        assert (response.json()["code"], response.json()["status"]) == ("illegal_transition", "finished")

    @pytest.mark.parametrize("method", ["post", "delete"])
    def test_the_creator_cancels_a_queued_or_running_job(self, client, user, method):
        for job in (JobFactory(creator=user), JobFactory(creator=user, running=True)):
            response = getattr(client, method)(f"{JOBS}/{job.pk}/cancel")
            assert response.status_code == 200
            body = response.json()
            assert (body["status"], body["is_cancelled"]) == ("cancelled", True)
            assert body["end_time"] is not None

    def test_admins_may_cancel_anyones_job_others_may_not(self, client, admin_client, jobs):
        response = client.post(f"{JOBS}/{jobs['bobs_in_lab'].pk}/cancel")
        assert response.status_code == 403
        assert Job.objects.get(pk=jobs["bobs_in_lab"].pk).status == "created"
        assert client.post(f"{JOBS}/{jobs['bobs'].pk}/cancel").status_code == 404
        assert client.post(f"{JOBS}/{jobs['bobs_hidden'].pk}/cancel").status_code == 404
        assert admin_client.post(f"{JOBS}/{jobs['bobs'].pk}/cancel").json()["status"] == "cancelled"

    def test_cancelling_a_cancelled_job_is_a_200_that_changes_nothing(self, client, user):
        job = JobFactory(creator=user, cancelled=True)
        response = client.delete(f"{JOBS}/{job.pk}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        assert Job.objects.get(pk=job.pk).end_time == job.end_time

    @pytest.mark.parametrize("state", ["finished", "errored"])
    def test_a_finished_or_errored_job_is_a_409_with_its_status(self, client, user, state):
        job = JobFactory(creator=user, **{state: True})
        response = client.post(f"{JOBS}/{job.pk}/cancel")
        assert response.status_code == 409
        body = response.json()
        assert (body["code"], body["status"]) == ("illegal_transition", state)
        assert body["errors"] == [{"path": "status", "code": "illegal_transition", "message": f"{state} → cancelled"}]
        assert Job.objects.get(pk=job.pk).status == state

    def test_cancelling_a_meta_job_cancels_its_unfinished_children(self, client, templates, user):
        parent = JobFactory(template=templates["meta"], creator=user, running=True)
        done = JobFactory(template=templates["train"], creator=user, finished=True, parent=parent, child_name="a")
        queued = JobFactory(template=templates["predict"], creator=user, parent=parent, child_name="b")
        assert client.post(f"{JOBS}/{parent.pk}/cancel").json()["status"] == "cancelled"
        statuses = dict(Job.objects.filter(parent=parent).values_list("pk", "status"))
        assert statuses == {done.pk: "finished", queued.pk: "cancelled"}


class TestAbort:
    @pytest.mark.parametrize("state", ["running", "errored"])
    def test_an_admin_puts_the_job_back_with_its_outputs_removed_and_queues_it(
        self, admin_client, user, state, sent, django_capture_on_commit_callbacks
    ):
        job = JobFactory(creator=user, progress=0.5, **{state: True})
        output = write(job, "log", "BLOB<'log'>")
        path = Path(output.file.path)
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.delete(f"{JOBS}/{job.pk}/abort")
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["outputs"], body["error_reason"], body["start_time"], body["progress"]) == (
            "created",
            [],
            None,
            None,
            0.0,
        )
        job.refresh_from_db()
        assert (job.claim_token, job.worker, job.heartbeat, job.sends) == (None, None, None, 1)
        assert job.attempts == 1  # the attempt it used is kept: the reaper's limit counts it
        assert not JobOutput.objects.filter(job=job).exists() and not path.exists()
        assert sent == [(RUN_JOB_TASK, {"kwargs": {"job_id": job.pk}, "queue": None})]

    def test_abort_is_for_admins(self, client, user):
        job = JobFactory(creator=user, running=True)
        assert client.delete(f"{JOBS}/{job.pk}/abort").status_code == 403
        assert Job.objects.get(pk=job.pk).status == "running"

    @pytest.mark.parametrize("state", ["created", "finished", "cancelled"])
    def test_other_states_are_a_409_with_the_status(self, admin_client, user, state):
        job = JobFactory(creator=user, **({} if state == "created" else {state: True}))
        response = admin_client.delete(f"{JOBS}/{job.pk}/abort")
        assert response.status_code == 409
        assert response.json()["status"] == state

    def test_a_meta_job_cannot_be_aborted(self, admin_client, templates, user):
        parent = JobFactory(template=templates["meta"], creator=user, errored=True)
        response = admin_client.delete(f"{JOBS}/{parent.pk}/abort")
        assert response.status_code == 409
        assert (response.json()["status"], response.json()["errors"][0]["code"]) == ("errored", "meta_job")


# --- outputs -----------------------------------------------------------------------------------------


class TestOutputs:
    @pytest.fixture
    def trained(self, templates, other_user, lab):
        """bob's finished train job in their project (alice sees it) with a model and metrics."""
        job = lab_job(lab, template=templates["train"], creator=other_user, finished=True)
        return job, write(job, "model", NOOP_MODEL, b"weights"), write(job, "metrics", "JSON", {"accuracy": 0.5})

    def test_a_browser_is_told_what_an_output_is(self, client, templates, user):
        """Content type and file name from the output's type: a log shows as text, a CSV as CSV."""
        job = JobFactory(template=templates["train"], creator=user, finished=True)
        write(job, "log", "BLOB<'log'>", b"line 1\nline 2")
        write(job, "predictions", "BLOB<'text/csv'>", b"a,b\n1,2\n")
        write(job, "picture", "BLOB<'png'>", b"\x89PNG\r\n")
        for name, type_string, content_type, extension in (
            ("log", "BLOB<'log'>", "text/plain; charset=utf-8", ".log"),
            ("predictions", "BLOB<'text/csv'>", "text/csv; charset=utf-8", ".csv"),
            ("picture", "BLOB<'png'>", "image/png", ".png"),
        ):
            response = client.get(f"{JOBS}/{job.pk}/outputs/{name}/{quote(type_string, safe='')}")
            assert response.status_code == 200, (name, response.content)
            assert response["Content-Type"] == content_type
            assert f'filename="job{job.pk}-{name}{extension}"' in response["Content-Disposition"]

    def test_bytes_and_info_by_name_and_type(self, client, trained):
        job, model, metrics = trained
        response = client.get(f"{JOBS}/{job.pk}/outputs/model/{NOOP_MODEL}")
        assert response.status_code == 200 and streamed(response) == b"weights"
        assert response["Content-Type"] == "application/octet-stream"
        assert f'filename="job{job.pk}-model.bin"' in response["Content-Disposition"]
        metrics_response = client.get(f"{JOBS}/{job.pk}/outputs/metrics/JSON")
        assert json.loads(streamed(metrics_response)) == {"accuracy": 0.5}
        assert metrics_response["Content-Type"] == "application/json"
        assert f'filename="job{job.pk}-metrics.json"' in metrics_response["Content-Disposition"]
        info = client.get(f"{JOBS}/{job.pk}/outputs/model/{NOOP_MODEL}/info")
        assert info.status_code == 200
        assert {k: info.json()[k] for k in ("pk", "job", "name", "type", "size", "source")} == {
            "pk": model.pk,
            "job": job.pk,
            "name": "model",
            "type": NOOP_MODEL,
            "size": 7,
            "source": None,
        }

    def test_a_type_spelled_otherwise_finds_the_output(self, client, trained):
        job, _, _ = trained
        spelled = "Model< Domain<'Image Classification'>,Framework<'noop','1'> >"
        assert streamed(client.get(f"{JOBS}/{job.pk}/outputs/model/{spelled}")) == b"weights"

    def test_unknown_outputs_are_404(self, client, trained):
        job, _, _ = trained
        for path in ("model/JSON", "nope/JSON", "model/Model<", "metrics/JSON/extra"):
            assert client.get(f"{JOBS}/{job.pk}/outputs/{path}").status_code == 404, path

    def test_outputs_of_invisible_jobs_are_404(self, client, other_user, templates):
        job = JobFactory(template=templates["hidden"], creator=other_user, finished=True)
        write(job, "log", "BLOB<'log'>")
        assert client.get(f"{JOBS}/{job.pk}/outputs/log/BLOB<'log'>").status_code == 404
        assert client.get(f"{JOBS}/{job.pk}/outputs/log/BLOB<'log'>/info").status_code == 404

    def test_delete_is_for_admins(self, client, admin_client, trained):
        job, model, _ = trained
        path = Path(model.file.path)
        assert client.delete(f"{JOBS}/{job.pk}/outputs/model/{NOOP_MODEL}").status_code == 403
        assert admin_client.delete(f"{JOBS}/{job.pk}/outputs/model/{NOOP_MODEL}").status_code == 204
        assert not JobOutput.objects.filter(pk=model.pk).exists() and not path.exists()
        assert client.get(f"{JOBS}/{job.pk}/outputs/model/{NOOP_MODEL}").status_code == 404

    def test_an_output_shown_on_its_parent_is_deleted_there_first(self, admin_client, templates, user):
        parent = JobFactory(template=templates["meta"], creator=user, finished=True)
        child = JobFactory(template=templates["train"], creator=user, finished=True, parent=parent, child_name="train")
        model = write(child, "model", NOOP_MODEL)
        job_outputs_surface(parent=parent, children=[child])
        response = admin_client.delete(f"{JOBS}/{child.pk}/outputs/model/{NOOP_MODEL}")
        assert response.status_code == 409 and response.json()["code"] == "referenced"
        assert admin_client.delete(f"{JOBS}/{parent.pk}/outputs/train:model/{NOOP_MODEL}").status_code == 204
        assert Path(model.file.path).exists()  # the parent's row shares the child's file
        assert admin_client.delete(f"{JOBS}/{child.pk}/outputs/model/{NOOP_MODEL}").status_code == 204
        assert not Path(model.file.path).exists()


class TestJobOutputsResource:
    @pytest.fixture
    def outputs(self, templates, user, other_user, lab):
        mine = write(JobFactory(template=templates["noop"], creator=user, finished=True), "log", "BLOB<'log'>", b"a")
        public = write(
            lab_job(lab, template=templates["noop"], creator=other_user, finished=True), "log", "BLOB<'log'>", b"b"
        )
        hidden = write(
            JobFactory(template=templates["noop"], creator=other_user, finished=True), "log", "BLOB<'log'>", b"c"
        )
        return {"mine": mine, "public": public, "hidden": hidden}

    def test_list_and_retrieve_as_their_jobs(self, client, admin_client, outputs):
        assert pks(client.post(f"{OUTPUTS}/list")) == [outputs["mine"].pk, outputs["public"].pk]
        assert pks(client.get(OUTPUTS)) == [outputs["mine"].pk, outputs["public"].pk]
        assert pks(admin_client.post(f"{OUTPUTS}/list")) == [o.pk for o in outputs.values()]
        assert client.get(f"{OUTPUTS}/{outputs['public'].pk}").json()["job"] == outputs["public"].job_id
        assert client.get(f"{OUTPUTS}/{outputs['hidden'].pk}").status_code == 404

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_download(self, client, outputs, method):
        response = getattr(client, method)(f"{OUTPUTS}/{outputs['mine'].pk}/download")
        assert response.status_code == 200 and streamed(response) == b"a"
        assert getattr(client, method)(f"{OUTPUTS}/{outputs['hidden'].pk}/download").status_code == 404

    def test_filters(self, client, outputs):
        body = {"expressions": [{"type": "exact", "field": "job.pk", "value": outputs["public"].job_id}]}
        assert pks(client.post(f"{OUTPUTS}/list", body, format="json")) == [outputs["public"].pk]
        bad = client.post(
            f"{OUTPUTS}/list", {"expressions": [{"type": "exact", "field": "file", "value": "x"}]}, format="json"
        )
        assert bad.status_code == 400

    def test_outputs_are_read_only_here(self, client, admin_client, outputs):
        assert admin_client.delete(f"{OUTPUTS}/{outputs['mine'].pk}").status_code == 405
        assert client.put(f"{OUTPUTS}/{outputs['mine'].pk}", {}, format="json").status_code == 405


def test_jobs_cannot_be_created_or_replaced_through_jobs(client, admin_client, jobs):
    """Jobs come from create-job on a template; there is no POST /v1/jobs/create."""
    assert admin_client.post(f"{JOBS}/create", {}, format="json").status_code in (404, 405)
    assert admin_client.post(JOBS, {}, format="json").status_code == 405


class TestNotificationSettingsPrivacy:
    """Anyone who sees a job sees its inputs; only its creator and admins see where it notifies."""

    def test_others_do_not_see_notification_settings_or_deliveries(
        self, client, other_client, admin_client, user, templates, lab
    ):
        override = {"actions": {"on_finish": [{"url": "https://hooks.example.com/T0K3N"}]}}
        job = lab_job(lab, template=templates["noop"], creator=user, notification_override=override)
        mine = client.get(f"{JOBS}/{job.pk}").json()
        assert mine["notification_override"] == override
        theirs = other_client.get(f"{JOBS}/{job.pk}").json()
        assert theirs["pk"] == job.pk
        assert "notification_override" not in theirs and "child_notification_overrides" not in theirs
        listed = other_client.post(f"{JOBS}/list", {}, format="json").json()
        assert all("notification_override" not in row for row in listed)
        assert admin_client.get(f"{JOBS}/{job.pk}").json()["notification_override"] == override
        assert client.get(f"{JOBS}/{job.pk}/notifications").status_code == 200
        assert other_client.get(f"{JOBS}/{job.pk}/notifications").status_code == 403
        assert admin_client.get(f"{JOBS}/{job.pk}/notifications").status_code == 200
