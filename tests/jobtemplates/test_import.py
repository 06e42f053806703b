"""Template import, validate and export (http-api.md §3.3): every check with its path, versioning,
meta-template graphs, and the round trip of all UFDL fixture templates."""

from __future__ import annotations

import copy

import pytest

from config.errors import Conflict, InvalidRequest, MalformedRequest
from jobtemplates.models import JobTemplate, MetaNode, Parameter
from jobtemplates.services.templates import template_export, template_import, template_validate
from tests.factories import DomainFactory, LicenceFactory
from tests.jobtemplates.conftest import UFDL_TEMPLATES, load_template, meta_body

pytestmark = pytest.mark.django_db

DOGS_TRAIN = "image-classification__0010_dogs_dummy_image_class_train.json"


def problems_of(body, admin_user) -> dict[str, str]:
    """path → code of every problem an import of ``body`` reports."""
    with pytest.raises((InvalidRequest, MalformedRequest)) as caught:
        template_import(data=body, creator=admin_user)
    return {problem.path: problem.code for problem in caught.value.problems}


def without_version(exported: dict) -> dict:
    body = copy.deepcopy(exported)
    body.pop("version")
    return body


class TestFixtureTemplates:
    def test_every_ufdl_template_imports_exports_and_round_trips(self, catalogue, admin_user):
        assert len(UFDL_TEMPLATES) == 29
        for path in UFDL_TEMPLATES:
            body = load_template(path)
            template = template_import(data=copy.deepcopy(body), creator=admin_user).template
            exported = template_export(template=template)
            # Export fills every field in and keeps what the file said.
            assert exported["name"] == body["name"] and exported["version"] == body["version"]
            assert exported["specific"]["job_type"] == body["specific"]["job_type"]
            assert list(exported["specific"]["parameters"]) == list(body["specific"]["parameters"])
            for name, parameter in body["specific"]["parameters"].items():
                assert exported["specific"]["parameters"][name]["types"] == parameter["types"], path.name
                if "default" in parameter:
                    assert exported["specific"]["parameters"][name]["default"] == parameter["default"]
            # import(export(t)) without the version: the next version, equal apart from pk/version/times.
            again = template_import(data=without_version(exported), creator=admin_user).template
            assert again.pk != template.pk and again.version == template.version + 1
            assert without_version(template_export(template=again)) == without_version(exported)
            # Re-importing the file itself (same version, same content) gives the existing template.
            same = template_import(data=copy.deepcopy(body), creator=admin_user)
            assert same.template.pk == template.pk and not same.created
        assert JobTemplate.objects.count() == 58

    def test_fixture_warnings_name_the_uninstalled_executor(self, catalogue, admin_user, ufdl_bodies):
        result = template_import(data=ufdl_bodies[DOGS_TRAIN], creator=admin_user)
        assert [(w.path, w.code) for w in result.warnings] == [("specific.executor_class", "executor_not_allowed")]


class TestVersioning:
    def test_no_version_takes_the_next(self, import_body, ufdl_bodies):
        body = ufdl_bodies[DOGS_TRAIN]
        body.pop("version")
        first, second = import_body(body), import_body(body)
        assert (first.version, second.version) == (1, 2)

    def test_same_version_identical_content_returns_existing(self, import_body, ufdl_bodies, admin_user):
        first = import_body(ufdl_bodies[DOGS_TRAIN])
        # Spelling out what defaults to the same (default_type, const, description) is still identical.
        body = copy.deepcopy(ufdl_bodies[DOGS_TRAIN])
        body["specific"]["parameters"]["factor"].update(default_type="int", const=False)
        result = template_import(data=body, creator=admin_user)
        assert result.template.pk == first.pk and not result.created

    def test_same_version_different_content_is_409(self, import_body, ufdl_bodies, admin_user):
        import_body(ufdl_bodies[DOGS_TRAIN])
        body = copy.deepcopy(ufdl_bodies[DOGS_TRAIN])
        body["specific"]["parameters"]["factor"]["default"] = 7
        body["description"] = "changed"
        with pytest.raises(Conflict) as caught:
            template_import(data=body, creator=admin_user)
        assert caught.value.code == "duplicate_version"
        assert {p.path for p in caught.value.problems} == {"description", "specific.parameters"}
        assert JobTemplate.objects.count() == 1

    def test_a_soft_deleted_version_does_not_count(self, import_body, ufdl_bodies):
        first = import_body(ufdl_bodies[DOGS_TRAIN])
        first.deletion_time = first.creation_time
        first.save()
        body = ufdl_bodies[DOGS_TRAIN]
        assert import_body(body).pk != first.pk
        body.pop("version")
        assert import_body(body).version == 2

    def test_reuse_identical_latest_makes_seeding_repeatable(self, import_body, ufdl_bodies):
        body = ufdl_bodies[DOGS_TRAIN]
        body.pop("version")
        first = import_body(body, reuse_identical_latest=True)
        assert import_body(body, reuse_identical_latest=True).pk == first.pk


