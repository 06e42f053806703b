"""``POST /v1/job-templates/{pk}/create-job`` (http-api.md §3.4): every check with its path and code,
all problems in one answer, 400 (a type string that does not parse) against 422 (everything else),
``?dry_run=true``, 409 on a soft-deleted template, what the job stores, visibility of the rows values
name, meta-templates, and enqueueing after commit with the job id only.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from jobtemplates.models import Job, JobOutput, JobStatus, JobTemplate
from jobtemplates.services.jobs import job_output_write
from jobtemplates.services.jobs.enqueueing import RUN_JOB_TASK
from jobtemplates.services.templates import template_export
from tests.factories import DatasetFactory, DomainFactory, JobFactory, LicenceFactory, ProjectFactory
from tests.jobtemplates.conftest import meta_body
from workspaces.models import Dataset

pytestmark = pytest.mark.django_db

API = "/v1/job-templates"
IC = "Domain<'Image Classification'>"
IC_DATASET = f"PK<Dataset<{IC}>>"
IC_DATASET_NAME = f"Name<Dataset<{IC}>>"
DOGS_MODEL = f"Model<{IC}, Framework<'dogs_dummy', '1'>>"
OTHER_MODEL = f"Model<{IC}, Framework<'other', '1'>>"


# --- data ------------------------------------------------------------------------------------------


def write_output(job: Job, name: str, output_type: str, data=b"bytes") -> JobOutput:
    return job_output_write(job=job, name=name, output_type=output_type, data=data)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def templates(train_predict, import_body, live_node):
    """dogs train and predict (UFDL), a workable template with every parameter flavour, and the
    dogs train → predict meta-template. A node is online: UFDL's templates are node-run, and these
    tests are about the request, not about who runs it (tests/jobtemplates/test_runnability.py)."""
    train, predict = train_predict
    shapes = import_body(
        {
            "name": "shapes",
            "licence": "Apache 2.0",
            "scope": "public",
            "specific": {
                "job_type": "Export",
                "executor_class": "executors.builtin.testing.NoOp",
                "required_packages": "",
                "parameters": {
                    "sleep": {"types": ["float"], "default": 0.0, "help": "seconds"},
                    "steps": {"types": ["int"], "default": 1, "const": True, "help": "fixed"},
                    "tags": {"types": ["Array<str>", "str"], "help": "required, no default"},
                    "note": {
                        "types": ["str", "Nothing"],
                        "default": None,
                        "default_type": "Nothing",
                        "help": "optional",
                    },
                },
            },
        }
    )
    meta = import_body(meta_body())
    return {"train": train, "predict": predict, "shapes": shapes, "meta": meta}


@pytest.fixture
def datasets(catalogue, admin_user, user, other_user):
    """Image-classification datasets: public, alice's private one, bob's private one; and a public
    object-detection one (the wrong domain for the dogs templates)."""
    licence = LicenceFactory(name="Apache 2.0")
    ic, od = DomainFactory(name="ic"), DomainFactory(name="od")
    return {
        "public": DatasetFactory(name="public_ic", domain=ic, licence=licence, creator=admin_user, is_public=True),
        "mine": DatasetFactory(name="alices", domain=ic, licence=licence, creator=user),
        "bobs": DatasetFactory(name="bobs", domain=ic, licence=licence, creator=other_user),
        "od": DatasetFactory(name="public_od", domain=od, licence=licence, creator=admin_user, is_public=True),
    }


def dataset_value(dataset: Dataset, type_string: str = IC_DATASET) -> dict:
    return {"value": dataset.pk, "type": type_string}


def train_body(dataset: Dataset, **extra) -> dict:
    return {
        "input_values": {"dataset": dataset_value(dataset)},
        "parameter_values": {"frontend_metadata": {"value": {"a": 1}, "type": "JSON"}},
        **extra,
    }


def create_job(client, template: JobTemplate, body, **params):
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return client.post(f"{API}/{template.pk}/create-job{query}", body, format="json")


def problems(response) -> list[tuple[str, str]]:
    return [(e["path"], e["code"]) for e in response.json()["errors"]]


# --- the happy path and what is stored --------------------------------------------------------------


class TestCreated:
    def test_a_valid_body_answers_200_with_the_created_job(self, client, user, templates, datasets):
        response = create_job(client, templates["train"], train_body(datasets["public"], description="first try"))
        assert response.status_code == 200, response.json()
        body = response.json()
        job = Job.objects.get(pk=body["pk"])
        assert (job.template, job.creator, job.status, job.description) == (
            templates["train"],
            user,
            JobStatus.CREATED,
            "first try",
        )
        assert body["status"] == "created" and body["is_cancelled"] is False and body["outputs"] == []
        assert body["template"] == {"pk": templates["train"].pk, "name": "dogs_dummy_image_class_train", "version": 1}
        assert body["creator"] == user.pk and body["creation_time"] is not None

    def test_type_strings_are_stored_canonical_and_values_as_given(self, client, templates, datasets):
        response = create_job(
            client,
            templates["shapes"],
            {
                "input_values": {},
                "parameter_values": {
                    "tags": {"value": ["a", "b"], "type": "Array< str >"},
                    "note": {"value": "hi", "type": " str"},
                },
            },
        )
        assert response.status_code == 200, response.json()
        job = Job.objects.get(pk=response.json()["pk"])
        assert job.parameter_values == {
            "tags": {"value": ["a", "b"], "type": "Array<str, int>"},
            "note": {"value": "hi", "type": "str"},
        }
        assert response.json()["parameter_values"] == job.parameter_values
        spaced = create_job(
            client,
            templates["train"],
            {
                "input_values": {
                    "dataset": dataset_value(datasets["public"], "PK< Dataset<Domain< 'Image Classification' >>>")
                },
                "parameter_values": {"frontend_metadata": {"value": None, "type": "JSON"}},
            },
        )
        assert spaced.status_code == 200, spaced.json()
        assert Job.objects.get(pk=spaced.json()["pk"]).input_values == {"dataset": dataset_value(datasets["public"])}

    def test_resolved_parameters_hold_every_parameter_and_parameter_values_only_the_given(self, client, templates):
        response = create_job(
            client,
            templates["shapes"],
            {"input_values": {}, "parameter_values": {"tags": {"value": "one", "type": "str"}}},
        )
        assert response.status_code == 200, response.json()
        job = Job.objects.get(pk=response.json()["pk"])
        assert job.parameter_values == {"tags": {"value": "one", "type": "str"}}
        assert job.resolved_parameters == {
            "sleep": {"value": 0.0, "type": "float"},
            "steps": {"value": 1, "type": "int"},
            "tags": {"value": "one", "type": "str"},
            "note": {"value": None, "type": "Nothing"},
        }
        assert response.json()["resolved_parameters"] == job.resolved_parameters

    def test_parameter_values_is_empty_when_omitted(self, client, train_predict, import_body):
        noop = import_body(
            {
                "name": "bare",
                "licence": "Apache 2.0",
                "specific": {
                    "job_type": "Export",
                    "executor_class": "executors.builtin.testing.NoOp",
                    "required_packages": "",
                    "parameters": {
                        "sleep": {"types": ["float"], "default": 0.5, "help": "s"},
                        "steps": {"types": ["int"], "default": 2, "help": "n"},
                    },
                },
            }
        )
        response = create_job(client, noop, {"input_values": {}})
        assert response.status_code == 200, response.json()
        job = Job.objects.get(pk=response.json()["pk"])
        assert job.parameter_values == {} and response.json()["parameter_values"] == {}
        assert job.resolved_parameters == {
            "sleep": {"value": 0.5, "type": "float"},
            "steps": {"value": 2, "type": "int"},
        }

    def test_a_name_value_names_the_dataset_by_name_and_version(self, client, user, templates, datasets):
        response = create_job(
            client,
            templates["predict"],
            {
                "input_values": {
                    "dataset": {"value": "public_ic v1", "type": IC_DATASET_NAME},
                    "model": {"value": self._model(templates, user).pk, "type": f"JobOutput<{DOGS_MODEL}>"},
                },
                "parameter_values": {"frontend_metadata": {"value": [], "type": "JSON"}},
            },
        )
        assert response.status_code == 200, response.json()

    @staticmethod
    def _model(templates, creator) -> JobOutput:
        """A model output of ``creator``'s finished train job (a job others cannot see)."""
        return write_output(
            JobFactory(template=templates["train"], finished=True, creator=creator), "model", DOGS_MODEL
        )


