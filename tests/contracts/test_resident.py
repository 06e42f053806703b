"""The server-resident binding (contracts.resident): filters, names, visibility, values and schemas."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from config.errors import InvalidRequest
from contracts.api.serializers import DockerImageSerializer
from contracts.models import DockerImage, Domain, Licence
from contracts.resident import (
    REF_KEY,
    FieldName,
    NoResidentBinding,
    ResidentBinding,
    VisibleEnums,
    binding_for,
    has_binding,
    register_resident,
    resolve_value,
    row_values,
    rows_of_type,
    schema_for,
    value_problems,
)
from contracts.resident.catalogue import domain_value
from contracts.types import TYPE_CLASSES, json_schema, make_literal, parse_type, validate_value
from contracts.types.schemas import INT_MAX, INT_MIN
from jobtemplates.models import JobOutput, TemplateScope
from jobtemplates.resident import register_job_output_binding
from tests.contracts.factories_resident import job_output
from tests.factories import (
    CUDAVersionFactory,
    DatasetFactory,
    DockerImageFactory,
    DomainFactory,
    FrameworkFactory,
    HardwareFactory,
    PretrainedModelFactory,
    ProjectFactory,
)
from workspaces.models import Dataset
from workspaces.services.datasets import dataset_create

pytestmark = pytest.mark.django_db

IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
SKLEARN_IMAGE = "DockerImage<Domain<'Image Classification'>, Framework<'scikit-learn', '1'>>"
IC_SKLEARN_MODEL = "Model<Domain<'Image Classification'>, Framework<'scikit-learn', '1'>>"
ROW_TYPES = ("Domain", "Framework", "Hardware", "CUDAVersion", "DockerImage", "PretrainedModel", "Dataset")


@pytest.fixture(autouse=True)
def _job_output_binding():
    register_job_output_binding()


def problems_of(type_string: str, value, *, user, path: str = "value"):
    return value_problems(parse_type(type_string), value, user=user, path=path)


def codes(problems) -> list[tuple[str, str]]:
    return [(problem.path, problem.code) for problem in problems]


def anonymised(message: str, pk: int) -> str:
    return message.replace(str(pk), "<pk>")


def own_type(type_string: str, value: dict) -> str:
    """The narrowest type of the row ``value``: its own domain and framework as literal arguments."""

    def literal(text: str) -> str:
        return str(make_literal(text))

    if type_string == "Domain":
        return f"Domain<{literal(value['description'])}>"
    if type_string == "Framework":
        return f"Framework<{literal(value['name'])}, {literal(value['version'])}>"
    if type_string not in ("Dataset", "DockerImage", "PretrainedModel"):
        return type_string
    domain = f"Domain<{literal(value['domain'])}>"
    if type_string == "Dataset":
        return f"Dataset<{domain}>"
    framework = value["framework"]
    return f"{type_string}<{domain}, Framework<{literal(framework['name'])}, {literal(framework['version'])}>>"


def datasets_through_the_service(*, creator, project) -> list[Dataset]:
    """Datasets made the way the API and the demo seeding make them (``dataset_create``) on the seeded
    catalogue, one per shape a value can take: public, in a project, plain; two domains."""
    licence = Licence.objects.get(name="CC-BY-4.0")
    image_classification = Domain.objects.get(name="ic")
    return [
        dataset_create(creator=creator, name="digits", domain=image_classification, licence=licence, is_public=True),
        dataset_create(
            creator=creator,
            name="birds",
            domain=image_classification,
            licence=licence,
            description="Birds, by species",
            project=project,
        ),
        dataset_create(creator=creator, name="speech", domain=Domain.objects.get(name="sp"), licence=licence),
    ]


class TestRegistry:
    def test_every_concrete_server_resident_type_is_bound(self):
        concrete = {
            name
            for name, type_class in TYPE_CLASSES.items()
            if not type_class.abstract and "ServerResidentType" in type_class.ancestors
        }
        assert concrete == {
            "CUDAVersion",
            "Dataset",
            "DockerImage",
            "Domain",
            "Framework",
            "Hardware",
            "PretrainedModel",
            "JobOutput",
        }
        assert all(has_binding(name) for name in concrete)

    def test_named_types_have_their_name_rule(self):
        # Framework is a ServerResidentType but not a NamedServerType: no Name<Framework>.
        assert binding_for("Framework").name_rule is None
        assert binding_for("Domain").name_rule.format({"description": "Speech"}) == "Speech"
        assert binding_for("Dataset").name_rule.format({"name": "birds", "version": 2}) == "birds v2"
        assert binding_for("DockerImage").name_rule.format({"name": "mm", "version": "0.25.0"}) == "mm v0.25.0"
        assert binding_for("PretrainedModel").name_rule.fields == ("name",)
        assert binding_for("Hardware").name_rule.fields == ("generation",)
        assert binding_for("CUDAVersion").name_rule.fields == ("full_version",)

    def test_register_refuses_abstract_unknown_unnamed_and_duplicates(self):
        def binding(name, **extra):
            return ResidentBinding(name, "contracts.Domain", resource="x", noun="x", row_value=domain_value, **extra)

        for name in ("ServerResidentType", "NamedServerType", "str", "PK", "NoSuchType"):
            with pytest.raises(ValueError):
                register_resident(binding(name, name_rule=FieldName("description")))
        with pytest.raises(ValueError, match="name_rule"):
            register_resident(binding("Domain"), replace=True)
        with pytest.raises(ValueError, match="already"):
            register_resident(binding("Domain", name_rule=FieldName("description")))

    def test_job_output_registration_is_idempotent(self):
        first = register_job_output_binding()
        assert register_job_output_binding() is first is binding_for("JobOutput")

    def test_binding_for_an_unbound_name(self):
        with pytest.raises(NoResidentBinding):
            binding_for("ServerResidentType")


class TestDatasetVisibility:
    def test_public_own_and_project_datasets_resolve(self, user, other_user):
        project = ProjectFactory(name="birds-project", members={user: "R"})
        public = DatasetFactory(creator=other_user, is_public=True)
        own = DatasetFactory(creator=user)
        shared = DatasetFactory(creator=other_user, project=project)
        for dataset in (public, own, shared):
            assert problems_of(IC_DATASET, dataset.pk, user=user) == []
            assert resolve_value(parse_type(IC_DATASET), dataset.pk, user=user) == dataset

    def test_an_invisible_dataset_answers_exactly_as_an_absent_one(self, user, other_user):
        private = DatasetFactory(creator=other_user, project=ProjectFactory(name="not-alice"))
        absent_pk = private.pk + 1000
        (invisible,) = problems_of(IC_DATASET, private.pk, user=user, path="input_values.dataset.value")
        (absent,) = problems_of(IC_DATASET, absent_pk, user=user, path="input_values.dataset.value")
        assert (
            (invisible.path, invisible.code)
            == (absent.path, absent.code)
            == ("input_values.dataset.value", "not_found")
        )
        assert anonymised(invisible.message, private.pk) == anonymised(absent.message, absent_pk)
        assert invisible.message == (
            f"no dataset with pk {private.pk} matching Dataset<Domain<'Image Classification'>> is visible to you"
        )

    def test_admins_and_internal_checks_see_every_dataset(self, admin_user, other_user):
        private = DatasetFactory(creator=other_user)
        assert problems_of(IC_DATASET, private.pk, user=admin_user) == []
        assert problems_of(IC_DATASET, private.pk, user=None) == []

    def test_anonymous_users_see_nothing(self):
        public = DatasetFactory(is_public=True)
        assert codes(problems_of(IC_DATASET, public.pk, user=AnonymousUser())) == [("value", "not_found")]

    def test_soft_deleted_datasets_are_not_values(self, user):
        dataset = DatasetFactory(creator=user, deletion_time=timezone.now())
        assert codes(problems_of(IC_DATASET, dataset.pk, user=user)) == [("value", "not_found")]

    def test_the_type_filter_applies(self, user):
        speech = DatasetFactory(creator=user, domain=DomainFactory(name="sp"))
        assert codes(problems_of(IC_DATASET, speech.pk, user=user)) == [("value", "not_found")]
        assert problems_of("PK<Dataset>", speech.pk, user=user) == []
        assert problems_of("PK<Dataset<Domain<'Speech'>>>", speech.pk, user=user) == []

    @pytest.mark.parametrize("value", ["7", 0, -3, True, 2.5, None])
    def test_schema_problems_come_first_and_stop_the_lookup(self, user, value):
        problems = problems_of(IC_DATASET, value, user=user, path="input_values.dataset.value")
        assert problems and {problem.code for problem in problems} == {"invalid_value"}
        assert {problem.path for problem in problems} == {"input_values.dataset.value"}

    def test_huge_pks_are_not_found_and_past_bigint_invalid(self, user):
        assert codes(problems_of(IC_DATASET, 2**63 - 1, user=user)) == [("value", "not_found")]
        # No row can have it: refused before any query (a bigint column cannot hold it).
        assert codes(problems_of(IC_DATASET, 10**30, user=user)) == [("value", "invalid_value")]


class TestNames:
    def test_a_dataset_by_name_is_the_same_row_as_by_pk(self, user):
        dataset = DatasetFactory(creator=user, name="birds", version=3)
        by_name = resolve_value(parse_type("Name<Dataset<Domain<'Image Classification'>>>"), "birds v3", user=user)
        assert by_name == resolve_value(parse_type(IC_DATASET), dataset.pk, user=user) == dataset

    @pytest.mark.parametrize("name", ["birds", "birds v03", "birds v", "birds v3 ", "birds v²", "bir\x00ds v3", "v3"])
    def test_only_the_exact_name_resolves(self, user, name):
        DatasetFactory(creator=user, name="birds", version=3)
        problems = problems_of("Name<Dataset>", name, user=user)
        assert codes(problems) == [("value", "not_found")]
        assert problems[0].message == f"no dataset named {name!r} matching Dataset<Domain<str>> is visible to you"

    def test_names_containing_the_separator(self, user):
        dataset = DatasetFactory(creator=user, name="set v2 final", version=4)
        assert resolve_value(parse_type("Name<Dataset>"), "set v2 final v4", user=user) == dataset

    def test_an_invisible_name_answers_as_an_absent_one(self, user, other_user):
        DatasetFactory(creator=other_user, name="secret", version=1)
        invisible = problems_of("Name<Dataset>", "secret v1", user=user)
        absent = problems_of("Name<Dataset>", "nothing v1", user=user)
        assert invisible[0].message.replace("secret", "X") == absent[0].message.replace("nothing", "X")

    def test_a_name_matching_several_visible_rows_is_ambiguous(self, user):
        first = PretrainedModelFactory(name="resnet18")
        second = PretrainedModelFactory(name="resnet18", framework=FrameworkFactory(name="torch", version="2"))
        (problem,) = problems_of("Name<PretrainedModel>", "resnet18", user=user)
        assert problem.code == "ambiguous_name"
        assert f"pks {first.pk}, {second.pk}" in problem.message
        # The type's filters narrow it down to one.
        narrowed = "Name<PretrainedModel<Domain, Framework<'torch', '2'>>>"
        assert resolve_value(parse_type(narrowed), "resnet18", user=user) == second

    def test_name_and_version_splits_are_all_candidates(self, user):
        DockerImageFactory(name="x v1", version="2")
        DockerImageFactory(name="x", version="1 v2")
        assert codes(problems_of("Name<DockerImage>", "x v1 v2", user=user)) == [("value", "ambiguous_name")]

    def test_long_and_many_names_stay_one_small_query(self, user, django_assert_num_queries):
        DatasetFactory(creator=user, name="a", version=1)
        overlong = "x v" * 5000 + "1"
        assert codes(problems_of("Name<Dataset>", overlong, user=user)) == [("value", "not_found")]
        names = [f"set v{n}" for n in range(3000)] + ["a v1"]
        with django_assert_num_queries(1):
            problems = problems_of("Array<Name<Dataset>>", names, user=user)
        assert len(problems) == 3000 and all(problem.code == "not_found" for problem in problems)

    def test_the_other_name_rules(self, user):
        domain = DomainFactory()
        hardware = HardwareFactory(generation="Pascal")
        cuda = CUDAVersionFactory(version="12.1")
        assert resolve_value(parse_type("Name<Domain>"), "Image Classification", user=user) == domain
        assert resolve_value(parse_type("Name<Hardware>"), "Pascal", user=user) == hardware
        assert resolve_value(parse_type("Name<CUDAVersion>"), "12.1.0", user=user) == cuda
        assert codes(problems_of("Name<CUDAVersion>", "12.1", user=user)) == [("value", "not_found")]


class TestDockerImages:
    def test_by_pk_and_name_with_the_framework_filter(self, user):
        image = DockerImageFactory(name="sk", version="1.0")
        other = DockerImageFactory(name="tf", version="1.14", framework=FrameworkFactory(name="tensorflow"))
        assert resolve_value(parse_type(f"PK<{SKLEARN_IMAGE}>"), image.pk, user=user) == image
        assert resolve_value(parse_type(f"Name<{SKLEARN_IMAGE}>"), "sk v1.0", user=user) == image
        assert codes(problems_of(f"PK<{SKLEARN_IMAGE}>", other.pk, user=user)) == [("value", "not_found")]
        assert codes(problems_of(f"Name<{SKLEARN_IMAGE}>", "tf v1.14", user=user)) == [("value", "not_found")]
        assert problems_of("PK<DockerImage>", other.pk, user=user) == []

    def test_a_row_object_value_names_its_row(self, user):
        image = DockerImageFactory()
        value = binding_for("DockerImage").row_value(image)
        assert resolve_value(parse_type(SKLEARN_IMAGE), value, user=user) == image
        assert codes(problems_of(SKLEARN_IMAGE, {**value, "pk": image.pk + 99}, user=user)) == [("value", "not_found")]
        without_pk = {key: item for key, item in value.items() if key != "pk"}
        assert codes(problems_of(SKLEARN_IMAGE, without_pk, user=user)) == [("value", "invalid_value")]

    def test_a_row_object_must_fit_the_types_fields(self, user):
        image = DockerImageFactory()
        value = binding_for("DockerImage").row_value(image)
        # The domain is its description (what Domain<'…'> fixes), never the nested domain row.
        for wrong, path in (
            ({**value, "domain": "Speech"}, "value.domain"),
            ({**value, "domain": {"description": "Image Classification"}}, "value.domain"),
            ({**value, "registry_password": "guess"}, "value"),
        ):
            assert codes(problems_of(SKLEARN_IMAGE, wrong, user=user)) == [(path, "invalid_value")]

    def test_resolved_rows_carry_their_relations(self, user, django_assert_num_queries):
        image = DockerImageFactory()
        with django_assert_num_queries(1):
            row = resolve_value(parse_type("PK<DockerImage>"), image.pk, user=user)
            assert (row.framework.name, row.domain.description, row.cuda_version.version) == (
                "scikit-learn",
                "Image Classification",
                "11.1",
            )


class TestJobOutputs:
    def test_the_stored_type_must_be_a_subtype_of_the_content(self, user):
        output = job_output(type_=IC_SKLEARN_MODEL, creator=user)
        for fitting in ("JobOutput<Model>", "JobOutput<Model<Domain<'Image Classification'>, Framework>>"):
            assert problems_of(fitting, output.pk, user=user) == [], fitting
            assert resolve_value(parse_type(fitting), output.pk, user=user) == output
        (problem,) = problems_of("JobOutput<Model<Domain<'Speech'>, Framework>>", output.pk, user=user)
        assert problem.code == "wrong_output_type"
        assert problem.message == (
            f"job output {output.pk} is of type {IC_SKLEARN_MODEL}, "
            "which is not a sub-type of Model<Domain<'Speech'>, Framework<str, str>>"
        )
        assert codes(problems_of("JobOutput<BLOB>", output.pk, user=user)) == [("value", "wrong_output_type")]

    def test_visibility_goes_through_the_job(self, user, other_user, admin_user):
        hidden = job_output(type_=IC_SKLEARN_MODEL, creator=other_user, scope=TemplateScope.USER)
        own = job_output(type_=IC_SKLEARN_MODEL, creator=user, scope=TemplateScope.USER)
        # Another user's job on a public template is theirs; a job in a project of the user's team is shared.
        on_public_template = job_output(type_=IC_SKLEARN_MODEL, creator=other_user)
        project = ProjectFactory(members={user: "R", other_user: "W"})
        in_project = job_output(type_=IC_SKLEARN_MODEL, creator=other_user, project=project)
        assert problems_of("JobOutput<Model>", own.pk, user=user) == []
        assert problems_of("JobOutput<Model>", in_project.pk, user=user) == []
        assert codes(problems_of("JobOutput<Model>", on_public_template.pk, user=user)) == [("value", "not_found")]
        (problem,) = problems_of("JobOutput<Model>", hidden.pk, user=user)
        assert (problem.code, problem.message) == ("not_found", f"no job output with pk {hidden.pk} is visible to you")
        # Even a mismatching type is not revealed for an invisible output.
        assert codes(problems_of("JobOutput<BLOB>", hidden.pk, user=user)) == [("value", "not_found")]
        assert problems_of("JobOutput<Model>", hidden.pk, user=admin_user) == []

    def test_soft_deleted_outputs_are_not_values(self, user):
        output = job_output(type_=IC_SKLEARN_MODEL, creator=user, deletion_time=timezone.now())
        assert codes(problems_of("JobOutput<Model>", output.pk, user=user)) == [("value", "not_found")]

    def test_rows_of_type_lists_the_fitting_visible_outputs(self, user, other_user):
        ic = job_output(type_=IC_SKLEARN_MODEL, creator=user)
        job_output(type_="Model<Domain<'Speech'>, Framework<'scikit-learn', '1'>>", creator=user)
        job_output(type_="BLOB<'x'>", creator=user)
        job_output(type_=IC_SKLEARN_MODEL, creator=other_user, scope=TemplateScope.USER)
        rows = rows_of_type(parse_type("JobOutput<Model<Domain<'Image Classification'>, Framework>>"), user=user)
        assert list(rows) == [ic]
        assert rows_of_type(parse_type("PK<JobOutput<Model>>"), user=user).count() == 2
        assert rows_of_type(parse_type("JobOutput"), user=user).count() == 3

    def test_pk_of_a_job_output_type(self, user):
        output = job_output(type_=IC_SKLEARN_MODEL, creator=user)
        assert resolve_value(parse_type("PK<JobOutput<Model>>"), output.pk, user=user) == output


class TestContainers:
    def test_every_element_is_checked_with_one_lookup(self, user, other_user, django_assert_num_queries):
        mine = DatasetFactory(creator=user)
        hidden = DatasetFactory(creator=other_user)
        type_ = parse_type("Array<PK<Dataset>>")
        with django_assert_num_queries(1):  # the user's projects are a subquery of the same query
            problems = value_problems(type_, [mine.pk, hidden.pk, mine.pk, 10**9], user=user, path="datasets")
        assert codes(problems) == [("datasets[1]", "not_found"), ("datasets[3]", "not_found")]
        assert resolve_value(type_, [mine.pk, mine.pk], user=user) == [mine, mine]

    def test_maps_and_mixed_references(self, user):
        dataset = DatasetFactory(creator=user, name="a", version=1)
        type_ = parse_type("Map<Name<Dataset>>")
        assert resolve_value(type_, {"train": "a v1", "test": "a v1"}, user=user) == {"train": dataset, "test": dataset}
        assert codes(value_problems(type_, {"train": "b v1"}, user=user, path="p")) == [("p.train", "not_found")]

    def test_plain_values_pass_through(self, user):
        assert resolve_value(parse_type("Array<int>"), [1, 2], user=user) == [1, 2]
        assert resolve_value(parse_type("str"), "x", user=user) == "x"

    def test_invalid_values_raise_with_every_problem(self, user):
        with pytest.raises(InvalidRequest) as caught:
            resolve_value(parse_type("Array<PK<Dataset>>"), [10**6, 10**6 + 1], user=user)
        assert caught.value.status_code == 422
        assert codes(caught.value.problems) == [("[0]", "not_found"), ("[1]", "not_found")]


class TestSchemas:
    def test_enums_list_only_visible_matching_rows(self, user, other_user):
        mine = DatasetFactory(creator=user, name="mine", version=1)
        public = DatasetFactory(creator=other_user, is_public=True, name="public", version=2)
        DatasetFactory(creator=other_user, name="hidden")
        DatasetFactory(creator=user, domain=DomainFactory(name="sp"))
        assert schema_for(parse_type(IC_DATASET), user=user) == {"enum": [mine.pk, public.pk]}
        assert schema_for(parse_type("Name<Dataset<Domain<'Image Classification'>>>"), user=user) == {
            "enum": ["mine v1", "public v2"]
        }

    @pytest.mark.parametrize("type_string", [*ROW_TYPES, SKLEARN_IMAGE, "Dataset<Domain<'Image Classification'>>"])
    def test_row_types_keep_their_object_schema(self, user, type_string, django_assert_num_queries):
        # Only PK/Name/JobOutput list rows (http-api.md §3.5); a row type is its row's object (spec §2).
        DatasetFactory(creator=user)
        DockerImageFactory()
        type_ = parse_type(type_string)
        with django_assert_num_queries(0):
            schema = schema_for(type_, user=user)
        assert schema == json_schema(type_)
        assert schema["type"] == "object" and "enum" not in schema and REF_KEY not in schema

    def test_past_the_cap_the_enum_becomes_a_reference(self, user, settings):
        settings.TYPE_ENUM_CAP = 1
        DatasetFactory(creator=user)
        assert schema_for(parse_type(IC_DATASET), user=user) == {
            "enum": [rows_of_type(parse_type(IC_DATASET), user=user)[0].pk]
        }
        DatasetFactory(creator=user)
        assert schema_for(parse_type(IC_DATASET), user=user) == {
            "type": "integer",
            "minimum": 1,
            "maximum": INT_MAX,
            REF_KEY: "datasets",
        }
        assert schema_for(parse_type("Name<Dataset>"), user=user) == {"type": "string", REF_KEY: "datasets"}
        nested = schema_for(parse_type("Array<PK<Dataset>>"), user=user)
        assert nested["items"] == {"type": "integer", "minimum": 1, "maximum": INT_MAX, REF_KEY: "datasets"}

    def test_job_output_and_docker_enums(self, user, settings):
        output = job_output(type_=IC_SKLEARN_MODEL, creator=user)
        job_output(type_="BLOB<'x'>", creator=user)
        assert schema_for(parse_type("JobOutput<Model>"), user=user) == {"enum": [output.pk]}
        settings.TYPE_ENUM_CAP = 0
        assert schema_for(parse_type("JobOutput<Model>"), user=user)[REF_KEY] == "job-outputs"
        assert schema_for(parse_type(f"PK<{SKLEARN_IMAGE}>"), user=user) == {"enum": []}

    def test_ambiguous_names_are_left_out_of_name_enums(self, user):
        PretrainedModelFactory(name="resnet18")
        PretrainedModelFactory(name="resnet18", framework=FrameworkFactory(name="torch", version="2"))
        PretrainedModelFactory(name="vgg")
        assert schema_for(parse_type("Name<PretrainedModel>"), user=user) == {"enum": ["vgg"]}

    def test_one_query_per_type_when_shared(self, user, django_assert_num_queries):
        DockerImageFactory()
        enums = VisibleEnums(user=user)
        with django_assert_num_queries(1):
            for _ in range(3):
                schema_for(parse_type(f"PK<{SKLEARN_IMAGE}>"), user=user, enums=enums)
                schema_for(parse_type(SKLEARN_IMAGE), user=user, enums=enums)  # no rows to read

    def test_enums_belong_to_one_user(self, user, other_user):
        with pytest.raises(ValueError, match="another user"):
            schema_for(parse_type("PK<Dataset>"), user=user, enums=VisibleEnums(user=other_user))

    def test_types_without_rows_keep_their_structural_schema(self, user):
        assert schema_for(parse_type("PK"), user=user) == {"type": "integer", "minimum": 1, "maximum": INT_MAX}
        assert schema_for(parse_type("int"), user=user) == {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}
        assert schema_for(parse_type(IC_SKLEARN_MODEL), user=user) is None


class TestRowValues:
    def test_registry_passwords_never_appear(self, user):
        image = DockerImageFactory()
        for type_string in (SKLEARN_IMAGE, f"PK<{SKLEARN_IMAGE}>", f"Name<{SKLEARN_IMAGE}>"):
            type_ = parse_type(type_string)
            text = json.dumps([row_values(type_, user=user), schema_for(type_, user=user)])
            assert image.registry_password not in text and "registry_password" not in text

    def test_row_values_are_valid_values_of_their_own_type(self, user):
        DockerImageFactory()
        DockerImageFactory(min_hardware_generation=None, registry_username=None)
        PretrainedModelFactory(metadata={"classes": ["cat", "dog"], "input": {"size": 224}})
        DatasetFactory(creator=user)
        DatasetFactory(creator=None, project=ProjectFactory(name="team"), is_public=True)
        for type_string in ROW_TYPES:
            type_ = parse_type(type_string)
            values = row_values(type_, user=user)
            assert values, type_string
            for value in values:
                assert validate_value(type_, value) == [], (type_string, value)
                assert value_problems(type_, value, user=user, path="") == []

    def test_seeded_rows_are_valid_values_with_exactly_the_declared_fields(self, seeded_catalogue, admin_user):
        # The Django side agrees with the pure declarations (contracts.types.catalogue): every row of the
        # seeded catalogue (and datasets made by the dataset service) writes each declared field, no
        # other, and is a valid value of its bare type and of the type its own domain/framework fix.
        project = ProjectFactory(name="birds-project")
        datasets_through_the_service(creator=admin_user, project=project)
        for type_string in ROW_TYPES:
            type_ = parse_type(type_string)
            declared = {field.name for field in type_.type_class.row_fields}
            rows = list(rows_of_type(type_, user=None))
            assert rows, type_string
            for row in rows:
                value = binding_for(type_string).row_value(row)
                assert set(value) == declared, type_string
                assert validate_value(type_, value) == [], (type_string, value)
                own = parse_type(own_type(type_string, value))
                assert validate_value(own, value) == [], (str(own), value)
                assert resolve_value(own, value, user=None) == row

    def test_a_docker_image_value_is_its_rest_representation(self, seeded_catalogue, django_assert_num_queries):
        images = list(rows_of_type(parse_type("DockerImage"), user=None))
        with django_assert_num_queries(0):
            values = [binding_for("DockerImage").row_value(image) for image in images]
        assert values == DockerImageSerializer(DockerImage.objects.order_by("pk"), many=True).data

    def test_every_docker_image_names_a_cuda_version_as_the_schema_requires(self, user):
        from django.db import IntegrityError, transaction

        with pytest.raises(IntegrityError), transaction.atomic():
            DockerImageFactory(cuda_version=None)
        image = DockerImageFactory()
        (value,) = row_values(parse_type("DockerImage"), user=user)
        assert value["cuda_version"]["pk"] == image.cuda_version.pk
        assert validate_value(parse_type("DockerImage"), value) == []

    def test_a_docker_image_value(self, user):
        image = DockerImageFactory(name="mmclassification", version="0.25.0")
        image.tasks.set([])
        (value,) = row_values(parse_type("DockerImage"), user=user)
        assert value == {
            "pk": image.pk,
            "name": "mmclassification",
            "version": "0.25.0",
            "url": "registry.example.com/mmclassification:0.25.0",
            "registry_url": "registry.example.com",
            "registry_username": "public",
            "cuda_version": {
                "pk": image.cuda_version.pk,
                "version": "11.1",
                "full_version": "11.1.0",
                "min_driver_version": "455.23",
            },
            "framework": {"pk": image.framework.pk, "name": "scikit-learn", "version": "1"},
            "domain": "Image Classification",
            "tasks": [],
            "min_hardware_generation": {
                "pk": image.min_hardware_generation.pk,
                "generation": "Pascal",
                "min_compute_capability": 6.0,
                "max_compute_capability": 7.0,
            },
            "cpu": False,
            "licence": "Apache 2.0",
        }

    def test_pretrained_model_and_dataset_values(self, user):
        model = PretrainedModelFactory(name="resnet18", metadata={"classes": 1000})
        dataset = DatasetFactory(creator=user, name="birds", version=2)
        assert row_values(parse_type("PretrainedModel"), user=user) == [
            {
                "pk": model.pk,
                "name": "resnet18",
                "description": "",
                "url": "https://models.example.com/resnet18.pth",
                "source": "",
                "framework": {"pk": model.framework.pk, "name": "scikit-learn", "version": "1"},
                "domain": "Image Classification",
                "licence": "Apache 2.0",
                "metadata": {"classes": 1000},
            }
        ]
        (value,) = row_values(parse_type("Dataset"), user=user)
        assert value == {
            "pk": dataset.pk,
            "name": "birds",
            "version": 2,
            "previous_version": -1,
            "description": "",
            "domain": "Image Classification",
            "licence": dataset.licence.pk,
            "project": None,
            "is_public": False,
            "tags": "",
            "creator": user.pk,
            "creation_time": value["creation_time"],
            "deletion_time": None,
        }
        assert value["creation_time"].endswith("Z")

    def test_listing_values_costs_constant_queries(self, user, django_assert_num_queries):
        for _ in range(5):
            DockerImageFactory()
            DatasetFactory(creator=user)
            job_output(type_=IC_SKLEARN_MODEL, creator=user)
        with django_assert_num_queries(2):
            assert len(row_values(parse_type("DockerImage"), user=user)) == 5
        with django_assert_num_queries(1):
            assert len(row_values(parse_type("Dataset"), user=user)) == 5
        with django_assert_num_queries(2):  # the distinct stored types, then the outputs
            assert len(row_values(parse_type("JobOutput<Model>"), user=user)) == 5
        assert JobOutput.objects.count() == 5