class TestWorkableChecks:
    def test_every_problem_at_once_with_paths(self, catalogue, admin_user, ufdl_bodies):
        body = ufdl_bodies[DOGS_TRAIN]
        body.update(licence="No Such Licence", domain="zz", scope="galaxy", extra=1, version=0)
        specific = body["specific"]
        specific["job_type"] = "Train<Domain<'Image Classification'>>"
        specific["executor_class"] = "not a path"
        specific["required_packages"] = "numpy>=1 ==broken"
        specific["parameters"] = {
            "bad_type": {"types": ["Array<"], "help": "x"},
            "binary": {"types": ["Model"], "help": "x"},
            "no_help": {"types": ["int"]},
            "wrong_default": {"types": ["int"], "default": "five", "help": "x"},
            "default_type_outside": {"types": ["int"], "default": "a", "default_type": "str", "help": "x"},
            "const_alone": {"types": ["int"], "const": True, "help": "x"},
            "bad:name": {"types": ["int"], "help": "x"},
            "typo": {"types": ["int"], "help": "x", "defualt": 3},
            "nested_default": {"types": ["Array<int, 2>"], "default": [1, "x", 3], "help": "x"},
        }
        assert problems_of(body, admin_user) == {
            "licence": "unknown_licence",
            "domain": "unknown_domain",
            "scope": "invalid_choice",
            "extra": "unknown_key",
            "version": "wrong_type",
            "specific.job_type": "unparseable_contract",
            "specific.executor_class": "invalid_value",
            "specific.required_packages": "invalid_requirement",
            "specific.parameters.bad_type.types[0]": "unparseable_type",
            "specific.parameters.binary.types[0]": "not_json_type",
            "specific.parameters.no_help.help": "required",
            "specific.parameters.wrong_default.default": "invalid_value",
            "specific.parameters.default_type_outside.default_type": "not_accepted",
            "specific.parameters.const_alone.const": "const_without_default",
            "specific.parameters.bad:name": "invalid_name",
            "specific.parameters.typo.defualt": "unknown_key",
            "specific.parameters.nested_default.default": "invalid_value",
            "specific.parameters.nested_default.default[1]": "invalid_value",
        }
        assert JobTemplate.objects.count() == 0

    def test_what_ufdl_s_job_template_spec_would_refuse_to_read_back_is_refused(
        self, catalogue, admin_user, ufdl_bodies
    ):
        """UFDL's limits, so that every export stays readable (test_export_spec.py): the job type as exported
        (canonical, here longer than written), the executor class, each parameter type as written."""
        body = ufdl_bodies[DOGS_TRAIN]
        framework = "f" * 201
        body["specific"]["job_type"] = f"Train<Domain<'Image Classification'>,Framework<'{framework}','1'>>"
        assert len(body["specific"]["job_type"]) == 256
        body["specific"]["executor_class"] = "executors." + "E" * 119
        body["specific"]["parameters"]["image"] = {
            "types": ["str", f"Name<DockerImage<Domain<'Image Classification'>, Framework<'{framework}', '1'>>>"],
            "help": "x",
        }
        assert problems_of(body, admin_user) == {
            "specific.job_type": "too_long",
            "specific.executor_class": "too_long",
            "specific.parameters.image.types[1]": "too_long",
        }

    def test_body_must_be_an_object(self, catalogue, admin_user):
        with pytest.raises(MalformedRequest):
            template_import(data=[1, 2], creator=admin_user)

    def test_scope_project_needs_a_known_group(self, catalogue, admin_user, ufdl_bodies):
        body = ufdl_bodies[DOGS_TRAIN]
        body["scope"] = "project"
        assert problems_of(body, admin_user) == {"project": "required"}
        body["project"] = "nobody's group"
        assert problems_of(body, admin_user) == {"project": "unknown_project"}

    def test_author_spelling_of_types_is_kept(self, import_body, ufdl_bodies):
        body = ufdl_bodies[DOGS_TRAIN]
        body["specific"]["parameters"]["opts"] = {"types": ["Array<str>", "str"], "default": ["a"], "help": "spelling"}
        template = import_body(body)
        parameter = Parameter.objects.get(template=template, name="opts")
        assert parameter.types == ["Array<str>", "str"]
        assert parameter.default_type == "Array<str>"

    def test_reference_default_to_a_missing_row_is_a_warning(self, catalogue, admin_user, ufdl_bodies):
        body = ufdl_bodies[DOGS_TRAIN]
        body["specific"]["parameters"]["image"] = {
            "types": ["Name<DockerImage<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>>"],
            "default": "not-there v1",
            "help": "x",
        }
        result = template_import(data=body, creator=admin_user)
        assert ("specific.parameters.image.default", "not_found") in [(w.path, w.code) for w in result.warnings]

    def test_nothing_makes_a_parameter_optional(self, import_body, ufdl_bodies):
        body = ufdl_bodies[DOGS_TRAIN]
        body["specific"]["parameters"]["notes"] = {
            "types": ["str", "Nothing"],
            "default": None,
            "default_type": "Nothing",
            "help": "optional",
        }
        template = import_body(body)
        notes = template.parameters.get(name="notes")
        assert notes.has_default and notes.default is None and notes.default_type == "Nothing"
        assert template_export(template=template)["specific"]["parameters"]["notes"]["default"] is None


