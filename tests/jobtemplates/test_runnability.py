"""Runnable, said up front (issue 11, point 4; docs/runners.md): a template says whether a live worker
or node can run its jobs (``runnable``, ``runnable_by``, ``not_runnable_reason``), lists and matching
filter on it in constant queries, create-job answers 409 ``not_runnable`` unless ``queue_anyway``, and
templates carry their routing (``specific.queue``, ``specific.min_hardware_generation``) through import
and export.

The registry is real rows: every database test starts with this process registered as a live worker
(tests/conftest.py, ``TEST_WORKER``); tests about an empty or different fleet change those rows.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import ClassVar

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.errors import Conflict, InvalidRequest
from contracts.models import Hardware
from executors.base import Executor
from jobtemplates.models import Job, JobTemplate, MetaNode
from jobtemplates.services import runnability as shapes_module
from jobtemplates.services.jobs import job_create
from jobtemplates.services.runnability import meta_verdict, runnability, shapes_forget, template_needs
from jobtemplates.services.templates import template_export, template_import
from runners.capabilities import Verdict
from runners.models import Node, Worker
from runners.services import worker_report
from tests.conftest import TEST_WORKER, queues_of_the_test_worker
from tests.factories import DatasetFactory, UserFactory
from tests.jobtemplates.conftest import REPO, meta_body

pytestmark = pytest.mark.django_db

API = "/v1/job-templates"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
DOGS_TRAIN = "image-classification__0010_dogs_dummy_image_class_train.json"
HERE = __name__
# UFDL's templates as the shared fixtures hold them (templates/ufdl is a copy).
SHARED_UFDL_TEMPLATES = REPO.parent / "shared" / "fixtures" / "ufdl" / "templates"


class GpuExport(Executor):
    """An executor that declares its routing: templates naming it default to its queue and GPU need."""

    contract = "Export"
    parameters: ClassVar[dict[str, str]] = {}
    queue = "big-gpus"
    min_hardware_generation = "Volta"

    def run(self, ctx) -> None:  # pragma: no cover - never run here
        pass


class BadRouting(Executor):
    contract = "Export"
    queue = "no spaces allowed"
    min_hardware_generation = "Potato"

    def run(self, ctx) -> None:  # pragma: no cover
        pass


def builtin(name: str) -> dict:
    return json.loads((REPO / "templates" / "builtin" / f"{name}.json").read_text(encoding="utf-8"))


def noop_body(name: str = "noop", **specific) -> dict:
    body = builtin("noop")
    body["name"] = name
    body.pop("version")
    body["specific"].update(specific)
    return body


def verdict_of(template: JobTemplate) -> Verdict:
    return runnability([template])[template.pk]


def represented(client, template: JobTemplate) -> dict:
    response = client.get(f"{API}/{template.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    return {key: body.get(key) for key in ("runnable", "runnable_by", "not_runnable_reason", "runner")}


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


@pytest.fixture
def noop(import_body):
    return import_body(noop_body())


@pytest.fixture
def dogs(import_body, ufdl_bodies):
    return import_body(ufdl_bodies[DOGS_TRAIN])


@pytest.fixture
def no_worker():
    """No Celery worker at all (real workers of earlier e2e tests may have left rows behind)."""
    Worker.objects.all().delete()


@pytest.fixture
def only_the_test_worker():
    Worker.objects.exclude(name=TEST_WORKER).delete()


@pytest.fixture
def worker_like_this(test_worker_capabilities):
    """``worker_like_this(name, **changes)``: a live worker row reporting what the test worker does, changed."""

    def make(name: str, **changes) -> Worker:
        reported = {**test_worker_capabilities, "queues": queues_of_the_test_worker(), **changes}
        return worker_report(name=name, **reported)

    return make


def node(owner, *, last_seen=None, generation: str | None = None, ip: str = "10.0.0.8") -> Node:
    return Node.objects.create(
        owner=owner,
        ip=ip,
        index=0,
        last_seen=timezone.now() if last_seen is None else last_seen,
        hardware_generation=Hardware.objects.get(generation=generation) if generation else None,
    )


# --- workable templates run by Celery workers ----------------------------------------------------------


class TestCeleryTemplates:
    def test_runnable_with_the_live_worker_of_this_environment(self, client, noop):
        assert represented(client, noop) == {
            "runnable": True,
            "runnable_by": "celery",
            "not_runnable_reason": None,
            "runner": "celery",
        }
        body = client.get(f"{API}/{noop.pk}").json()
        assert (body["queue"], body["min_hardware_generation"]) == (None, None)

    def test_not_runnable_without_a_live_worker(self, client, noop, no_worker):
        flags = represented(client, noop)
        assert (flags["runnable"], flags["runnable_by"], flags["runner"]) == (False, "none", "celery")
        assert flags["not_runnable_reason"].startswith("no live Celery worker")

    @pytest.mark.parametrize("change", ["stale", "stopped"])
    def test_a_stale_or_stopped_worker_does_not_count(self, client, noop, change, only_the_test_worker):
        fields = {"last_seen": ago(3600)} if change == "stale" else {"stopped_at": timezone.now()}
        Worker.objects.filter(name=TEST_WORKER).update(**fields)
        assert represented(client, noop)["not_runnable_reason"].startswith("no live Celery worker")

    def test_missing_required_packages(self, client, import_body, no_worker, worker_like_this):
        template = import_body(noop_body("needs_packaging", required_packages="packaging>=1"))
        worker_like_this("bare@host", distributions={"Django": "5.2"})
        flags = represented(client, template)
        assert flags["runnable"] is False
        assert flags["not_runnable_reason"] == (
            "no live worker can run executors.builtin.testing.NoOp: bare@host lacks required packages: packaging>=1"
        )
        worker_like_this("full@host")
        assert represented(client, template)["runnable"] is True

    def test_a_worker_that_cannot_import_the_class(self, client, noop, no_worker, worker_like_this):
        worker_like_this("narrow@host", executor_classes=["executors.builtin.sklearn.ImageClassificationTrain"])
        reason = represented(client, noop)["not_runnable_reason"]
        assert reason.endswith("narrow@host cannot import executors.builtin.testing.NoOp")

    def test_a_worker_not_consuming_the_templates_queue(self, client, import_body, worker_like_this):
        template = import_body(noop_body("noop_special", queue="special"))
        flags = represented(client, template)
        assert flags["runnable"] is False
        assert f"{TEST_WORKER} does not consume queue 'special'" in flags["not_runnable_reason"]
        assert client.get(f"{API}/{template.pk}").json()["queue"] == "special"
        worker_like_this("special@host", queues=["special"])
        assert represented(client, template)["runnable"] is True

    def test_one_fleet_judges_each_distinct_need_on_its_own(self, import_body):
        """Verdicts are kept per fleet by what they depend on (class, packages, queue, GPU): templates that
        differ only in their queue, judged against one fleet, each get their own."""
        from runners.capabilities import Fleet

        plain = import_body(noop_body("noop_plain"))
        special = import_body(noop_body("noop_special", queue="special"))
        again = import_body(noop_body("noop_plain_again"))
        fleet = Fleet.load()
        verdicts = runnability([plain, special, again], fleet=fleet)
        assert (verdicts[plain.pk].runnable, verdicts[special.pk].runnable, verdicts[again.pk].runnable) == (
            True,
            False,
            True,
        )
        assert "does not consume queue 'special'" in verdicts[special.pk].reason
        assert len(fleet.verdict_memo) == 2
        assert runnability([special], fleet=fleet)[special.pk] == verdicts[special.pk]

    def test_a_gpu_need_takes_a_gpu_queue_worker_with_a_gpu_of_enough_compute(
        self, client, import_body, worker_like_this, settings
    ):
        template = import_body(noop_body("noop_gpu", min_hardware_generation="Pascal"))
        assert template_needs(template).queue == settings.CELERY_GPU_QUEUE
        assert "does not consume queue 'gpu'" in represented(client, template)["not_runnable_reason"]
        worker_like_this("cpu@host", queues=["gpu"], gpus=[])
        assert (
            "cpu@host has no GPU of generation Pascal or later" in represented(client, template)["not_runnable_reason"]
        )
        worker_like_this("old@host", queues=["gpu"], gpus=[{"index": 0, "model": "GTX 980", "compute": 5.2}])
        assert "old@host has no GPU of generation Pascal" in represented(client, template)["not_runnable_reason"]
        worker_like_this("new@host", queues=["gpu"], gpus=[{"index": 0, "model": "T4", "compute": 7.5}])
        assert represented(client, template) == {
            "runnable": True,
            "runnable_by": "celery",
            "not_runnable_reason": None,
            "runner": "celery",
        }

    def test_a_template_no_runner_handles(self, client, import_body, settings):
        settings.EXECUTOR_RUNNERS = {"executors.builtin.testing": "none"}
        template = import_body(noop_body("noop_nobody"))
        flags = represented(client, template)
        assert (flags["runnable"], flags["runnable_by"], flags["runner"]) == (False, "none", "none")
        assert flags["not_runnable_reason"].startswith("no runner handles executors.builtin.testing.NoOp")


# --- workable templates run by UFDL nodes ----------------------------------------------------------


class TestNodeTemplates:
    def test_no_node(self, client, dogs):
        assert represented(client, dogs) == {
            "runnable": False,
            "runnable_by": "none",
            "not_runnable_reason": "no job-launcher node is registered (by a user who may act as a node)",
            "runner": "node",
        }

    def test_a_stale_node(self, client, dogs, admin_user, settings):
        node(admin_user, last_seen=ago(settings.NODE_STALE_SECONDS + 60))
        reason = represented(client, dogs)["not_runnable_reason"]
        assert reason == f"no job-launcher node has been seen in the last {settings.NODE_STALE_SECONDS:g} s"

    def test_a_live_node(self, client, dogs, admin_user):
        node(admin_user)
        assert represented(client, dogs) == {
            "runnable": True,
            "runnable_by": "node",
            "not_runnable_reason": None,
            "runner": "node",
        }

    def test_a_node_of_a_user_who_may_not_act_as_a_node_does_not_count(self, client, dogs):
        owner = UserFactory(username="someone")
        node(owner)
        assert represented(client, dogs)["runnable"] is False
        owner.user_permissions.add(Permission.objects.get(codename="act_as_node", content_type__app_label="runners"))
        assert represented(client, dogs)["runnable_by"] == "node"

    def test_a_node_template_needing_a_gpu_generation(self, client, import_body, ufdl_bodies, admin_user):
        body = copy.deepcopy(ufdl_bodies[DOGS_TRAIN])
        body["specific"]["min_hardware_generation"] = "Turing"
        body.pop("version")
        template = import_body(body)
        node(admin_user, generation="Pascal")
        reason = represented(client, template)["not_runnable_reason"]
        assert reason == "no live node has hardware generation Turing or later"
        node(admin_user, generation="Ampere", ip="10.0.0.9")
        assert represented(client, template)["runnable"] is True

    def test_no_celery_worker_is_needed(self, client, dogs, admin_user, no_worker):
        node(admin_user)
        assert represented(client, dogs)["runnable"] is True


# --- meta-templates --------------------------------------------------------------------------------


@pytest.fixture
def sklearn(import_body):
    """UFDL-free templates: the scikit-learn train and predict, and their train → predict meta-template."""
    for name in ("sklearn_image_class_train", "sklearn_image_class_predict", "train_and_predict"):
        import_body(builtin(name))
    return JobTemplate.objects.get(name="train_and_predict")


class TestMetaTemplates:
    def test_runnable_when_every_child_is(self, client, train_predict, import_body, admin_user):
        meta = import_body(meta_body())
        node(admin_user)
        assert represented(client, meta) == {
            "runnable": True,
            "runnable_by": "node",
            "not_runnable_reason": None,
            "runner": "meta",
        }

    def test_the_reason_names_the_first_child_that_cannot_run(self, client, train_predict, import_body):
        meta = import_body(meta_body())
        assert represented(client, meta) == {
            "runnable": False,
            "runnable_by": "none",
            "not_runnable_reason": "child 'train' (dogs_dummy_image_class_train v1): no job-launcher node is "
            "registered (by a user who may act as a node)",
            "runner": "meta",
        }

    def test_celery_children(self, client, sklearn, no_worker):
        reason = represented(client, sklearn)["not_runnable_reason"]
        assert reason.startswith("child 'train' (sklearn_image_class_train v2): no live Celery worker")

    def test_mixed_children(self, client, sklearn, dogs, import_body, admin_user):
        mixed = import_body(
            {
                "name": "mixed",
                "licence": "Apache 2.0",
                "scope": "public",
                "specific": {
                    "nodes": {"a": {"name": "sklearn_image_class_train"}, "b": {"name": dogs.name}},
                    "dependencies": [],
                },
            }
        )
        flags = represented(client, mixed)
        assert flags["not_runnable_reason"].startswith("child 'b' (dogs_dummy_image_class_train v1): no job-launcher")
        node(admin_user)
        assert represented(client, mixed)["runnable_by"] == "mixed"

    def test_a_meta_template_of_meta_templates(self, client, sklearn, import_body, no_worker):
        nested = import_body(
            {
                "name": "nested",
                "licence": "Apache 2.0",
                "scope": "public",
                "specific": {"nodes": {"inner": {"name": "train_and_predict"}}, "dependencies": []},
            }
        )
        reason = represented(client, nested)["not_runnable_reason"]
        assert reason.startswith("child 'inner:train' (sklearn_image_class_train v2): no live Celery worker")

    def test_the_combined_verdict(self, noop):
        runnable, refused = Verdict(True, "celery"), Verdict(False, "node", "no node")
        assert meta_verdict([("a", noop, runnable), ("b", noop, Verdict(True, "node"))]) == Verdict(True, "mixed")
        assert meta_verdict([("a", noop, runnable), ("b", noop, refused)]) == Verdict(
            False, "mixed", "child 'b' (noop v1): no node"
        )
        assert meta_verdict([]).runnable is False


# --- ?runnable on lists and matching, in constant queries ----------------------------------------------


@pytest.fixture
def mix(train_predict, noop):
    """noop (runnable here), dogs train and predict (node-run; no node): name → pk."""
    train, predict = train_predict
    return {"noop": noop.pk, "train": train.pk, "predict": predict.pk}


class TestRunnableFilter:
    def names(self, response) -> list[str]:
        assert response.status_code == 200, response.content
        body = response.json()
        return sorted(t["name"] for t in (body["results"] if isinstance(body, dict) else body))

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("", ["dogs_dummy_image_class_predict", "dogs_dummy_image_class_train", "noop"]),
            ("?runnable=true", ["noop"]),
            ("?runnable=false", ["dogs_dummy_image_class_predict", "dogs_dummy_image_class_train"]),
        ],
    )
    def test_get_and_post_list(self, client, mix, query, expected):
        assert self.names(client.get(f"{API}{query}")) == expected
        assert self.names(client.post(f"{API}/list{query}", {}, format="json")) == expected

    def test_the_filter_counts_before_pagination(self, client, mix):
        body = client.get(f"{API}?runnable=false&page_size=1").json()
        assert body["count"] == 2 and len(body["results"]) == 1

    def test_it_combines_with_the_filter_spec(self, client, mix):
        spec = {"expressions": [{"type": "contains", "field": "name", "sub_string": "train"}]}
        assert self.names(client.post(f"{API}/list?runnable=false", spec, format="json")) == [
            "dogs_dummy_image_class_train"
        ]

    def test_matching(self, client, mix, admin_user):
        path = f"{API}/get-all-matching-templates/Train?dataset={IC_DATASET}"
        assert self.names(client.get(path)) == ["dogs_dummy_image_class_train"]
        assert self.names(client.get(path + "&runnable=true")) == []
        node(admin_user)
        assert self.names(client.get(path + "&runnable=true")) == ["dogs_dummy_image_class_train"]

    @pytest.mark.parametrize("path", [API, f"{API}/list", f"{API}/get-all-matching-templates/Train"])
    def test_a_bad_value_is_a_400(self, client, mix, path):
        method = client.post if path.endswith("/list") else client.get
        response = method(f"{path}?runnable=maybe")
        assert response.status_code == 400
        assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [("query.runnable", "wrong_type")]

    def test_constant_queries_for_1_and_20_templates(self, client, import_body, train_predict):
        reads = [
            ("get", f"{API}?page_size=100"),
            ("get", f"{API}?runnable=true&page_size=100"),
            ("post", f"{API}/list"),
            ("post", f"{API}/list?runnable=false"),
            ("get", f"{API}/get-all-matching-templates/Train?runnable=false&dataset={IC_DATASET}"),
        ]

        def count() -> list[int]:
            counts = []
            for method, path in reads:
                with CaptureQueriesContext(connection) as captured:
                    assert getattr(client, method)(path).status_code == 200
                counts.append(len(captured))
            return counts

        import_body(meta_body())
        import_body(noop_body("noop_first"))  # something runnable: an empty filter would skip the list's queries
        few = count()
        for index in range(20):
            import_body(noop_body(f"noop_{index}", queue="special" if index % 2 else "celery"))
            if index % 5 == 0:
                import_body(meta_body(f"meta_{index}"))
        assert JobTemplate.objects.count() >= 20
        assert count() == few

    def test_runnability_of_nested_meta_templates_is_a_query_per_level_then_none(self, sklearn, import_body):
        for index in range(3):
            import_body(nested_body(f"nested_{index}"))
        templates = list(JobTemplate.objects.filter(name__startswith="nested_"))  # nodes not prefetched
        shapes_forget()
        with CaptureQueriesContext(connection) as captured:
            verdicts = runnability(templates)
        assert len(verdicts) == len(templates) and all(v.runnable for v in verdicts.values())
        # The fleet (4: no node is live), the nested templates' nodes (1), their meta child's nodes (1).
        assert len(captured) == 6
        # Their shapes are kept: the next verdicts read the fleet only, and say the same.
        with CaptureQueriesContext(connection) as captured:
            assert runnability(templates) == verdicts
        assert len(captured) == 4
        # A new meta-template over kept ones: its own level only (1), its child's shape is kept.
        outer = import_body(
            {**nested_body("outer"), "specific": {"nodes": {"n": {"name": "nested_0"}}, "dependencies": []}}
        )
        with CaptureQueriesContext(connection) as captured:
            assert runnability([outer])[outer.pk].runnable
        assert len(captured) == 5


def nested_body(name: str) -> dict:
    return {
        "name": name,
        "licence": "Apache 2.0",
        "scope": "public",
        "specific": {"nodes": {"inner": {"name": "train_and_predict"}}, "dependencies": []},
    }


class TestKeptShapes:
    """A meta-template's shape (its workable descendants' paths and needs) is kept per process: never
    stale, since a template version is immutable, and dropped with the pk it was kept for."""

    def test_the_kept_shape_answers_as_the_nodes_would(self, client, sklearn, no_worker):
        shapes_forget()
        cold = represented(client, sklearn)
        assert sklearn.pk in kept_shape_pks()
        assert represented(client, sklearn) == cold
        assert cold["not_runnable_reason"].startswith("child 'train' (sklearn_image_class_train v2): no live Celery")

    def test_a_hard_delete_drops_the_shape(self, sklearn, import_body, admin_client):
        nested = import_body(nested_body("doomed"))
        runnability([nested])
        assert nested.pk in kept_shape_pks()
        assert admin_client.delete(f"{API}/{nested.pk}/hard").status_code in (200, 204)
        assert not JobTemplate.objects.filter(pk=nested.pk).exists()
        assert nested.pk not in kept_shape_pks()

    def test_a_template_made_again_under_a_kept_pk_is_read_again(self, sklearn, import_body, noop):
        """A pk given again (a restored database; SQLite after a rolled-back transaction): its new nodes count."""
        nested = import_body(nested_body("again"))
        assert runnability([nested])[nested.pk].runnable
        pk, licence = nested.pk, nested.licence
        JobTemplate.objects.filter(pk=pk).delete()
        assert pk not in kept_shape_pks()
        runnability([sklearn])  # something else is kept meanwhile
        # Kept anew by hand, as if the delete had happened in another process.
        shapes_module._keep_shapes({pk: (("stale", shapes_module.Workable(noop)),)})
        again = JobTemplate.objects.create(pk=pk, kind="meta", name="again", version=1, licence=licence)
        assert pk not in kept_shape_pks()
        assert runnability([again])[pk] == Verdict(False, "none", "it has no workable templates to run")
        MetaNode.objects.create(template=again, name="only", position=0, child=noop)
        assert runnability([again])[pk] == runnability([noop])[noop.pk]

    def test_the_kept_shapes_are_bounded(self, sklearn, import_body, monkeypatch):
        monkeypatch.setattr(shapes_module, "SHAPE_CACHE_SIZE", 2)
        shapes_forget()
        metas = [import_body(nested_body(f"bounded_{index}")) for index in range(3)]
        for meta in metas:
            runnability([meta])
            assert len(kept_shape_pks()) <= 2
        assert all(runnability(metas)[meta.pk].runnable for meta in metas)


def kept_shape_pks() -> set[int]:
    return set(shapes_module._shapes)


# --- create-job ------------------------------------------------------------------------------------


@pytest.fixture
def dataset(catalogue, admin_user):
    from contracts.models import Domain, Licence

    return DatasetFactory(
        name="dogs",
        domain=Domain.objects.get(name="ic"),
        licence=Licence.objects.get(name="Apache 2.0"),
        creator=admin_user,
        is_public=True,
    )


def dogs_job_body(dataset, **extra) -> dict:
    return {
        "input_values": {"dataset": {"value": dataset.pk, "type": IC_DATASET}},
        "parameter_values": {"frontend_metadata": {"value": {}, "type": "JSON"}},
        **extra,
    }


class TestCreateJob:
    def test_409_when_nothing_can_run_the_template(self, client, dogs, dataset):
        response = client.post(f"{API}/{dogs.pk}/create-job", dogs_job_body(dataset), format="json")
        assert response.status_code == 409
        reason = "no job-launcher node is registered (by a user who may act as a node)"
        assert response.json() == {
            "detail": f'Nothing can run dogs_dummy_image_class_train v1 now: {reason}. Send "queue_anyway": true '
            "to create the job anyway; it waits until a worker or node that can run it is there.",
            "code": "not_runnable",
            "errors": [],
            "runner": "node",
            "runnable_by": "none",
            "reason": reason,
        }
        assert not Job.objects.exists()

    def test_a_dry_run_is_checked_alike(self, client, dogs, dataset):
        response = client.post(f"{API}/{dogs.pk}/create-job?dry_run=true", dogs_job_body(dataset), format="json")
        assert response.status_code == 409 and response.json()["code"] == "not_runnable"
        anyway = dogs_job_body(dataset, queue_anyway=True)
        assert client.post(f"{API}/{dogs.pk}/create-job?dry_run=true", anyway, format="json").status_code == 200
        assert not Job.objects.exists()

    def test_the_request_is_checked_first(self, client, dogs):
        response = client.post(f"{API}/{dogs.pk}/create-job", {"input_values": {}}, format="json")
        assert response.status_code == 422

    def test_queue_anyway_creates_a_node_job_that_waits(
        self, client, dogs, dataset, django_capture_on_commit_callbacks, monkeypatch
    ):
        from config.celery import app as celery_app

        sent = []
        monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: sent.append(args))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"{API}/{dogs.pk}/create-job", dogs_job_body(dataset, queue_anyway=True), format="json"
            )
        assert response.status_code == 200, response.content
        job = Job.objects.get(pk=response.json()["pk"])
        assert (job.runner, job.status, job.node, job.enqueued_time, job.sends) == ("node", "created", None, None, 0)
        assert sent == []

    def test_queue_anyway_for_a_celery_template_without_workers_sends_it(
        self, client, noop, no_worker, django_capture_on_commit_callbacks, monkeypatch
    ):
        from config.celery import app as celery_app

        sent = []
        monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: sent.append(args))
        body = {"input_values": {}}
        assert client.post(f"{API}/{noop.pk}/create-job", body, format="json").status_code == 409
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"{API}/{noop.pk}/create-job", {**body, "queue_anyway": True}, format="json")
        job = Job.objects.get(pk=response.json()["pk"])
        # It is sent; with no worker it waits in the broker, and the reaper sends it again if it is lost.
        assert (job.runner, job.status, job.sends) == ("celery", "created", 1) and len(sent) == 1

    @pytest.mark.parametrize("value", ["yes", 1, None, {}])
    def test_queue_anyway_must_be_a_boolean(self, client, noop, value):
        response = client.post(
            f"{API}/{noop.pk}/create-job", {"input_values": {}, "queue_anyway": value}, format="json"
        )
        assert response.status_code == 400
        assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [("queue_anyway", "wrong_type")]

    def test_a_meta_template_with_a_child_nothing_runs(self, train_predict, import_body, dataset, admin_user):
        meta = import_body(meta_body())
        dataset_value = {"value": dataset.pk, "type": IC_DATASET}
        body = {
            "input_values": {"train:dataset": dataset_value, "predict:dataset": dataset_value},
            "parameter_values": {
                "train:frontend_metadata": {"value": 1, "type": "JSON"},
                "predict:frontend_metadata": {"value": 2, "type": "JSON"},
            },
        }
        with pytest.raises(Conflict) as caught:
            job_create(template=meta, body=body, creator=admin_user)
        assert caught.value.code == "not_runnable"
        assert caught.value.extra["reason"].startswith("child 'train' (dogs_dummy_image_class_train v1)")

    def test_a_runnable_template_creates_as_before(self, client, noop):
        response = client.post(f"{API}/{noop.pk}/create-job", {"input_values": {}}, format="json")
        assert response.status_code == 200, response.content


# --- routing fields at import and export ----------------------------------------------------------


def import_problems(body, admin_user) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as caught:
        template_import(data=body, creator=admin_user)
    return sorted((problem.path, problem.code) for problem in caught.value.problems)


class TestRoutingAtImport:
    def test_good_values_are_stored_represented_and_exported(self, catalogue, admin_user, admin_client):
        template = template_import(
            data=noop_body("routed", queue="gpu.big-1", min_hardware_generation="Pascal"), creator=admin_user
        ).template
        assert (template.queue, template.min_hardware_generation) == ("gpu.big-1", "Pascal")
        body = admin_client.get(f"{API}/{template.pk}").json()
        assert (body["queue"], body["min_hardware_generation"]) == ("gpu.big-1", "Pascal")
        exported = template_export(template=template)
        assert (exported["specific"]["queue"], exported["specific"]["min_hardware_generation"]) == (
            "gpu.big-1",
            "Pascal",
        )

    @pytest.mark.parametrize(
        ("specific", "expected"),
        [
            ({"queue": ""}, [("specific.queue", "invalid_value")]),
            ({"queue": "two words"}, [("specific.queue", "invalid_value")]),
            ({"queue": "q" * 101}, [("specific.queue", "invalid_value")]),
            ({"queue": 3}, [("specific.queue", "wrong_type")]),
            ({"queue": None}, [("specific.queue", "wrong_type")]),
            (
                {"min_hardware_generation": "Potato"},
                [("specific.min_hardware_generation", "unknown_hardware_generation")],
            ),
            ({"min_hardware_generation": ""}, [("specific.min_hardware_generation", "invalid_value")]),
            ({"min_hardware_generation": 7}, [("specific.min_hardware_generation", "wrong_type")]),
        ],
    )
    def test_bad_values_are_reported_with_their_path(self, catalogue, admin_user, specific, expected):
        assert import_problems(noop_body("bad", **specific), admin_user) == expected

    def test_all_problems_at_once(self, catalogue, admin_user):
        body = noop_body("bad", queue="a/b", min_hardware_generation="Potato")
        body["specific"]["parameters"]["sleep"]["types"] = ["NoSuchType<"]
        body["scope"] = "everyone"
        assert import_problems(body, admin_user) == [
            ("scope", "invalid_choice"),
            ("specific.min_hardware_generation", "unknown_hardware_generation"),
            ("specific.parameters.sleep.types[0]", "unparseable_type"),
            ("specific.queue", "invalid_value"),
        ]

    def test_a_meta_template_has_no_routing_of_its_own(self, train_predict, admin_user):
        body = meta_body(queue="special")
        assert ("specific.queue", "unknown_key") in import_problems(body, admin_user)

    def test_export_round_trips_and_identical_reimport_is_idempotent(self, catalogue, admin_user):
        first = template_import(data=noop_body("routed", queue="special"), creator=admin_user).template
        exported = template_export(template=first)
        assert exported["specific"]["queue"] == "special" and "min_hardware_generation" not in exported["specific"]
        same = template_import(data=copy.deepcopy(exported), creator=admin_user)
        assert same.template.pk == first.pk and not same.created
        again = copy.deepcopy(exported)
        again.pop("version")
        second = template_import(data=again, creator=admin_user).template
        assert second.version == first.version + 1 and second.queue == "special"
        assert {**template_export(template=second), "version": exported["version"]} == exported

    def test_a_reimport_differing_only_in_queue_is_a_conflict_or_a_new_version(self, catalogue, admin_user):
        first = template_import(data=noop_body("routed", queue="special"), creator=admin_user).template
        changed = template_export(template=first)
        changed["specific"]["queue"] = "other"
        with pytest.raises(Conflict) as caught:
            template_import(data=copy.deepcopy(changed), creator=admin_user)
        assert caught.value.code == "duplicate_version"
        assert [problem.path for problem in caught.value.problems] == ["specific.queue"]
        changed.pop("version")
        assert template_import(data=changed, creator=admin_user).template.version == 2
        unset = template_export(template=first)
        del unset["specific"]["queue"]
        with pytest.raises(Conflict):
            template_import(data=unset, creator=admin_user)

    def test_unset_routing_is_left_out_of_the_export(self, noop):
        exported = template_export(template=noop)
        assert "queue" not in exported["specific"] and "min_hardware_generation" not in exported["specific"]

    def test_the_executor_class_declares_the_defaults(self, catalogue, admin_user, settings):
        settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin", HERE]
        body = noop_body("gpu_export", executor_class=f"{HERE}.GpuExport", parameters={})
        template = template_import(data=copy.deepcopy(body), creator=admin_user).template
        assert (template.queue, template.min_hardware_generation) == ("big-gpus", "Volta")
        # The body's own values win; an identical re-import stays idempotent.
        own = template_import(
            data={**copy.deepcopy(body), "name": "own", "specific": {**body["specific"], "queue": "mine"}},
            creator=admin_user,
        ).template
        assert (own.queue, own.min_hardware_generation) == ("mine", "Volta")
        again = template_import(data={**copy.deepcopy(body), "version": template.version}, creator=admin_user)
        assert again.template.pk == template.pk and not again.created

    def test_bad_class_defaults_are_problems_of_the_executor_class(self, catalogue, admin_user, settings):
        settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin", HERE]
        body = noop_body("bad_routing", executor_class=f"{HERE}.BadRouting", parameters={})
        assert import_problems(body, admin_user) == [
            ("specific.executor_class", "invalid_value"),
            ("specific.executor_class", "unknown_hardware_generation"),
        ]

    def test_a_class_not_importable_here_gives_no_defaults(self, dogs):
        assert (dogs.queue, dogs.min_hardware_generation) == ("", "")

    def test_validate_answers_the_routing_and_the_verdict(self, catalogue, admin_client):
        response = admin_client.post(f"{API}/validate", noop_body("routed", queue="special"), format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["pk"], body["queue"], body["runner"], body["runnable"]) == (None, "special", "celery", False)
        assert "does not consume queue 'special'" in body["not_runnable_reason"]


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "templates").glob("*/*.json")) + sorted(SHARED_UFDL_TEMPLATES.glob("*.json")),
    ids=lambda path: f"{path.parent.name}/{path.stem}",
)
def test_every_shipped_template_has_a_verdict(path, catalogue, admin_client):
    """Shipped templates import (meta-templates after their children) and say whether they can run."""
    body = json.loads(path.read_text(encoding="utf-8"))
    for child in body["specific"].get("nodes", {}).values():
        admin_client.post(f"{API}/import", builtin(child["name"]), format="json")
    response = admin_client.post(f"{API}/import", body, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert isinstance(answer["runnable"], bool) and answer["runnable_by"] in {"celery", "node", "mixed", "none"}
    assert (answer["not_runnable_reason"] is None) == answer["runnable"]
    if path.parent.name == "builtin" and not body["specific"].get("nodes"):
        assert answer["runner"] == "celery"
    elif "joblauncher" in json.dumps(body):
        assert answer["runner"] == "node" and answer["runnable"] is False  # no node in this test
