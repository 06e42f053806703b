"""HTTP behaviour of ``/v1/job-templates`` (http-api.md §3.2): who may do what, scope, soft delete /
reinstate / hard delete, filter specs, matching and the graph route. Shapes are pinned apart, in
``test_api_shapes.py``.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

import pytest
from django.utils import timezone

from jobtemplates.models import Job, JobTemplate, Parameter
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.factories import ProjectFactory, UserFactory
from tests.jobtemplates.conftest import UFDL_TEMPLATES, load_template, meta_body
from workspaces.models import Membership

pytestmark = pytest.mark.django_db

API = "/v1/job-templates"
DOMAINS = {"ic": "Image Classification", "od": "Object Detection", "sp": "Speech"}
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
OD_DATASET = "PK<Dataset<Domain<'Object Detection'>>>"
DOGS_MODEL = "JobOutput<Model<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>>"


# --- building templates ----------------------------------------------------------------------------


def workable_body(
    name: str,
    *,
    contract: str = "Train",
    domain: str | None = "ic",
    framework: tuple[str, str] = ("dogs_dummy", "1"),
    scope: str = "public",
    project: str | None = None,
    licence: str = "Apache 2.0",
    version: int | None = None,
) -> dict:
    """A small workable template in the import format (http-api.md §3.3)."""
    if contract == "Export":
        job_type = "Export"
    else:
        job_type = f"{contract}<Domain<'{DOMAINS[domain or 'ic']}'>, Framework<'{framework[0]}', '{framework[1]}'>>"
    body = {
        "name": name,
        "description": f"{name} for tests",
        "scope": scope,
        "licence": licence,
        "specific": {
            "job_type": job_type,
            "executor_class": "ufdl.joblauncher.tests.Executor",
            "required_packages": "",
            "parameters": {"epochs": {"types": ["int"], "help": "Training epochs", "default": 5}},
        },
    }
    if domain is not None:
        body["domain"] = domain
    if project is not None:
        body["project"] = project
    if version is not None:
        body["version"] = version
    return body


@pytest.fixture
def make_template(catalogue, admin_user):
    """Import a workable template (``workable_body`` keywords) through the service; ``creator`` defaults to
    the admin."""

    def make(name: str, *, creator=None, **options) -> JobTemplate:
        return template_import(data=workable_body(name, **options), creator=creator or admin_user).template

    return make


@pytest.fixture
def make_meta(train_predict, admin_user):
    """Import a dogs train → predict meta-template; ``body_changes`` are applied to the top level."""

    def make(name: str = "dogs_train_and_predict", *, creator=None, **body_changes) -> JobTemplate:
        body = {**meta_body(name), **body_changes}
        return template_import(data=body, creator=creator or admin_user).template

    return make


@pytest.fixture
def ufdl_templates(catalogue) -> dict[str, JobTemplate]:
    """All 29 UFDL templates, imported as seeding does; name → template."""
    imported = (template_import(data=load_template(path), creator=None).template for path in UFDL_TEMPLATES)
    return {template.name: template for template in imported}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()
    return [template["name"] for template in (body["results"] if isinstance(body, dict) else body)]


def error_paths(response, status: int = 400) -> dict[str, str]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"}
    return {error["path"]: error["code"] for error in body["errors"]}


# --- who may do what -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {pk}: a workable template, {meta}: a meta-template
    body: dict | None = None
    user: int = 200  # status for an authenticated non-admin
    admin: int = 200
    changes_state: bool = False


IMPORT_BODY = workable_body("imported_by_http")
ROUTES = [
    Route("list", "post", "/list"),
    Route("get list", "get", ""),
    Route("retrieve", "get", "/{pk}"),
    Route("retrieve meta", "get", "/{meta}"),
    Route("create (UFDL path)", "post", "/create", IMPORT_BODY, 403, 403, True),
    Route("create (REST path)", "post", "", IMPORT_BODY, 403, 403, True),
    Route("update", "put", "/{pk}", IMPORT_BODY, 403, 403, True),
    Route("partial update", "patch", "/{pk}", {"description": "changed"}, 403, 403, True),
    Route("soft delete", "delete", "/{pk}", None, 403, 204, True),
    Route("hard delete", "delete", "/{pk}/hard", None, 403, 200, True),
    Route("reinstate (DELETE)", "delete", "/{pk}/reinstate", None, 403, 200, True),
    Route("reinstate (POST)", "post", "/{pk}/reinstate", None, 403, 200, True),
    Route("import", "post", "/import", IMPORT_BODY, 403, 200, True),
    Route("validate", "post", "/validate", IMPORT_BODY, 403, 200),
    Route("export", "get", "/{pk}/export", None, 403, 200),
    Route("matching", "get", "/get-all-matching-templates/Train"),
    Route("parameters", "get", "/{pk}/get-all-parameters"),
    Route("types", "get", "/{pk}/get-types"),
    Route("outputs", "get", "/{pk}/get-outputs"),
    Route("graph", "get", "/{meta}/graph"),
    Route("graph picture", "get", "/{meta}/graph?format=svg"),
]


def call(client, route: Route, *, pk: int, meta: int, slash: bool = False):
    path = API + route.path.format(pk=pk, meta=meta)
    if slash:
        path = path.replace("?", "/?") if "?" in path else path + "/"
    if route.body is None:
        return getattr(client, route.method)(path)
    return getattr(client, route.method)(path, copy.deepcopy(route.body), format="json")


def state() -> list[tuple]:
    """Everything a refused call must leave alone."""
    return list(JobTemplate.objects.values_list("pk", "name", "version", "description", "deletion_time"))


class TestPermissions:
    @pytest.fixture
    def targets(self, make_template, make_meta) -> dict[str, int]:
        return {"pk": make_template("plain").pk, "meta": make_meta().pk}

    @pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
    def test_anonymous_is_401(self, anon_client, targets, route):
        before = state()
        response = call(anon_client, route, **targets)
        assert response.status_code == 401, response.content
        assert response.json()["code"] == "not_authenticated"
        assert state() == before

    @pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
    def test_user(self, client, targets, route):
        before = state()
        response = call(client, route, **targets)
        assert response.status_code == route.user, response.content
        if route.user == 403:
            assert response.json()["code"] == "permission_denied"
            assert state() == before

    @pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
    def test_admin(self, admin_client, targets, route):
        before = state()
        response = call(admin_client, route, **targets)
        assert response.status_code == route.admin, response.content
        if route.admin >= 400 or not route.changes_state:
            assert state() == before

    @pytest.mark.parametrize("route", [r for r in ROUTES if not r.changes_state], ids=lambda r: r.name)
    def test_trailing_slash_answers_the_same(self, admin_client, targets, route):
        plain, slashed = call(admin_client, route, **targets), call(admin_client, route, slash=True, **targets)
        assert plain.status_code == slashed.status_code == route.admin
        assert plain.content == slashed.content

    def test_expired_or_malformed_token_is_401_not_403(self, targets):
        client = bearer_client()
        client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        assert client.post(f"{API}/list").status_code == 401
        assert client.delete(f"{API}/{targets['pk']}").status_code == 401

    def test_unknown_pk_is_404_for_users_and_admins(self, client, admin_client, catalogue):
        for path in (
            "/424242",
            "/424242/get-all-parameters",
            "/424242/get-types",
            "/424242/get-outputs",
            "/424242/graph",
            "/not-a-pk",
        ):
            for caller in (client, admin_client):
                response = caller.get(API + path)
                assert response.status_code == 404 and response.json()["code"] == "not_found", path
        assert admin_client.get(f"{API}/424242/export").status_code == 404
        assert admin_client.delete(f"{API}/424242").status_code == 404


# --- scope -----------------------------------------------------------------------------------------


class TestScope:
    """public: everyone; user: the creator and admins; project: the members of the project's team, and admins."""

    @pytest.fixture
    def lab(self, user):
        return ProjectFactory(name="lab", members={user: "R"})

    @pytest.fixture
    def scoped(self, make_template, make_meta, user, other_user, lab) -> dict[str, JobTemplate]:
        return {
            "public": make_template("public_train"),
            "alice_own": make_template("alice_train", scope="user", creator=user),
            "bob_own": make_template("bob_train", scope="user", creator=other_user),
            "admin_own": make_template("admin_train", scope="user"),
            "lab": make_template("lab_train", scope="project", project="lab"),
            "lab_meta": make_meta("lab_meta", scope="project", project="lab"),
        }

    # The dogs templates under the meta-templates are public.
    DOGS = {"dogs_dummy_image_class_train", "dogs_dummy_image_class_predict"}
    ALICE = {"public_train", "alice_train", "lab_train", "lab_meta"} | DOGS
    BOB = {"public_train", "bob_train"} | DOGS
    ALL = ALICE | BOB | {"admin_train"}

    def test_lists_show_only_visible_templates(self, scoped, client, other_client, admin_client):
        for caller, expected in ((client, self.ALICE), (other_client, self.BOB), (admin_client, self.ALL)):
            assert set(names(caller.post(f"{API}/list"))) == expected
            assert set(names(caller.get(API, {"page_size": 100}))) == expected
            include_inactive = caller.post(f"{API}/list", {"include_inactive": True}, format="json")
            assert set(names(include_inactive)) == expected

    @pytest.mark.parametrize("suffix", ["", "/get-all-parameters", "/get-types", "/get-outputs"])
    def test_invisible_templates_are_404(self, scoped, client, other_client, admin_client, suffix):
        for key, template in scoped.items():
            for caller, visible in ((client, self.ALICE), (other_client, self.BOB), (admin_client, self.ALL)):
                response = caller.get(f"{API}/{template.pk}{suffix}")
                expected = 200 if template.name in visible else 404
                assert response.status_code == expected, (key, suffix, response.content)

    def test_graph_of_an_invisible_meta_template_is_404(self, scoped, client, other_client, admin_client):
        pk = scoped["lab_meta"].pk
        assert client.get(f"{API}/{pk}/graph").status_code == 200
        assert other_client.get(f"{API}/{pk}/graph").status_code == 404
        assert other_client.get(f"{API}/{pk}/graph", {"format": "svg"}).status_code == 404
        assert admin_client.get(f"{API}/{pk}/graph", {"format": "svg"}).status_code == 200

    def test_admins_export_every_scope(self, scoped, admin_client, lab):
        for template in scoped.values():
            response = admin_client.get(f"{API}/{template.pk}/export")
            assert response.status_code == 200 and response.json()["scope"] == template.scope
        assert admin_client.get(f"{API}/{scoped['lab'].pk}/export").json()["project"] == lab.pk
        assert "project" not in admin_client.get(f"{API}/{scoped['public'].pk}/export").json()

    def test_matching_never_shows_invisible_templates(self, scoped, client, other_client, admin_client):
        query = {"dataset": IC_DATASET}
        train, predict = f"{API}/get-all-matching-templates/Train", f"{API}/get-all-matching-templates/Predict"
        alice_trains = {"public_train", "alice_train", "lab_train", "dogs_dummy_image_class_train"}
        assert set(names(client.get(train, query))) == alice_trains
        assert set(names(other_client.get(train, query))) == {
            "public_train",
            "bob_train",
            "dogs_dummy_image_class_train",
        }
        assert set(names(admin_client.get(train, query))) == alice_trains | {"bob_train", "admin_train"}
        assert "lab_meta" in names(client.get(predict, query))
        assert "lab_meta" not in names(other_client.get(predict, query))

    def test_leaving_the_project_hides_its_templates(self, scoped, client, user):
        pk = scoped["lab"].pk
        assert client.get(f"{API}/{pk}").status_code == 200
        Membership.objects.filter(user=user).update(deletion_time=timezone.now())
        assert client.get(f"{API}/{pk}").status_code == 404
        assert "lab_train" not in names(client.post(f"{API}/list"))

    def test_project_scope_needs_a_known_group(self, admin_client, catalogue):
        body = workable_body("nowhere", scope="project", project="no such group")
        assert error_paths(admin_client.post(f"{API}/import", body, format="json"), 422) == {
            "project": "unknown_project"
        }
        body = workable_body("nowhere", scope="project")
        assert error_paths(admin_client.post(f"{API}/import", body, format="json"), 422) == {"project": "required"}

    def test_user_scope_imported_over_http_belongs_to_the_importing_admin(self, admin_client, client, catalogue):
        response = admin_client.post(f"{API}/import", workable_body("mine", scope="user"), format="json")
        assert response.status_code == 200
        pk = response.json()["pk"]
        assert client.get(f"{API}/{pk}").status_code == 404
        staff = bearer_client(UserFactory(username="another_admin", is_staff=True))
        assert staff.get(f"{API}/{pk}").status_code == 200