class TestDryRun:
    def test_dry_run_saves_nothing_and_answers_the_resolved_job(self, client, user, templates, datasets):
        response = create_job(
            client, templates["train"], train_body(datasets["mine"], description="try"), dry_run="true"
        )
        assert response.status_code == 200, response.json()
        body = response.json()
        assert not Job.objects.exists()
        assert body["pk"] is None and body["status"] == "created" and body["creator"] == user.pk
        assert body["input_values"] == {"dataset": dataset_value(datasets["mine"])}
        assert body["parameter_values"] == {"frontend_metadata": {"value": {"a": 1}, "type": "JSON"}}
        assert body["resolved_parameters"] == {
            "factor": {"value": 1000, "type": "int"},
            "delay": {"value": 0.0, "type": "float"},
            "frontend_metadata": {"value": {"a": 1}, "type": "JSON"},
        }
        assert body["description"] == "try" and body["outputs"] == [] and body["children"] == []

    def test_dry_run_of_an_invalid_body_answers_the_same_problems(self, client, templates):
        body = {"input_values": {}}
        real, dry = (
            create_job(client, templates["train"], body),
            create_job(client, templates["train"], body, dry_run="true"),
        )
        assert real.status_code == dry.status_code == 422
        assert real.json()["errors"] == dry.json()["errors"]
        assert not Job.objects.exists()

    def test_dry_run_of_a_meta_template_creates_no_child(self, client, templates, datasets):
        response = create_job(client, templates["meta"], self.meta_body(datasets), dry_run="1")
        assert response.status_code == 200, response.json()
        assert not Job.objects.exists()

    @staticmethod
    def meta_body(datasets) -> dict:
        return {
            "input_values": {
                "train:dataset": dataset_value(datasets["public"]),
                "predict:dataset": dataset_value(datasets["public"]),
            },
            "parameter_values": {
                "train:frontend_metadata": {"value": 1, "type": "JSON"},
                "predict:frontend_metadata": {"value": 2, "type": "JSON"},
            },
        }