class TestDomains:
    """Every ``Domain<'…'>`` a job type or a parameter type names must be a catalogue domain (its description)."""

    UNKNOWN_JOB_TYPE = "Train<Domain<'No Such Domain'>, Framework<'x', '1'>>"

    def broken(self, body: dict) -> dict:
        body["licence"] = "No Such Licence"
        specific = body["specific"]
        specific["job_type"] = self.UNKNOWN_JOB_TYPE
        specific["parameters"]["images"] = {
            "types": ["str", "PK<Dataset<Domain<'Nowhere'>>>", "Name<Dataset<Domain<'Image Classification'>>>"],
            "help": "x",
        }
        specific["parameters"]["any_dataset"] = {
            "types": ["PK<Dataset<Domain>>"],  # an unconstrained domain names none
            "default": 1,
            "default_type": "PK<Dataset<Domain<'Elsewhere'>>>",
            "help": "x",
        }
        return body

    EXPECTED = {
        "licence": "unknown_licence",
        "specific.job_type": "unknown_domain",
        "specific.parameters.images.types[1]": "unknown_domain",
        "specific.parameters.any_dataset.default_type": "unknown_domain",
    }

    def test_unknown_domains_are_reported_with_every_other_problem(self, catalogue, admin_user, ufdl_bodies):
        assert problems_of(self.broken(ufdl_bodies[DOGS_TRAIN]), admin_user) == self.EXPECTED
        assert JobTemplate.objects.count() == 0

    def test_import_and_validate_answer_422_with_the_paths(self, catalogue, admin_client, ufdl_bodies):
        body = self.broken(ufdl_bodies[DOGS_TRAIN])
        answers = [
            admin_client.post(f"/v1/job-templates/{route}", body, format="json") for route in ("import", "validate")
        ]
        for answer in answers:
            assert answer.status_code == 422, answer.content
            assert {e["path"]: e["code"] for e in answer.json()["errors"]} == self.EXPECTED
        assert answers[0].json() == answers[1].json()
        message = next(e["message"] for e in answers[0].json()["errors"] if e["path"] == "specific.job_type")
        assert "'No Such Domain'" in message and "'Image Classification'" in message  # the known ones
        assert JobTemplate.objects.count() == 0

    def test_a_meta_override_default_type_is_checked_too(self, import_body, admin_user, ufdl_bodies):
        train = ufdl_bodies[DOGS_TRAIN]
        train["specific"]["parameters"]["source"] = {"types": ["PK<Dataset<Domain>>"], "help": "any domain"}
        import_body(train)
        import_body(ufdl_bodies["image-classification__0011_dogs_dummy_image_class_predict.json"])
        body = meta_body()
        body["specific"]["nodes"]["train"]["parameter_default_overrides"] = {
            "source": {"default": 1, "default_type": "PK<Dataset<Domain<'Nowhere'>>>"}
        }
        assert problems_of(body, admin_user) == {
            "specific.nodes.train.parameter_default_overrides.source.default_type": "unknown_domain"
        }

    def test_the_catalogue_decides_not_a_fixed_list(self, admin_user, ufdl_bodies):
        """Without the seeded catalogue only the rows that exist count: here one licence and one domain."""
        LicenceFactory(name="Apache 2.0")
        DomainFactory(name="zz", description="Zebra Zones")
        body = ufdl_bodies[DOGS_TRAIN]
        body.pop("domain")
        assert problems_of(copy.deepcopy(body), admin_user) == {"specific.job_type": "unknown_domain"}
        body["specific"]["job_type"] = "Train<Domain<'Zebra Zones'>, Framework<'dogs_dummy', '1'>>"
        template = template_import(data=body, creator=admin_user).template
        assert template.type_parameters["DomainType"] == "Domain<'Zebra Zones'>"