# --- soft delete, reinstate, hard delete -----------------------------------------------------------


class TestLifecycle:
    def test_soft_delete_hides_from_lists_and_keeps_the_template_readable(self, make_template, client, admin_client):
        template = make_template("doomed")
        response = admin_client.delete(f"{API}/{template.pk}")
        assert response.status_code == 204 and response.content == b""
        assert "doomed" not in names(client.post(f"{API}/list"))
        assert "doomed" not in names(client.get(API))
        assert "doomed" in names(client.post(f"{API}/list", {"include_inactive": True}, format="json"))
        assert "doomed" in names(client.get(API, {"include_inactive": "true"}))
        retrieved = client.get(f"{API}/{template.pk}")
        assert retrieved.status_code == 200 and retrieved.json()["deletion_time"] is not None
        for suffix in ("/get-all-parameters", "/get-types", "/get-outputs"):
            assert client.get(f"{API}/{template.pk}{suffix}").status_code == 200
        assert "doomed" not in names(client.get(f"{API}/get-all-matching-templates/Train"))

    def test_soft_deleting_twice_keeps_the_first_time(self, make_template, admin_client, client):
        template = make_template("doomed")
        admin_client.delete(f"{API}/{template.pk}")
        first = client.get(f"{API}/{template.pk}").json()["deletion_time"]
        assert admin_client.delete(f"{API}/{template.pk}").status_code == 204
        assert client.get(f"{API}/{template.pk}").json()["deletion_time"] == first

    @pytest.mark.parametrize("method", ["delete", "post"])
    def test_reinstate(self, make_template, admin_client, client, method):
        template = make_template("back")
        admin_client.delete(f"{API}/{template.pk}")
        response = getattr(admin_client, method)(f"{API}/{template.pk}/reinstate")
        assert response.status_code == 200
        assert response.json()["pk"] == template.pk and response.json()["deletion_time"] is None
        assert "back" in names(client.post(f"{API}/list"))

    def test_reinstate_clash_is_409_and_changes_nothing(self, make_template, admin_client):
        old = make_template("twin", version=1)
        admin_client.delete(f"{API}/{old.pk}")
        new = make_template("twin", version=1)  # the name and version are free again among active templates
        assert new.pk != old.pk
        response = admin_client.post(f"{API}/{old.pk}/reinstate")
        assert response.status_code == 409
        assert response.json()["code"] == "duplicate_version" and str(new.pk) in response.json()["detail"]
        assert JobTemplate.objects.get(pk=old.pk).deletion_time is not None

    def test_hard_delete_answers_the_template_and_removes_it(self, make_template, admin_client):
        template = make_template("gone")
        retrieved = admin_client.get(f"{API}/{template.pk}").json()
        response = admin_client.delete(f"{API}/{template.pk}/hard")
        assert response.status_code == 200 and response.json() == retrieved
        assert not JobTemplate.objects.filter(pk=template.pk).exists()
        assert not Parameter.objects.filter(template_id=template.pk).exists()
        assert admin_client.get(f"{API}/{template.pk}").status_code == 404

    @pytest.mark.parametrize("job_deleted", [False, True])
    def test_hard_delete_is_409_while_a_job_references_it(self, make_template, admin_client, job_deleted):
        template = make_template("used")
        job = Job.objects.create(template=template, description="ran once")
        if job_deleted:
            Job.objects.filter(pk=job.pk).update(deletion_time=job.creation_time)
        response = admin_client.delete(f"{API}/{template.pk}/hard")
        assert response.status_code == 409
        assert response.json()["code"] == "referenced"
        assert [e["code"] for e in response.json()["errors"]] == ["referenced_by_jobs"]
        assert JobTemplate.objects.filter(pk=template.pk).exists()
        assert Parameter.objects.filter(template=template).count() == 1

    def test_hard_delete_is_409_while_a_meta_template_uses_it(self, make_meta, admin_client):
        meta = make_meta()
        child = meta.nodes.get(name="train").child
        admin_client.delete(f"{API}/{meta.pk}")  # even a soft-deleted meta-template holds on to its children
        response = admin_client.delete(f"{API}/{child.pk}/hard")
        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "referenced_by_meta_template"
        assert str(meta.pk) in response.json()["errors"][0]["message"]
        assert JobTemplate.objects.filter(pk=child.pk).exists()
        # Deleting the meta-template for good frees the child.
        assert admin_client.delete(f"{API}/{meta.pk}/hard").status_code == 200
        assert admin_client.delete(f"{API}/{child.pk}/hard").status_code == 200

    def test_soft_deleting_a_child_keeps_its_meta_template_working(self, make_meta, admin_client, client):
        meta = make_meta()
        child = meta.nodes.get(name="predict").child
        admin_client.delete(f"{API}/{child.pk}")
        assert client.get(f"{API}/{meta.pk}").status_code == 200
        assert client.get(f"{API}/{meta.pk}/graph").status_code == 200
        assert client.get(f"{API}/{meta.pk}/get-all-parameters").status_code == 200