class TestSoftDeletedTemplate:
    def test_a_soft_deleted_template_is_a_409_dry_run_or_not(self, client, admin_client, templates, datasets):
        assert admin_client.delete(f"{API}/{templates['train'].pk}").status_code == 204
        for params in ({}, {"dry_run": "true"}):
            response = create_job(client, templates["train"], train_body(datasets["public"]), **params)
            assert response.status_code == 409
            assert response.json()["code"] == "template_deleted"
        assert not Job.objects.exists()

    def test_an_invisible_template_is_a_404(self, client, import_body, catalogue):
        private = import_body(
            {
                "name": "admins_only",
                "licence": "Apache 2.0",
                "scope": "user",
                "specific": {
                    "job_type": "Export",
                    "executor_class": "executors.builtin.testing.NoOp",
                    "required_packages": "",
                    "parameters": {
                        "sleep": {"types": ["float"], "default": 0.0, "help": "s"},
                        "steps": {"types": ["int"], "default": 1, "help": "n"},
                    },
                },
            }
        )
        assert create_job(client, private, {"input_values": {}}).status_code == 404
        assert not Job.objects.exists()


# --- the checks, one by one -------------------------------------------------------------------------


class TestInputChecks:
    def test_input_values_is_required(self, client, templates):
        response = create_job(client, templates["shapes"], {"parameter_values": {}})
        assert response.status_code == 422
        assert problems(response) == [("input_values", "required"), ("parameter_values.tags", "required")]

    def test_every_contract_input_must_be_given(self, client, templates):
        response = create_job(
            client,
            templates["predict"],
            {"input_values": {}, "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}}},
        )
        assert response.status_code == 422
        assert problems(response) == [("input_values.model", "required"), ("input_values.dataset", "required")]
        assert response.json()["code"] == "invalid_job_request"

    def test_an_unknown_input_is_refused_not_dropped(self, client, templates, datasets):
        body = train_body(datasets["public"])
        body["input_values"]["datset"] = dataset_value(datasets["public"])
        response = create_job(client, templates["train"], body)
        assert response.status_code == 422
        assert problems(response) == [("input_values.datset", "unknown_input")]
        assert "has no input 'datset'; it has: dataset" in response.json()["errors"][0]["message"]

    def test_a_declared_type_the_slot_does_not_accept(self, client, templates, datasets):
        response = create_job(
            client,
            templates["train"],
            {
                "input_values": {"dataset": dataset_value(datasets["od"], "PK<Dataset<Domain<'Object Detection'>>>")},
                "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
            },
        )
        assert response.status_code == 422
        assert problems(response) == [("input_values.dataset.type", "not_accepted")]

    def test_a_supertype_of_the_slot_is_not_accepted(self, client, templates, datasets):
        response = create_job(
            client,
            templates["train"],
            {
                "input_values": {"dataset": dataset_value(datasets["public"], "PK<Dataset>")},
                "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
            },
        )
        assert problems(response) == [("input_values.dataset.type", "not_accepted")]

    def test_a_value_must_be_an_object_with_value_and_type(self, client, templates, datasets):
        response = create_job(
            client,
            templates["predict"],
            {
                "input_values": {
                    "dataset": datasets["public"].pk,
                    "model": {"value": 1, "type": f"JobOutput<{DOGS_MODEL}>", "extra": 2},
                },
                "parameter_values": {"frontend_metadata": {"type": "JSON"}},
            },
        )
        assert response.status_code == 422
        assert set(problems(response)) == {
            ("input_values.dataset", "wrong_type"),
            ("input_values.model.extra", "unknown_key"),
            ("input_values.model.value", "not_found"),
            ("parameter_values.frontend_metadata.value", "required"),
        }

    def test_a_missing_type_is_required(self, client, templates, datasets):
        response = create_job(
            client,
            templates["train"],
            {
                "input_values": {"dataset": {"value": datasets["public"].pk}},
                "parameter_values": {"frontend_metadata": {"value": 1, "type": 5}},
            },
        )
        assert response.status_code == 422
        assert problems(response) == [
            ("input_values.dataset.type", "required"),
            ("parameter_values.frontend_metadata.type", "wrong_type"),
        ]

    def test_a_value_invalid_for_its_type(self, client, templates):
        response = create_job(
            client,
            templates["shapes"],
            {
                "input_values": {},
                "parameter_values": {
                    "tags": {"value": ["a", 2], "type": "Array<str>"},
                    "sleep": {"value": "soon", "type": "float"},
                },
            },
        )
        assert response.status_code == 422
        assert problems(response) == [
            ("parameter_values.sleep.value", "invalid_value"),
            ("parameter_values.tags.value[1]", "invalid_value"),
        ]

    @pytest.mark.parametrize("value", ["3", True, 2.5, None])
    def test_a_pk_must_be_an_integer(self, client, templates, value):
        response = create_job(
            client,
            templates["train"],
            {
                "input_values": {"dataset": {"value": value, "type": IC_DATASET}},
                "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
            },
        )
        assert response.status_code == 422
        assert problems(response) == [("input_values.dataset.value", "invalid_value")]

    @pytest.mark.parametrize(
        # Past bigint the PK's schema refuses it (maximum 2**63 - 1), before any lookup.
        ("value", "code"),
        [
            (0, "invalid_value"),
            (-1, "invalid_value"),
            (2**63 - 1, "not_found"),
            (2**63, "invalid_value"),
            (10**30, "invalid_value"),
        ],
    )
    def test_a_pk_no_row_can_have_is_a_422_never_a_500(self, client, templates, datasets, value, code):
        response = create_job(
            client,
            templates["train"],
            {
                "input_values": {"dataset": {"value": value, "type": IC_DATASET}},
                "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
            },
        )
        assert response.status_code == 422
        assert problems(response) == [("input_values.dataset.value", code)]


class TestReferencedRows:
    """PK, Name and JobOutput values: the row exists, matches the type's filters, is visible."""

    def test_a_missing_dataset_is_not_found(self, client, templates, datasets):
        response = create_job(client, templates["train"], train_body(Dataset(pk=999_999)))
        assert response.status_code == 422
        assert problems(response) == [("input_values.dataset.value", "not_found")]

    def test_another_users_private_dataset_reads_exactly_as_a_missing_one(self, client, templates, datasets):
        invisible = create_job(client, templates["train"], train_body(datasets["bobs"]))
        # The same pk, deleted: the message must not tell "exists but hidden" from "absent".
        bobs_pk = datasets["bobs"].pk
        datasets["bobs"].delete()
        missing = create_job(client, templates["train"], train_body(Dataset(pk=bobs_pk)))
        assert invisible.status_code == missing.status_code == 422
        assert invisible.json()["errors"] == missing.json()["errors"]
        assert invisible.json()["errors"][0]["code"] == "not_found"

    def test_the_owner_and_admins_may_use_a_private_dataset(
        self, client, other_client, admin_client, templates, datasets
    ):
        assert create_job(other_client, templates["train"], train_body(datasets["bobs"])).status_code == 200
        assert create_job(admin_client, templates["train"], train_body(datasets["bobs"])).status_code == 200
        assert create_job(client, templates["train"], train_body(datasets["mine"])).status_code == 200

    def test_a_dataset_of_another_domain_does_not_match_the_type(self, client, templates, datasets):
        response = create_job(client, templates["train"], train_body(datasets["od"]))
        assert response.status_code == 422
        assert problems(response) == [("input_values.dataset.value", "not_found")]
        assert "matching Dataset<Domain<'Image Classification'>>" in response.json()["errors"][0]["message"]

    def test_a_name_that_no_visible_dataset_has(self, client, user, templates, datasets):
        response = create_job(
            client,
            templates["predict"],
            {
                "input_values": {
                    "dataset": {"value": "bobs v1", "type": IC_DATASET_NAME},
                    "model": {"value": TestCreated._model(templates, user).pk, "type": f"JobOutput<{DOGS_MODEL}>"},
                },
                "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
            },
        )
        assert response.status_code == 422
        assert problems(response) == [("input_values.dataset.value", "not_found")]

    def test_a_job_output_of_a_job_the_caller_cannot_see(
        self, client, user, other_user, templates, datasets, import_body
    ):
        hidden_train = import_body({**_dogs_train_copy(templates), "name": "hidden_train", "scope": "user"})
        hidden = write_output(JobFactory(template=hidden_train, creator=other_user, finished=True), "model", DOGS_MODEL)
        own = write_output(JobFactory(template=hidden_train, creator=user, finished=True), "model", DOGS_MODEL)
        public_job = JobFactory(template=templates["train"], creator=other_user, finished=True)
        public = write_output(public_job, "model", DOGS_MODEL)
        team_job = JobFactory(
            template=templates["train"],
            creator=other_user,
            finished=True,
            project=ProjectFactory(members={user: "R", other_user: "W"}),
        )
        shared = write_output(team_job, "model", DOGS_MODEL)
        answers = {}
        for label, output in (("hidden", hidden), ("own", own), ("public", public), ("shared", shared)):
            answers[label] = create_job(
                client,
                templates["predict"],
                {
                    "input_values": {
                        "dataset": dataset_value(datasets["public"]),
                        "model": {"value": output.pk, "type": f"JobOutput<{DOGS_MODEL}>"},
                    },
                    "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
                },
            )
        # Another user's job is theirs, even on a template everyone sees: its outputs come from their data.
        for label in ("hidden", "public"):
            assert answers[label].status_code == 422
            assert problems(answers[label]) == [("input_values.model.value", "not_found")]
        # Your own job (even of a template you cannot see) and your projects' jobs are usable.
        assert answers["own"].status_code == 200, answers["own"].json()
        assert answers["shared"].status_code == 200, answers["shared"].json()

    def test_a_model_output_of_the_wrong_type(self, client, user, templates, datasets):
        job = JobFactory(template=templates["train"], finished=True, creator=user)
        wrong = write_output(job, "model", OTHER_MODEL)
        metrics = write_output(job, "metrics", "JSON", data={"accuracy": 1})
        for output in (wrong, metrics):
            response = create_job(
                client,
                templates["predict"],
                {
                    "input_values": {
                        "dataset": dataset_value(datasets["public"]),
                        "model": {"value": output.pk, "type": f"JobOutput<{DOGS_MODEL}>"},
                    },
                    "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
                },
            )
            assert response.status_code == 422
            assert problems(response) == [("input_values.model.value", "wrong_output_type")]
            assert f"is of type {output.type}" in response.json()["errors"][0]["message"]

    def test_soft_deleted_rows_are_not_values(self, client, user, templates, datasets):
        output = TestCreated._model(templates, user)
        JobOutput.objects.filter(pk=output.pk).update(deletion_time=timezone.now())
        Dataset.objects.filter(pk=datasets["public"].pk).update(deletion_time=timezone.now())
        response = create_job(
            client,
            templates["predict"],
            {
                "input_values": {
                    "dataset": dataset_value(datasets["public"]),
                    "model": {"value": output.pk, "type": f"JobOutput<{DOGS_MODEL}>"},
                },
                "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
            },
        )
        assert problems(response) == [
            ("input_values.model.value", "not_found"),
            ("input_values.dataset.value", "not_found"),
        ]

    def test_a_missing_job_output(self, client, templates, datasets):
        response = create_job(
            client,
            templates["predict"],
            {
                "input_values": {
                    "dataset": dataset_value(datasets["public"]),
                    "model": {"value": 424242, "type": f"JobOutput<{DOGS_MODEL}>"},
                },
                "parameter_values": {"frontend_metadata": {"value": 1, "type": "JSON"}},
            },
        )
        assert problems(response) == [("input_values.model.value", "not_found")]


def _dogs_train_copy(templates) -> dict:
    body = template_export(template=templates["train"])
    body.pop("version", None)
    return body


class TestParameterChecks:
    def test_an_unknown_parameter(self, client, templates, datasets):
        body = train_body(datasets["public"])
        body["parameter_values"]["epochs"] = {"value": 3, "type": "int"}
        response = create_job(client, templates["train"], body)
        assert response.status_code == 422
        assert problems(response) == [("parameter_values.epochs", "unknown_parameter")]

    def test_a_parameter_without_default_is_required(self, client, templates, datasets):
        response = create_job(
            client, templates["train"], {"input_values": {"dataset": dataset_value(datasets["public"])}}
        )
        assert response.status_code == 422
        assert problems(response) == [("parameter_values.frontend_metadata", "required")]

    def test_a_const_parameter_cannot_be_given_even_with_its_default(self, client, templates):
        response = create_job(
            client,
            templates["shapes"],
            {
                "input_values": {},
                "parameter_values": {"tags": {"value": "x", "type": "str"}, "steps": {"value": 1, "type": "int"}},
            },
        )
        assert response.status_code == 422
        assert problems(response) == [("parameter_values.steps", "const_parameter")]

    def test_a_parameter_type_off_its_list(self, client, templates):
        response = create_job(
            client,
            templates["shapes"],
            {
                "input_values": {},
                "parameter_values": {"tags": {"value": 3, "type": "int"}, "sleep": {"value": 1, "type": "int"}},
            },
        )
        assert response.status_code == 422
        # No int → float widening: an int is not a float (types-and-contracts.md §2).
        assert problems(response) == [
            ("parameter_values.sleep.type", "not_accepted"),
            ("parameter_values.tags.type", "not_accepted"),
        ]

    def test_a_float_parameter_takes_an_integral_json_number(self, client, templates):
        response = create_job(
            client,
            templates["shapes"],
            {
                "input_values": {},
                "parameter_values": {
                    "tags": {"value": [], "type": "Array<str>"},
                    "sleep": {"value": 2, "type": "float"},
                },
            },
        )
        assert response.status_code == 200, response.json()

    def test_body_keys_and_description_are_checked(self, client, templates):
        response = create_job(
            client,
            templates["shapes"],
            {
                "input_values": {},
                "parameter_values": {"tags": {"value": "x", "type": "str"}},
                "description": 5,
                "priority": "high",
            },
        )
        assert response.status_code == 422
        assert problems(response) == [("priority", "unknown_key"), ("description", "wrong_type")]


class TestAnswers:
    def test_every_problem_comes_back_in_one_answer(self, client, templates, datasets):
        response = create_job(
            client,
            templates["predict"],
            {
                "input_values": {
                    "dataset": dataset_value(datasets["bobs"]),
                    "extra": dataset_value(datasets["public"]),
                },
                "parameter_values": {
                    "per_class": {"value": "yes", "type": "bool"},
                    "unknown": {"value": 1, "type": "int"},
                },
                "notification_override": {"actions": {"on_finish": [{"nonsense": 1}]}},
            },
        )
        assert response.status_code == 422
        body = response.json()
        assert set(problems(response)) == {
            ("input_values.extra", "unknown_input"),
            ("input_values.model", "required"),
            ("input_values.dataset.value", "not_found"),
            ("parameter_values.unknown", "unknown_parameter"),
            ("parameter_values.per_class.value", "invalid_value"),
            ("parameter_values.frontend_metadata", "required"),
            ("notification_override.actions.on_finish[0]", "unknown_notification_kind"),
        }
        assert (body["code"], body["detail"]) == ("invalid_job_request", "The job request is invalid.")

    def test_an_unparseable_type_makes_it_a_400_that_still_lists_everything(self, client, templates, datasets):
        response = create_job(
            client,
            templates["train"],
            {
                "input_values": {"dataset": {"value": datasets["public"].pk, "type": "PK<Dataset<Domain<5>>>"}},
                "parameter_values": {"factor": {"value": 1, "type": "Nope<"}, "epochs": {"value": 1, "type": "int"}},
            },
        )
        assert response.status_code == 400
        assert problems(response) == [
            ("input_values.dataset.type", "unparseable_type"),
            ("parameter_values.epochs", "unknown_parameter"),
            ("parameter_values.factor.type", "unparseable_type"),
            ("parameter_values.frontend_metadata", "required"),
        ]
        assert "5 is not a sub-type of str" in response.json()["errors"][0]["message"]

    def test_a_body_that_is_not_an_object_is_a_400(self, client, templates):
        for body in ([], "text", 3):
            response = create_job(client, templates["shapes"], body)
            assert response.status_code == 400, body
        assert (
            client.post(
                f"{API}/{templates['shapes'].pk}/create-job", "{not json", content_type="application/json"
            ).status_code
            == 400
        )

    def test_an_empty_request_is_a_422_naming_input_values(self, client, templates):
        response = client.post(f"{API}/{templates['shapes'].pk}/create-job")
        assert response.status_code == 422
        assert ("input_values", "required") in problems(response)

    def test_anonymous_callers_get_a_401(self, anon_client, templates):
        assert create_job(anon_client, templates["shapes"], {"input_values": {}}).status_code == 401


# --- meta-templates ---------------------------------------------------------------------------------


class TestMetaTemplates:
    def test_creates_the_parent_and_only_its_ready_children(self, client, user, templates, datasets):
        response = create_job(client, templates["meta"], TestDryRun.meta_body(datasets))
        assert response.status_code == 200, response.json()
        parent = Job.objects.get(pk=response.json()["pk"])
        train = Job.objects.get(parent=parent)
        assert train.child_name == "train" and train.template == templates["train"]
        assert response.json()["children"] == [train.pk]
        assert train.input_values == {"dataset": dataset_value(datasets["public"])}
        assert train.parameter_values == {"frontend_metadata": {"value": 1, "type": "JSON"}}
        assert train.resolved_parameters == {
            "factor": {"value": 5, "type": "int"},
            "delay": {"value": 0.0, "type": "float"},
            "frontend_metadata": {"value": 1, "type": "JSON"},
        }
        assert (train.creator, parent.creator) == (user, user)
        assert parent.resolved_parameters["predict:per_class"] == {"value": True, "type": "bool"}
        assert parent.input_values == {
            "train:dataset": dataset_value(datasets["public"]),
            "predict:dataset": dataset_value(datasets["public"]),
        }

    def test_the_parents_inputs_are_checked_by_their_child_names(self, client, templates, datasets):
        response = create_job(
            client,
            templates["meta"],
            {
                "input_values": {
                    "train:dataset": dataset_value(datasets["bobs"]),
                    "dataset": dataset_value(datasets["public"]),
                    "predict:model": {"value": 1, "type": f"JobOutput<{DOGS_MODEL}>"},
                },
                "parameter_values": {"train:factor": {"value": 1, "type": "int"}},
            },
        )
        assert response.status_code == 422
        assert set(problems(response)) == {
            ("input_values.dataset", "unknown_input"),
            ("input_values.predict:model", "unknown_input"),  # fed by the train → predict edge
            ("input_values.predict:dataset", "required"),
            ("input_values.train:dataset.value", "not_found"),
            ("parameter_values.train:frontend_metadata", "required"),
            ("parameter_values.predict:frontend_metadata", "required"),
        }
        assert not Job.objects.exists()

    def test_child_notification_overrides_name_real_descendants(self, client, templates, datasets, import_body):
        outer = import_body(
            {
                "name": "outer",
                "licence": "Apache 2.0",
                "domain": "ic",
                "specific": {
                    "nodes": {
                        "inner": {"name": "dogs_train_and_predict"},
                        "solo": {"name": "dogs_dummy_image_class_train"},
                    },
                    "dependencies": [],
                },
            }
        )
        override = {"actions": {"on_error": [{"message": "failed: {error}"}]}}
        body = {
            "input_values": {
                "inner:train:dataset": dataset_value(datasets["public"]),
                "inner:predict:dataset": dataset_value(datasets["public"]),
                "solo:dataset": dataset_value(datasets["public"]),
            },
            "parameter_values": {
                name: {"value": 1, "type": "JSON"}
                for name in (
                    "inner:train:frontend_metadata",
                    "inner:predict:frontend_metadata",
                    "solo:frontend_metadata",
                )
            },
        }
        good = create_job(
            client,
            outer,
            {**body, "child_notification_overrides": {"inner": override, "inner:train": override, "solo": override}},
        )
        assert good.status_code == 200, good.json()
        parent = Job.objects.get(pk=good.json()["pk"])
        inner = parent.children.get(child_name="inner")
        inner_train = inner.children.get(child_name="train")
        assert inner.notification_override == override
        assert inner.child_notification_overrides == {"train": override}
        assert inner_train.notification_override == override
        assert parent.children.get(child_name="solo").notification_override == override

        bad = create_job(
            client,
            outer,
            {
                **body,
                "child_notification_overrides": {
                    "inner:nope": override,
                    "train": override,
                    "solo": {"actions": {"on_nothing": []}},
                },
            },
        )
        assert bad.status_code == 422
        assert problems(bad) == [
            ("child_notification_overrides.inner:nope", "unknown_child"),
            ("child_notification_overrides.train", "unknown_child"),
            ("child_notification_overrides.solo.actions.on_nothing", "unknown_action"),
        ]

    def test_child_notification_overrides_only_on_meta_templates(self, client, templates):
        response = create_job(
            client,
            templates["shapes"],
            {
                "input_values": {},
                "parameter_values": {"tags": {"value": "x", "type": "str"}},
                "child_notification_overrides": {"x": {}},
            },
        )
        assert response.status_code == 422
        assert problems(response) == [("child_notification_overrides", "not_meta")]


# --- enqueueing -------------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """Tasks sent to the broker (the outside world), recorded instead of sent."""
    calls: list[tuple] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: calls.append((name, args, kwargs)))
    return calls