class TestMetaTemplates:
    def test_train_then_predict_imports_with_derived_signature(self, train_predict, import_body):
        train, predict = train_predict
        meta = import_body(meta_body())
        assert meta.kind == "meta" and meta.version == 1
        assert meta.inputs == {
            "train:dataset": ["PK<Dataset<Domain<'Image Classification'>>>"],
            "predict:dataset": [
                "PK<Dataset<Domain<'Image Classification'>>>",
                "Name<Dataset<Domain<'Image Classification'>>>",
            ],
        }
        assert meta.outputs == {
            "train:model": "Model<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>",
            "predict:predictions": "PK<Dataset<Domain<'Image Classification'>>>",
        }
        # The single sink (predict) gives the derived contract.
        assert meta.contract == predict.contract and meta.contract_name == "Predict"
        parameters = {p.name: p for p in meta.parameters.all()}
        assert list(parameters) == [
            "train:factor",
            "train:delay",
            "train:frontend_metadata",
            "predict:store_predictions",
            "predict:per_class",
            "predict:frontend_metadata",
        ]
        assert parameters["train:factor"].default == 5  # the node's override
        assert parameters["predict:per_class"].default is True
        assert not parameters["train:frontend_metadata"].has_default

    def test_child_version_absent_is_fixed_to_the_newest(self, train_predict, import_body, ufdl_bodies):
        body = ufdl_bodies["image-classification__0011_dogs_dummy_image_class_predict.json"]
        body["version"] = 2
        newer_predict = import_body(body)
        meta = import_body(meta_body())
        assert MetaNode.objects.get(template=meta, name="predict").child == newer_predict
        assert template_export(template=meta)["specific"]["nodes"]["predict"]["version"] == 2

    def test_export_round_trips(self, train_predict, import_body):
        meta = import_body(meta_body())
        exported = template_export(template=meta)
        assert exported["specific"]["nodes"]["train"] == {
            "name": "dogs_dummy_image_class_train",
            "version": 1,
            "parameter_default_overrides": {"factor": {"default": 5, "default_type": "int", "const": False}},
        }
        again = import_body(without_version(exported))
        assert again.version == 2
        assert without_version(template_export(template=again)) == without_version(exported)

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            (
                {
                    "dependencies": [
                        {"from_node": "train", "from_output": "model", "to_node": "train", "to_input": "dataset"}
                    ]
                },
                {"specific.dependencies[0].to_node": "cycle"},
            ),
            (
                {
                    "dependencies": [
                        {"from_node": "trian", "from_output": "model", "to_node": "predict", "to_input": "model"}
                    ]
                },
                {"specific.dependencies[0].from_node": "unknown_node"},
            ),
            (
                {
                    "dependencies": [
                        {"from_node": "train", "from_output": "model", "to_node": "pred", "to_input": "model"}
                    ]
                },
                {"specific.dependencies[0].to_node": "unknown_node"},
            ),
            (
                {
                    "dependencies": [
                        {"from_node": "train", "from_output": "weights", "to_node": "predict", "to_input": "model"}
                    ]
                },
                {"specific.dependencies[0].from_output": "unknown_output"},
            ),
            (
                {
                    "dependencies": [
                        {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "modle"}
                    ]
                },
                {"specific.dependencies[0].to_input": "unknown_input"},
            ),
            (
                {
                    "dependencies": [
                        {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "dataset"}
                    ]
                },
                {"specific.dependencies[0].to_input": "incompatible_types"},
            ),
            (
                {
                    "dependencies": [
                        {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"},
                        {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"},
                    ]
                },
                {"specific.dependencies[1].to_input": "input_fed_twice"},
            ),
            (
                {"dependencies": [{"from_node": "train", "from_output": "model", "to_node": "predict"}]},
                {"specific.dependencies[0].to_input": "required"},
            ),
            ({"nodes": {"train": {"name": "no_such_template"}}}, {"specific.nodes.train.name": "unknown_template"}),
            (
                {"nodes": {"train": {"name": "dogs_dummy_image_class_train", "version": 9}}},
                {"specific.nodes.train.version": "unknown_template"},
            ),
            (
                {"nodes": {}},
                {
                    "specific.nodes": "wrong_type",
                    "specific.dependencies[0].from_node": "unknown_node",
                    "specific.dependencies[0].to_node": "unknown_node",
                },
            ),
            ({"nodes": {"a:b": {"name": "dogs_dummy_image_class_train"}}}, {"specific.nodes.a:b": "invalid_name"}),
        ],
    )
    def test_broken_graphs_are_rejected_with_the_path(self, train_predict, admin_user, change, expected):
        body = meta_body(**change)
        if "nodes" in change and change["nodes"]:
            body["specific"]["dependencies"] = []
        assert problems_of(body, admin_user) == expected

    def test_cycle_between_nodes(self, train_predict, admin_user):
        body = meta_body(
            nodes={"a": {"name": "dogs_dummy_image_class_predict"}, "b": {"name": "dogs_dummy_image_class_predict"}},
            dependencies=[
                {"from_node": "a", "from_output": "predictions", "to_node": "b", "to_input": "dataset"},
                {"from_node": "b", "from_output": "predictions", "to_node": "a", "to_input": "dataset"},
            ],
        )
        problems = problems_of(body, admin_user)
        assert problems == {"specific.dependencies": "cycle"}

    def test_json_output_passes_by_value(self, train_predict, admin_user):
        # predictions is PK<Dataset<ic>> (a JSON type) and predict's dataset slot accepts it itself.
        body = meta_body(
            nodes={"a": {"name": "dogs_dummy_image_class_predict"}, "b": {"name": "dogs_dummy_image_class_predict"}},
            dependencies=[{"from_node": "a", "from_output": "predictions", "to_node": "b", "to_input": "dataset"}],
        )
        meta = template_import(data=body, creator=admin_user).template
        assert "b:dataset" not in meta.inputs and "b:model" in meta.inputs

    def test_override_checks(self, train_predict, admin_user, ufdl_bodies):
        body = meta_body(
            nodes={
                "train": {
                    "name": "dogs_dummy_image_class_train",
                    "parameter_default_overrides": {
                        "factor": {"default": "many"},
                        "nope": {"default": 1},
                        "delay": 0.5,
                    },
                },
                "predict": {"name": "dogs_dummy_image_class_predict"},
            }
        )
        assert problems_of(body, admin_user) == {
            "specific.nodes.train.parameter_default_overrides.factor.default": "invalid_value",
            "specific.nodes.train.parameter_default_overrides.nope": "unknown_parameter",
            "specific.nodes.train.parameter_default_overrides.delay": "wrong_type",
        }

    def test_const_child_parameter_cannot_be_overridden(self, import_body, admin_user, ufdl_bodies):
        train = ufdl_bodies[DOGS_TRAIN]
        train["specific"]["parameters"]["factor"]["const"] = True
        import_body(train)
        import_body(ufdl_bodies["image-classification__0011_dogs_dummy_image_class_predict.json"])
        assert problems_of(meta_body(), admin_user) == {
            "specific.nodes.train.parameter_default_overrides.factor": "const_parameter"
        }

    def test_nested_meta_templates_compose_names(self, train_predict, import_body):
        import_body(meta_body())
        outer = import_body(
            {
                "name": "outer",
                "licence": "Apache 2.0",
                "specific": {
                    "nodes": {
                        "pipeline": {"name": "dogs_train_and_predict"},
                        "again": {"name": "dogs_dummy_image_class_predict"},
                    },
                    "dependencies": [
                        {"from_node": "pipeline", "from_output": "train:model", "to_node": "again", "to_input": "model"}
                    ],
                },
            }
        )
        assert "pipeline:train:dataset" in outer.inputs
        assert outer.outputs["pipeline:predict:predictions"] == "PK<Dataset<Domain<'Image Classification'>>>"
        names = [p.name for p in outer.parameters.all()]
        assert "pipeline:train:factor" in names and "again:per_class" in names
        assert outer.parameters.get(name="pipeline:train:factor").default == 5
        assert outer.contract_name == "Predict"  # the sink "again"

    def test_no_single_sink_means_no_contract(self, train_predict, import_body):
        meta = import_body(
            meta_body(
                nodes={"a": {"name": "dogs_dummy_image_class_train"}, "b": {"name": "dogs_dummy_image_class_train"}},
                dependencies=[],
            )
        )
        assert meta.contract == "" and meta.type_parameters == {} and meta.contract_name == ""


class TestValidate:
    def test_validate_saves_nothing_and_reports_the_same(self, train_predict, admin_user):
        before = JobTemplate.objects.count()
        result = template_validate(data=meta_body())
        assert result.created and result.template is None and result.draft.version == 1
        assert JobTemplate.objects.count() == before
        with pytest.raises(InvalidRequest):
            template_validate(
                data=meta_body(dependencies=[{"from_node": "x", "from_output": "y", "to_node": "z", "to_input": "w"}])
            )