# --- filter specs ----------------------------------------------------------------------------------


class TestFilterSpec:
    @pytest.fixture
    def catalogue_of_templates(self, make_template, make_meta) -> None:
        make_template("alpha_train", version=1)
        make_template("alpha_train", version=2, licence="MIT")
        make_template(
            "beta_predict", contract="Predict", domain="od", framework=("yolo", "v5"), scope="user", licence="GPL3"
        )
        make_template("gamma_export", contract="Export", domain=None, licence="BSD 3-clause")
        make_meta("delta_meta")  # adds the dogs train and predict templates too

    # make_meta's dogs templates are imported first (its fixture sets up before the body runs).
    ALL = [
        "dogs_dummy_image_class_train",
        "dogs_dummy_image_class_predict",
        "alpha_train",
        "alpha_train",
        "beta_predict",
        "gamma_export",
        "delta_meta",
    ]

    def listed(self, admin_client, spec: dict) -> list[str]:
        return names(admin_client.post(f"{API}/list", spec, format="json"))

    def where(self, admin_client, *expressions: dict) -> set[str]:
        return set(self.listed(admin_client, {"expressions": list(expressions)}))

    def test_no_body_and_empty_body_are_the_same_in_pk_order(self, catalogue_of_templates, admin_client):
        assert names(admin_client.post(f"{API}/list")) == self.listed(admin_client, {}) == self.ALL

    def test_contains(self, catalogue_of_templates, admin_client):
        assert self.where(admin_client, {"type": "contains", "field": "name", "sub_string": "alpha"}) == {"alpha_train"}
        assert self.where(admin_client, {"type": "contains", "field": "name", "sub_string": "ALPHA"}) == set()
        assert self.where(
            admin_client, {"type": "contains", "field": "name", "sub_string": "ALPHA", "case_insensitive": True}
        ) == {"alpha_train"}
        assert self.where(admin_client, {"type": "contains", "field": "type", "sub_string": "Predict<"}) == {
            "beta_predict",
            "dogs_dummy_image_class_predict",
            "delta_meta",
        }

    def test_exact_on_every_documented_field(self, catalogue_of_templates, admin_client):
        dogs_train = "Train<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>"
        cases = [
            ({"field": "version", "value": 2}, ["alpha_train"]),
            ({"field": "domain.name", "value": "od"}, ["beta_predict"]),
            ({"field": "licence.name", "value": "GPL3"}, ["beta_predict"]),
            ({"field": "licence.name", "value": "mit", "case_insensitive": True}, ["alpha_train"]),
            ({"field": "scope", "value": "user"}, ["beta_predict"]),
            ({"field": "kind", "value": "meta"}, ["delta_meta"]),
            ({"field": "type", "value": dogs_train}, ["dogs_dummy_image_class_train", "alpha_train", "alpha_train"]),
            ({"field": "name", "value": "gamma_export"}, ["gamma_export"]),
        ]
        for expression, expected in cases:
            assert self.listed(admin_client, {"expressions": [{"type": "exact", **expression}]}) == expected, expression

    def test_compare_isnull_and_invert(self, catalogue_of_templates, admin_client):
        assert self.where(admin_client, {"type": "compare", "field": "version", "operator": ">=", "value": 2}) == {
            "alpha_train"
        }
        assert (
            len(
                self.listed(
                    admin_client,
                    {"expressions": [{"type": "compare", "field": "version", "operator": "<", "value": 2}]},
                )
            )
            == len(self.ALL) - 1
        )
        assert self.where(admin_client, {"type": "isnull", "field": "domain.name"}) == {"gamma_export"}
        assert self.where(admin_client, {"type": "is_null", "field": "domain"}) == {"gamma_export"}
        assert self.where(admin_client, {"type": "isnull", "field": "domain.name", "invert": True}) == set(self.ALL) - {
            "gamma_export"
        }
        # NOT (domain is ic) keeps the template without a domain.
        assert self.where(admin_client, {"type": "exact", "field": "domain.name", "value": "ic", "invert": True}) == {
            "beta_predict",
            "gamma_export",
        }

    def test_and_or(self, catalogue_of_templates, admin_client):
        both = {
            "type": "and",
            "sub_expressions": [
                {"type": "contains", "field": "name", "sub_string": "alpha"},
                {"type": "exact", "field": "licence.name", "value": "MIT"},
            ],
        }
        assert self.listed(admin_client, {"expressions": [both]}) == ["alpha_train"]
        either = {
            "type": "or",
            "sub_expressions": [
                {"type": "exact", "field": "domain.name", "value": "od"},
                {"type": "isnull", "field": "domain.name"},
                both,
            ],
        }
        assert self.listed(admin_client, {"expressions": [either]}) == ["alpha_train", "beta_predict", "gamma_export"]
        assert self.where(admin_client, {**either, "invert": True}) == set(self.ALL) - {"beta_predict", "gamma_export"}
        # Expressions apply in sequence: each narrows the result.
        assert self.where(
            admin_client,
            either,
            {"type": "exact", "field": "kind", "value": "workable"},
            {"type": "compare", "field": "version", "operator": ">", "value": 1},
        ) == {"alpha_train"}

    def test_order_by_dotted_with_nulls(self, catalogue_of_templates, admin_client):
        def ordered(*order_by: dict) -> list[str]:
            return self.listed(admin_client, {"order_by": list(order_by)})

        first = ordered({"field": "domain.name", "nulls_first": True}, {"field": "name"})
        assert first[0] == "gamma_export" and first[-1] == "beta_predict"
        last = ordered({"field": "domain.name", "nulls_first": False}, {"field": "name"})
        assert last[-1] == "gamma_export" and last[-2] == "beta_predict"
        descending = ordered({"field": "domain.name", "ascending": False, "nulls_first": False})
        assert descending[0] == "beta_predict" and descending[-1] == "gamma_export"
        versions = self.listed(
            admin_client,
            {
                "expressions": [{"type": "exact", "field": "name", "value": "alpha_train"}],
                "order_by": [{"field": "version", "ascending": False}],
            },
        )
        assert versions == ["alpha_train", "alpha_train"]
        listed = admin_client.post(
            f"{API}/list", {"order_by": [{"field": "version", "ascending": False}]}, format="json"
        ).json()
        assert listed[0]["version"] == 2

    def test_bad_specs_are_400_naming_every_path(self, catalogue_of_templates, admin_client):
        spec = {
            "expressions": [
                {"type": "exact", "field": "creator.password", "value": "x"},
                {
                    "type": "or",
                    "sub_expressions": [
                        {"type": "exact", "field": "name", "value": "a"},
                        {"type": "contains", "field": "executor_class.secret", "sub_string": "b"},
                    ],
                },
                {"type": "compare", "field": "version", "operator": "~", "value": "abc"},
                {"type": "contains", "field": "name", "sub_string": ""},
            ],
            "order_by": [{"field": "creator.password"}],
            "include_inactive": "yes",
            "limit": 3,
        }
        paths = error_paths(admin_client.post(f"{API}/list", spec, format="json"))
        assert paths == {
            "expressions[0].field": "unknown_field",
            "expressions[1].sub_expressions[1].field": "unknown_field",
            "expressions[2].operator": "invalid_choice",
            "expressions[2].value": "invalid_value",
            "expressions[3].sub_string": "wrong_type",
            "order_by[0].field": "unknown_field",
            "include_inactive": "wrong_type",
            "limit": "unknown_key",
        }

    def test_get_list_query_filters(self, catalogue_of_templates, admin_client):
        assert names(admin_client.get(API, {"domain": "od"})) == ["beta_predict"]
        assert names(admin_client.get(API, {"name": "alpha_train", "version": 2})) == ["alpha_train"]
        assert names(admin_client.get(API, {"kind": "meta"})) == ["delta_meta"]
        assert set(names(admin_client.get(API, {"contract": "Predict"}))) == {
            "beta_predict",
            "dogs_dummy_image_class_predict",
            "delta_meta",
        }
        assert error_paths(admin_client.get(API, {"version": "two"})) == {"query.version": "invalid_value"}
        assert error_paths(admin_client.get(API, {"include_inactive": "perhaps"})) == {
            "query.include_inactive": "wrong_type"
        }
        page = admin_client.get(API, {"page_size": 2, "page": 2}).json()
        assert page["count"] == len(self.ALL) and len(page["results"]) == 2 and page["previous"]