class TestEnqueueing:
    def test_the_job_is_sent_after_commit_with_its_id_only(
        self, client, templates, sent, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = create_job(
                client,
                templates["shapes"],
                {"input_values": {}, "parameter_values": {"tags": {"value": "x", "type": "str"}}},
            )
            assert response.status_code == 200
        assert sent == []  # nothing left before the commit
        for callback in callbacks:
            callback()
        job = Job.objects.get(pk=response.json()["pk"])
        assert sent == [(RUN_JOB_TASK, (), {"kwargs": {"job_id": job.pk}, "queue": None})]
        assert (job.sends, job.enqueued_time is not None) == (1, True)

    def test_nothing_is_sent_for_an_invalid_request_or_a_dry_run(
        self, client, templates, sent, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            create_job(client, templates["shapes"], {"input_values": {}})
            create_job(
                client,
                templates["shapes"],
                {"input_values": {}, "parameter_values": {"tags": {"value": "x", "type": "str"}}},
                dry_run="true",
            )
        assert callbacks == [] and sent == []

    def test_a_meta_job_creates_its_ready_children_and_sends_none_that_nodes_run(
        self, client, templates, datasets, sent, django_capture_on_commit_callbacks
    ):
        # The children are UFDL's dogs_dummy templates (ufdl.joblauncher…): nodes run them, not Celery.
        with django_capture_on_commit_callbacks(execute=True):
            response = create_job(client, templates["meta"], TestDryRun.meta_body(datasets))
        train = Job.objects.get(parent_id=response.json()["pk"])
        assert (train.runner, train.status, train.node) == ("node", "created", None)
        assert sent == []

    def test_a_broker_failure_keeps_the_job_for_the_reaper(
        self, client, templates, monkeypatch, django_capture_on_commit_callbacks
    ):
        def refuse(*args, **kwargs):
            raise ConnectionError("broker down")

        monkeypatch.setattr(celery_app, "send_task", refuse)
        with django_capture_on_commit_callbacks(execute=True):
            response = create_job(
                client,
                templates["shapes"],
                {"input_values": {}, "parameter_values": {"tags": {"value": "x", "type": "str"}}},
            )
        assert response.status_code == 200
        assert Job.objects.get(pk=response.json()["pk"]).status == JobStatus.CREATED