# --- matching --------------------------------------------------------------------------------------


def ufdl_names(contract: str, domain: str | None = None, framework: str | None = None) -> set[str]:
    """UFDL templates of a contract (and domain description, and framework name), read from the files."""
    found = set()
    for path in UFDL_TEMPLATES:
        body = load_template(path)
        job_type = body["specific"]["job_type"]
        if not job_type.startswith(f"{contract}<"):
            continue
        if domain and f"Domain<'{domain}'>" not in job_type:
            continue
        if framework and f"Framework<'{framework}'," not in job_type:
            continue
        found.add(body["name"])
    return found


class TestMatching:
    def matching(self, client, contract: str, **query: str):
        return client.get(f"{API}/get-all-matching-templates/{contract}", query)

    def test_by_dataset_domain(self, ufdl_templates, client):
        assert len(ufdl_names("Predict", "Image Classification")) == 4
        for contract in ("Train", "Predict"):
            for domain, dataset in (("Image Classification", IC_DATASET), ("Object Detection", OD_DATASET)):
                assert set(names(self.matching(client, contract, dataset=dataset))) == ufdl_names(contract, domain)

    def test_no_query_lists_the_contract(self, ufdl_templates, client):
        assert set(names(self.matching(client, "Train"))) == ufdl_names("Train")
        assert names(self.matching(client, "Export")) == []

    def test_a_subtype_of_an_allowed_type_matches_a_supertype_does_not(self, ufdl_templates, client):
        # Name<Dataset<…>> is allowed by Predict only; a bare Dataset is a supertype of every domain's.
        ic_name = "Name<Dataset<Domain<'Image Classification'>>>"
        assert set(names(self.matching(client, "Predict", dataset=ic_name))) == ufdl_names(
            "Predict", "Image Classification"
        )
        assert names(self.matching(client, "Train", dataset=ic_name)) == []
        assert names(self.matching(client, "Predict", dataset="PK<Dataset>")) == []
        assert names(self.matching(client, "Predict", dataset="PK<Dataset<Domain<'Speech'>>>")) == []

    def test_by_model_and_several_inputs(self, ufdl_templates, client):
        assert names(self.matching(client, "Predict", model=DOGS_MODEL)) == ["dogs_dummy_image_class_predict"]
        tensorflow = "JobOutput<Model<Domain<'Image Classification'>, Framework<'tensorflow', '1.14'>>>"
        assert names(self.matching(client, "Predict", model=tensorflow)) == ["tensorflow_1_14_image_class_predict"]
        assert names(self.matching(client, "Predict", model=DOGS_MODEL, dataset=IC_DATASET)) == [
            "dogs_dummy_image_class_predict"
        ]
        assert names(self.matching(client, "Predict", model=DOGS_MODEL, dataset=OD_DATASET)) == []
        # A model of the right domain but another framework matches nothing.
        assert names(self.matching(client, "Predict", model=DOGS_MODEL.replace("dogs_dummy", "pytorch"))) == []

    def test_answers_are_the_list_representation(self, ufdl_templates, client):
        matched = self.matching(client, "Predict", model=DOGS_MODEL).json()
        retrieved = client.get(f"{API}/{matched[0]['pk']}").json()
        assert matched == [retrieved]

    def test_bad_queries_are_400_naming_the_part(self, catalogue, client):
        assert error_paths(self.matching(client, "Fit")) == {"contract": "unknown_contract"}
        assert error_paths(self.matching(client, "train")) == {"contract": "unknown_contract"}
        assert error_paths(self.matching(client, "Train", model=DOGS_MODEL)) == {"query.model": "unknown_input"}
        assert error_paths(self.matching(client, "Predict", dataset="PK<")) == {"query.dataset": "unparseable_type"}
        assert error_paths(self.matching(client, "Predict", dataset="Foo<1>")) == {"query.dataset": "unparseable_type"}
        assert error_paths(self.matching(client, "Predict", dataset="Dataset<Domain<5>>", epochs="int")) == {
            "query.dataset": "unparseable_type",
            "query.epochs": "unknown_input",
        }
        assert error_paths(self.matching(client, "Export", dataset=IC_DATASET)) == {"query.dataset": "unknown_input"}

    def test_soft_deleted_and_invisible_never_match(self, make_template, client, admin_client, other_user):
        deleted = make_template("deleted_train")
        make_template("bobs_train", scope="user", creator=other_user)
        make_template("visible_train")
        admin_client.delete(f"{API}/{deleted.pk}")
        assert names(self.matching(client, "Train", dataset=IC_DATASET)) == ["visible_train"]
        assert names(self.matching(admin_client, "Train", dataset=IC_DATASET)) == ["bobs_train", "visible_train"]

    def test_a_meta_template_matches_through_its_derived_contract(self, make_meta, client, admin_client):
        meta = make_meta()
        assert meta.contract_name == "Predict"
        assert "dogs_train_and_predict" in names(self.matching(client, "Predict", dataset=IC_DATASET))
        assert "dogs_train_and_predict" not in names(self.matching(client, "Predict", dataset=OD_DATASET))
        assert "dogs_train_and_predict" not in names(self.matching(client, "Train", dataset=IC_DATASET))
        # Two sinks: no derived contract, so it matches nothing.
        unwired = template_import(data=meta_body("unwired", dependencies=[]), creator=None).template
        assert unwired.contract == ""
        for contract in ("Train", "Predict", "Export"):
            assert "unwired" not in names(self.matching(client, contract))


# --- graph -----------------------------------------------------------------------------------------


class TestGraph:
    def test_json(self, make_meta, client):
        meta = make_meta()
        body = client.get(f"{API}/{meta.pk}/graph").json()
        assert list(body["nodes"]) == ["train", "predict"]
        assert body["nodes"]["train"]["template"]["name"] == "dogs_dummy_image_class_train"
        assert body["dependencies"] == [
            {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}
        ]
        assert client.get(f"{API}/{meta.pk}/graph", {"format": "json"}).json() == body

    def test_svg_parses_and_names_the_nodes(self, make_meta, client):
        meta = make_meta()
        response = client.get(f"{API}/{meta.pk}/graph", {"format": "svg"})
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        root = ElementTree.fromstring(response.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
        assert {"train", "predict", "dogs_train_and_predict v1", "model → model"} <= set(texts)
        assert "dogs_dummy_image_class_train v1" in " ".join(texts)

    def test_markup_in_names_is_escaped(self, make_meta, client):
        meta = make_meta('<b>&"quoted"</b>')
        response = client.get(f"{API}/{meta.pk}/graph", {"format": "svg"})
        root = ElementTree.fromstring(response.content)
        assert '<b>&"quoted"</b> v1' in [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]

    def test_workable_templates_have_no_graph(self, make_template, client):
        template = make_template("plain")
        for query in ({}, {"format": "svg"}):
            response = client.get(f"{API}/{template.pk}/graph", query)
            assert response.status_code == 400 and response.json()["code"] == "not_meta"

    def test_unknown_format_is_400(self, make_meta, client):
        meta = make_meta()
        assert error_paths(client.get(f"{API}/{meta.pk}/graph", {"format": "png"})) == {
            "query.format": "invalid_choice"
        }


# --- import and validate over HTTP -----------------------------------------------------------------


class TestImportAndValidate:
    def test_import_without_version_adds_the_next_one(self, admin_client, catalogue):
        body = workable_body("versioned")
        first = admin_client.post(f"{API}/import", body, format="json").json()
        second = admin_client.post(f"{API}/import", body, format="json").json()
        assert (first["version"], second["version"]) == (1, 2) and first["pk"] != second["pk"]

    def test_import_of_an_existing_version(self, admin_client, catalogue):
        body = workable_body("fixed", version=3)
        first = admin_client.post(f"{API}/import", body, format="json")
        same = admin_client.post(f"{API}/import", body, format="json")
        assert same.status_code == 200 and same.json()["pk"] == first.json()["pk"]
        changed = {**body, "description": "another"}
        conflict = admin_client.post(f"{API}/import", changed, format="json")
        assert conflict.status_code == 409 and conflict.json()["code"] == "duplicate_version"
        assert [e["path"] for e in conflict.json()["errors"]] == ["description"]
        assert JobTemplate.objects.filter(name="fixed").count() == 1

    def test_invalid_import_lists_every_problem_and_saves_nothing(self, admin_client, catalogue):
        body = workable_body("broken")
        body["licence"] = "nope"
        body["specific"]["parameters"]["epochs"]["default"] = "five"
        body["specific"]["job_type"] = "Train<Domain<'Image Classification'>>"
        for route in ("import", "validate"):
            paths = error_paths(admin_client.post(f"{API}/{route}", body, format="json"), 422)
            assert set(paths) == {"licence", "specific.parameters.epochs.default", "specific.job_type"}, route
        assert not JobTemplate.objects.exists()

    def test_validate_saves_nothing(self, admin_client, make_template):
        new = admin_client.post(f"{API}/validate", workable_body("fresh"), format="json").json()
        assert new["pk"] is None and new["would_create"] is True and new["version"] == 1
        assert not JobTemplate.objects.filter(name="fresh").exists()
        existing = make_template("kept", version=1)
        same = admin_client.post(f"{API}/validate", workable_body("kept", version=1), format="json").json()
        assert same["pk"] == existing.pk and same["would_create"] is False
        changed = {**workable_body("kept", version=1), "description": "other"}
        assert admin_client.post(f"{API}/validate", changed, format="json").status_code == 409

    def test_form_bodies_are_refused(self, admin_client, catalogue):
        response = admin_client.post(f"{API}/import", {"name": "x"})  # multipart, not JSON
        assert response.status_code == 400 and response.json()["code"] == "expected_json"

    def test_a_meta_template_without_a_derived_contract_reads_without_error(self, make_meta, client):
        meta = make_meta("unwired", specific={**meta_body()["specific"], "dependencies": []})
        assert meta.contract == ""
        body = client.get(f"{API}/{meta.pk}").json()
        assert body["type"] is None and body["kind"] == "meta"
        assert client.get(f"{API}/{meta.pk}/get-types").json() == {}
        assert set(client.get(f"{API}/{meta.pk}/get-outputs").json()) == {"train:model", "predict:predictions"}
        assert "predict:model" in client.get(f"{API}/{meta.pk}").json()["inputs"]  # no edge feeds it now
