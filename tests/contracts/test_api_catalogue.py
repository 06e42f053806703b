"""API tests of the catalogue resources (http-api.md §5): domains, licences (both spellings), frameworks,
hardware, CUDA versions, docker images and pretrained models.

One table (``RESOURCES``) drives the tests every resource shares: the permission matrix, the route
shapes with and without a trailing slash, pagination, 404s and 409s. Resource-specific behaviour
(docker registry passwords, referenced deletes, filter specs, the seeded rows) follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jsonschema
import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from contracts.models import CUDAVersion, DockerImage, Domain, Framework, Hardware, Licence, PretrainedModel
from tests.factories import (
    CUDAVersionFactory,
    DatasetFactory,
    DockerImageFactory,
    DomainFactory,
    FrameworkFactory,
    HardwareFactory,
    JobContractFactory,
    LicenceFactory,
    PretrainedModelFactory,
)

pytestmark = pytest.mark.django_db

# Fresh 2-letter domain names (UFDL's five are left to the seed and to DomainFactory's default).
DOMAIN_NAMES = iter(f"{a}{b}" for a in "qrtuvw" for b in "abcdefghijklmnopqrstuvwxyz")


def make_domain() -> Domain:
    return DomainFactory(name=next(DOMAIN_NAMES))


def docker_image_body() -> dict:
    cuda = CUDAVersionFactory()
    framework = FrameworkFactory()
    hardware = HardwareFactory()
    licence = LicenceFactory()
    JobContractFactory(name="Train")
    DomainFactory(name="ic")
    return {
        "name": "new-image",
        "version": "2.0",
        "url": "registry.example.com/new-image:2.0",
        "registry_url": "registry.example.com",
        "registry_username": "deployer",
        "registry_password": "brand-new-secret",
        "cuda_version": cuda.version,
        "framework": {"name": framework.name, "version": framework.version},
        "domain": "ic",
        "tasks": ["Train"],
        "min_hardware_generation": hardware.generation,
        "cpu": False,
        "licence": licence.name,
    }


def pretrained_model_body() -> dict:
    framework = FrameworkFactory()
    DomainFactory(name="od")
    return {
        "name": "new-model",
        "description": "a new model",
        "url": "https://models.example.com/new.pth",
        "source": "https://models.example.com/new",
        "framework": f"{framework.name}|{framework.version}",
        "domain": "od",
        "licence": LicenceFactory().name,
        "metadata": {"classes": ["cat", "dog"]},
    }


@dataclass(frozen=True)
class Resource:
    """One catalogue resource as the shared tests see it."""

    prefix: str
    model: type[Model]
    make: Callable[[], Model]  # one existing row
    create_body: Callable[[], dict]  # a valid create body (its related rows are made on the way)
    patch: dict  # a valid partial update
    keys: frozenset[str]  # the keys of the representation
    identity: tuple[str, ...] = field(default=("name",))  # what a duplicate repeats


RESOURCES = [
    Resource(
        "domains",
        Domain,
        make_domain,
        lambda: {"name": "xx", "description": "Extra Domain"},
        {"description": "Objects, detected"},
        frozenset({"pk", "name", "description"}),
    ),
    *[
        Resource(
            prefix,
            Licence,
            LicenceFactory,
            lambda: {"name": "New Licence", "url": "https://licences.example.com/new", "permissions": ["private-use"]},
            {"url": "https://licences.example.com/changed", "conditions": ["include-copyright"]},
            frozenset({"pk", "name", "url", "domains", "permissions", "limitations", "conditions"}),
        )
        for prefix in ("licences", "licenses")
    ],
    Resource(
        "frameworks",
        Framework,
        FrameworkFactory,
        lambda: {"name": "newframework", "version": "2.1"},
        {"version": "2.2"},
        frozenset({"pk", "name", "version"}),
    ),
    Resource(
        "hardware",
        Hardware,
        HardwareFactory,
        lambda: {"generation": "Blackwell", "min_compute_capability": 10.0, "max_compute_capability": 11.0},
        {"max_compute_capability": 12.5},
        frozenset({"pk", "generation", "min_compute_capability", "max_compute_capability"}),
        identity=("generation",),
    ),
    Resource(
        "cuda",
        CUDAVersion,
        CUDAVersionFactory,
        lambda: {"version": "99.1", "full_version": "99.1.7", "min_driver_version": "600.1"},
        {"min_driver_version": "601.2"},
        frozenset({"pk", "version", "full_version", "min_driver_version"}),
        identity=("version",),
    ),
    Resource(
        "docker",
        DockerImage,
        DockerImageFactory,
        docker_image_body,
        {"cpu": True, "min_hardware_generation": None},
        frozenset(
            {
                "pk",
                "name",
                "version",
                "url",
                "registry_url",
                "registry_username",
                "cuda_version",
                "framework",
                "domain",
                "tasks",
                "min_hardware_generation",
                "cpu",
                "licence",
            }
        ),
        identity=("name", "version"),
    ),
    Resource(
        "pretrained-models",
        PretrainedModel,
        PretrainedModelFactory,
        pretrained_model_body,
        {"description": "changed", "metadata": {"classes": ["x"]}},
        frozenset({"pk", "name", "description", "url", "source", "framework", "domain", "licence", "metadata"}),
        identity=("name", "framework"),
    ),
]

WRITE_REQUESTS = ("create_route", "create_plain", "put", "patch", "delete")


def write_request(client, resource: Resource, kind: str, pk: int, body: dict):
    base = f"/v1/{resource.prefix}"
    if kind == "create_route":
        return client.post(f"{base}/create", body, format="json")
    if kind == "create_plain":
        return client.post(base, body, format="json")
    if kind == "put":
        return client.put(f"{base}/{pk}", body, format="json")
    if kind == "patch":
        return client.patch(f"{base}/{pk}", resource.patch, format="json")
    return client.delete(f"{base}/{pk}")


@pytest.fixture(params=RESOURCES, ids=lambda r: r.prefix)
def resource(request) -> Resource:
    return request.param


class TestPermissionMatrix:
    def test_anonymous_is_401_everywhere(self, anon_client, resource):
        row = resource.make()
        base = f"/v1/{resource.prefix}"
        reads = [
            anon_client.get(base),
            anon_client.post(f"{base}/list", {}, format="json"),
            anon_client.get(f"{base}/{row.pk}"),
        ]
        writes = [write_request(anon_client, resource, kind, row.pk, {}) for kind in WRITE_REQUESTS]
        for response in reads + writes:
            assert response.status_code == 401, (response.request["PATH_INFO"], response.content)
            assert response.json()["code"] == "not_authenticated"

    def test_users_read(self, client, resource):
        row = resource.make()
        base = f"/v1/{resource.prefix}"
        page = client.get(base)
        assert page.status_code == 200
        assert set(page.json()) == {"count", "next", "previous", "results"}
        assert row.pk in [item["pk"] for item in page.json()["results"]]
        listed = client.post(f"{base}/list", {}, format="json")
        assert listed.status_code == 200
        assert isinstance(listed.json(), list)
        assert [item["pk"] for item in listed.json()] == sorted(resource.model.objects.values_list("pk", flat=True))
        detail = client.get(f"{base}/{row.pk}")
        assert detail.status_code == 200
        assert set(detail.json()) == resource.keys
        assert detail.json()["pk"] == row.pk

    @pytest.mark.parametrize("kind", WRITE_REQUESTS)
    def test_users_may_not_write(self, client, resource, kind):
        row = resource.make()
        body = resource.create_body()
        count = resource.model.objects.count()
        response = write_request(client, resource, kind, row.pk, body)
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
        assert resource.model.objects.count() == count

    def test_admin_creates_through_the_create_route_with_200(self, admin_client, resource):
        response = write_request(admin_client, resource, "create_route", 0, resource.create_body())
        assert response.status_code == 200, response.content
        assert set(response.json()) == resource.keys
        assert resource.model.objects.filter(pk=response.json()["pk"]).exists()

    def test_admin_creates_through_plain_post_with_201(self, admin_client, resource):
        response = write_request(admin_client, resource, "create_plain", 0, resource.create_body())
        assert response.status_code == 201, response.content
        assert resource.model.objects.filter(pk=response.json()["pk"]).exists()

    def test_admin_patches(self, admin_client, resource):
        row = resource.make()
        response = write_request(admin_client, resource, "patch", row.pk, {})
        assert response.status_code == 200, response.content
        for key, value in resource.patch.items():
            assert response.json()[key] == value
        assert admin_client.get(f"/v1/{resource.prefix}/{row.pk}").json() == response.json()

    def test_admin_puts(self, admin_client, resource):
        row = resource.make()
        body = resource.create_body()
        response = write_request(admin_client, resource, "put", row.pk, body)
        assert response.status_code == 200, response.content
        assert response.json()["pk"] == row.pk
        first_key = resource.identity[0]
        assert response.json()[first_key] == body[first_key]

    def test_admin_deletes_for_good(self, admin_client, resource):
        row = resource.make()
        response = write_request(admin_client, resource, "delete", row.pk, {})
        assert response.status_code == 204, response.content
        assert not resource.model.objects.filter(pk=row.pk).exists()


class TestRoutes:
    def test_unknown_pk_is_404(self, client, resource):
        response = client.get(f"/v1/{resource.prefix}/987654")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_with_and_without_trailing_slash(self, client, admin_client, resource):
        row = resource.make()
        base = f"/v1/{resource.prefix}"
        for path in (base, f"{base}/{row.pk}"):
            plain, slashed = client.get(path), client.get(path + "/")
            assert plain.status_code == slashed.status_code == 200
            assert plain.json() == slashed.json()
        plain = client.post(f"{base}/list", {}, format="json")
        slashed = client.post(f"{base}/list/", {}, format="json")
        assert plain.status_code == slashed.status_code == 200
        assert plain.json() == slashed.json()
        created = admin_client.post(f"{base}/create/", resource.create_body(), format="json")
        assert created.status_code == 200, created.content

    def test_pagination(self, client, resource):
        for _ in range(3):
            resource.make()
        total = resource.model.objects.count()
        assert total >= 2
        first = client.get(f"/v1/{resource.prefix}?page_size=1").json()
        assert first["count"] == total
        assert first["previous"] is None
        assert first["next"] is not None and "page=2" in first["next"]
        assert len(first["results"]) == 1
        last = client.get(f"/v1/{resource.prefix}?page_size=1&page={total}").json()
        assert last["next"] is None
        assert last["previous"] is not None
        assert client.get(f"/v1/{resource.prefix}?page=999").status_code == 404

    def test_duplicate_identity_is_409(self, admin_client, resource):
        body = resource.create_body()
        assert admin_client.post(f"/v1/{resource.prefix}/create", body, format="json").status_code == 200
        count = resource.model.objects.count()
        again = admin_client.post(f"/v1/{resource.prefix}/create", body, format="json")
        assert again.status_code == 409, again.content
        assert again.json()["code"] == "duplicate"
        assert resource.model.objects.count() == count

    def test_malformed_body_is_400_naming_the_field(self, admin_client, resource):
        body = resource.create_body()
        first_key = resource.identity[0]
        body[first_key] = ["not", "a", "scalar"]
        response = admin_client.post(f"/v1/{resource.prefix}/create", body, format="json")
        assert response.status_code == 400, response.content
        assert first_key in {error["path"] for error in response.json()["errors"]}

    def test_filter_spec_rejects_unknown_fields(self, client, resource):
        response = client.post(
            f"/v1/{resource.prefix}/list",
            {"expressions": [{"type": "exact", "field": "no_such_field", "value": 1}]},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["path"] == "expressions[0].field"


# --- licences, domains, frameworks -----------------------------------------------------------------------


def test_licences_and_licenses_serve_the_same_rows(client):
    LicenceFactory.create_batch(2)
    assert client.post("/v1/licences/list").json() == client.post("/v1/licenses/list").json()


def test_deleting_a_referenced_licence_is_409(admin_client):
    dataset = DatasetFactory()
    response = admin_client.delete(f"/v1/licences/{dataset.licence_id}")
    assert response.status_code == 409
    assert response.json()["code"] == "referenced"
    assert any("dataset" in error["message"] for error in response.json()["errors"])
    assert Licence.objects.filter(pk=dataset.licence_id).exists()


def test_deleting_a_framework_a_docker_image_uses_is_409(admin_client):
    image = DockerImageFactory()
    response = admin_client.delete(f"/v1/frameworks/{image.framework_id}")
    assert response.status_code == 409
    assert Framework.objects.filter(pk=image.framework_id).exists()


def test_licence_lists_are_checked(admin_client):
    response = admin_client.post(
        "/v1/licences/create", {"name": "Odd", "permissions": ["commercial-use", "teleportation"]}, format="json"
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"] == "permissions[1]"  # the second item
    assert error["code"] == "invalid_choice"


def test_domain_names_are_two_lower_case_letters(admin_client):
    response = admin_client.post("/v1/domains/create", {"name": "ICX", "description": "Too long"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "name"


def test_query_filters_on_get_lists(client, seeded_catalogue):
    frameworks = client.get("/v1/frameworks?name=tensorflow").json()
    assert sorted(item["version"] for item in frameworks["results"]) == ["1.14", "1.15"]
    assert client.get("/v1/domains?name=sp").json()["results"] == [
        {"pk": Domain.objects.get(name="sp").pk, "name": "sp", "description": "Speech"}
    ]
    images = client.get("/v1/docker?domain=sc").json()
    assert [item["name"] for item in images["results"]] == ["pww3_cpu"]
    cpu_images = client.get("/v1/docker?cpu=true&page_size=100").json()
    assert cpu_images["count"] == DockerImage.objects.filter(cpu=True).count()
    assert all(item["cpu"] for item in cpu_images["results"])
    assert client.get("/v1/docker?cpu=maybe").status_code == 400


def test_seeded_catalogue_over_the_api(client, seeded_catalogue):
    assert len(client.post("/v1/domains/list").json()) == 5
    assert len(client.post("/v1/licences/list").json()) == 14
    assert len(client.post("/v1/frameworks/list").json()) == 19
    assert len(client.post("/v1/hardware/list").json()) == 8
    assert len(client.post("/v1/cuda/list").json()) == 21
    assert len(client.post("/v1/docker/list").json()) == 23
    assert len(client.post("/v1/pretrained-models/list").json()) == 16


# --- docker images ------------------------------------------------------------------------------------

# The DockerImage row schema UFDL's get-all-parameters answered (reference response 015).
UFDL_DOCKER_IMAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "cpu": {"type": "boolean"},
        "cuda_version": {
            "type": "object",
            "properties": {
                "full_version": {"type": "string", "maxLength": 16},
                "min_driver_version": {"type": "string", "maxLength": 16},
                "version": {"type": "string"},
                "pk": {"type": "integer", "minimum": 1},
            },
            "required": ["full_version", "min_driver_version", "version"],
            "additionalProperties": False,
        },
        "domain": {"const": "Image Classification"},
        "framework": {
            "type": "object",
            "properties": {
                "name": {"const": "tensorflow"},
                "version": {"const": "1.14"},
                "pk": {"type": "integer", "minimum": 1},
            },
            "required": ["name", "version"],
            "additionalProperties": False,
        },
        "min_hardware_generation": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "generation": {"type": "string"},
                        "max_compute_capability": {"type": "number"},
                        "min_compute_capability": {"type": "number"},
                        "pk": {"type": "integer", "minimum": 1},
                    },
                    "required": ["generation", "max_compute_capability", "min_compute_capability"],
                    "additionalProperties": False,
                },
                {"const": None},
            ]
        },
        "registry_url": {"type": "string"},
        "tasks": {"type": "array", "items": {"type": "string"}},
        "url": {"type": "string"},
        "licence": {"type": "string"},
        "name": {"type": "string"},
        "pk": {"type": "integer", "minimum": 1},
        "registry_password": {"oneOf": [{"type": "string"}, {"const": None}]},
        "registry_username": {"oneOf": [{"type": "string"}, {"const": None}]},
        "version": {"type": "string"},
    },
    "required": [
        "cpu",
        "cuda_version",
        "domain",
        "framework",
        "min_hardware_generation",
        "registry_url",
        "tasks",
        "url",
    ],
    "additionalProperties": False,
}


def test_docker_image_representation(client, seeded_catalogue):
    image = DockerImage.objects.get(name="tf_imageclass", version="1.14")
    body = client.get(f"/v1/docker/{image.pk}").json()
    assert body == {
        "pk": image.pk,
        "name": "tf_imageclass",
        "version": "1.14",
        "url": "public.aml-repo.cms.waikato.ac.nz:443/tensorflow/image_classification:1.14",
        "registry_url": "public.aml-repo.cms.waikato.ac.nz:443",
        "registry_username": "public",
        "cuda_version": {
            "pk": image.cuda_version_id,
            "version": "10.0",
            "full_version": "10.0.130",
            "min_driver_version": "410.48",
        },
        "framework": {"pk": image.framework_id, "name": "tensorflow", "version": "1.14"},
        "domain": "Image Classification",
        "tasks": list(image.tasks.order_by("pk").values_list("name", flat=True)),
        "min_hardware_generation": {
            "pk": image.min_hardware_generation_id,
            "generation": "Pascal",
            "min_compute_capability": 6.0,
            "max_compute_capability": 7.0,
        },
        "cpu": False,
        "licence": "Apache 2.0",
    }
    jsonschema.validate(body, UFDL_DOCKER_IMAGE_SCHEMA)
    cpu_image = client.get(f"/v1/docker/{DockerImage.objects.get(name='tf_imageclass_cpu').pk}").json()
    jsonschema.validate(cpu_image, UFDL_DOCKER_IMAGE_SCHEMA)
    assert cpu_image["min_hardware_generation"] is None


class TestRegistryPasswordNeverLeaves:
    SECRET = "registry-secret-do-not-leak"

    def test_not_in_lists_or_retrieve(self, client, admin_client):
        image = DockerImageFactory(registry_password=self.SECRET)
        for api in (client, admin_client):
            for response in (
                api.get("/v1/docker"),
                api.post("/v1/docker/list"),
                api.get(f"/v1/docker/{image.pk}"),
            ):
                assert response.status_code == 200
                assert self.SECRET.encode() not in response.content
                assert b"registry_password" not in response.content

    @pytest.mark.parametrize(
        "spec",
        [
            {"expressions": [{"type": "exact", "field": "registry_password", "value": SECRET}]},
            {"expressions": [{"type": "contains", "field": "registry_password", "sub_string": "s"}]},
            {"order_by": [{"field": "registry_password"}]},
        ],
    )
    def test_cannot_be_filtered_or_ordered_on(self, admin_client, spec):
        DockerImageFactory(registry_password=self.SECRET)
        response = admin_client.post("/v1/docker/list", spec, format="json")
        assert response.status_code == 400
        paths = {error["path"] for error in response.json()["errors"]}
        assert paths & {"expressions[0].field", "order_by[0].field"}

    def test_write_only_on_admin_writes(self, admin_client):
        body = docker_image_body()
        created = admin_client.post("/v1/docker/create", body, format="json")
        assert created.status_code == 200, created.content
        assert "registry_password" not in created.json()
        assert body["registry_password"].encode() not in created.content
        image = DockerImage.objects.get(pk=created.json()["pk"])
        assert image.registry_password == "brand-new-secret"
        # An edit that does not mention the password keeps it; one that does replaces it.
        patched = admin_client.patch(f"/v1/docker/{image.pk}", {"cpu": True}, format="json")
        assert patched.status_code == 200 and "registry_password" not in patched.json()
        image.refresh_from_db()
        assert image.registry_password == "brand-new-secret"
        admin_client.patch(f"/v1/docker/{image.pk}", {"registry_password": "rotated"}, format="json")
        image.refresh_from_db()
        assert image.registry_password == "rotated"


def test_docker_image_writes_resolve_names_and_report_unknown_ones_with_422(admin_client):
    body = docker_image_body()
    created = admin_client.post("/v1/docker/create", body, format="json").json()
    assert created["tasks"] == ["Train"]
    assert created["domain"] == "Image Classification"
    assert created["cuda_version"]["version"] == body["cuda_version"]
    body.update(name="other", licence="No Such Licence", tasks=["Train", "Dance"], domain="zz")
    response = admin_client.post("/v1/docker/create", body, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_request"
    assert {error["path"] for error in response.json()["errors"]} == {"licence", "tasks", "domain"}
    assert {error["code"] for error in response.json()["errors"]} == {"does_not_exist"}
    # A malformed value beside the unknown names makes it a 400 listing every problem.
    body.update(cpu="sometimes")
    response = admin_client.post("/v1/docker/create", body, format="json")
    assert response.status_code == 400
    assert {error["path"] for error in response.json()["errors"]} == {"licence", "tasks", "domain", "cpu"}


def test_docker_filter_specs(client, seeded_catalogue):
    def names(spec):
        response = client.post("/v1/docker/list", spec, format="json")
        assert response.status_code == 200, response.content
        return [(row["name"], row["version"]) for row in response.json()]

    assert names({"expressions": [{"type": "exact", "field": "tasks", "value": "Export"}]}) == [
        ("tf_objdet", "1.14.0_2019-08-31")
    ]
    speech = names({"expressions": [{"type": "exact", "field": "domain.name", "value": "sp"}]})
    assert sorted(speech) == sorted(DockerImage.objects.filter(domain__name="sp").values_list("name", "version"))
    by_framework = names(
        {
            "expressions": [
                {"type": "exact", "field": "framework.name", "value": "yolo"},
                {"type": "exact", "field": "cpu", "value": True},
            ],
            "order_by": [{"field": "version", "ascending": False}],
        }
    )
    assert by_framework == [
        ("yolo_cpu", "v7_2022-10-08-05_cpu"),
        ("yolo_cpu", "v5_2022-11-05_cpu"),
        ("yolo_cpu", "v5_2022-01-21_cpu"),
    ]


def test_pretrained_model_representation(client, seeded_catalogue):
    model = PretrainedModel.objects.get(name="yolov5m_v6.0")
    assert client.get(f"/v1/pretrained-models/{model.pk}").json() == {
        "pk": model.pk,
        "name": "yolov5m_v6.0",
        "description": "TODO",
        "url": "https://github.com/ultralytics/yolov5/releases/download/v6.0/yolov5m.pt",
        "source": "https://github.com/ultralytics/yolov5/releases/download/v6.0/yolov5m.pt",
        "framework": {"pk": model.framework_id, "name": "yolo", "version": "v5"},
        "domain": "od",
        "licence": "GPL3",
        "metadata": {},
    }


@pytest.mark.parametrize("path", ["/v1/docker", "/v1/docker/list"])
def test_docker_image_lists_run_a_constant_number_of_queries(client, path):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as context:
            response = client.post(path) if path.endswith("list") else client.get(path)
        assert response.status_code == 200
        return len(context.captured_queries)

    DockerImageFactory.create_batch(2, tasks=["Train", "Predict"])
    few = queries_for_list()
    DockerImageFactory.create_batch(8, tasks=["Train", "Export"])
    assert queries_for_list() == few


def test_pretrained_model_list_runs_a_constant_number_of_queries(client):
    PretrainedModelFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        client.post("/v1/pretrained-models/list")
    PretrainedModelFactory.create_batch(8)
    with CaptureQueriesContext(connection) as many:
        assert len(client.post("/v1/pretrained-models/list").json()) == 10
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the admin of the catalogue (contracts/admin.py) ----------------------------------------------------


@pytest.fixture
def admin_site(admin_user):
    """A browser session logged in to the Django admin."""
    from django.test import Client

    browser = Client()
    browser.force_login(admin_user)
    return browser


@pytest.mark.parametrize(
    "model", ["domain", "licence", "framework", "hardware", "cudaversion", "dockerimage", "pretrainedmodel"]
)
def test_admin_pages_load(admin_site, seeded_catalogue, model):
    listing = admin_site.get(f"/admin/contracts/{model}/?q=a")
    assert listing.status_code == 200
    assert admin_site.get(f"/admin/contracts/{model}/add/").status_code == 200


class TestDockerImageAdminPassword:
    SECRET = "registry-secret-do-not-leak"

    def form_data(self, image, **changes):
        from django.forms.models import model_to_dict

        data = {key: value for key, value in model_to_dict(image).items() if value is not None}
        data["tasks"] = [task.pk for task in image.tasks.all()]
        data.pop("registry_password", None)
        data.update(changes)
        return data

    def test_the_change_page_never_shows_it(self, admin_site):
        image = DockerImageFactory(registry_password=self.SECRET)
        page = admin_site.get(f"/admin/contracts/dockerimage/{image.pk}/change/")
        assert page.status_code == 200
        assert b'name="registry_password"' in page.content
        assert self.SECRET.encode() not in page.content

    def test_blank_keeps_new_value_replaces_clear_removes(self, admin_site):
        from contracts.admin import DockerImageAdminForm

        image = DockerImageFactory(registry_password=self.SECRET, tasks=["Train"])
        form = DockerImageAdminForm(data=self.form_data(image, registry_password="", cpu=True), instance=image)
        assert form.is_valid(), form.errors
        form.save()
        image.refresh_from_db()
        assert (image.registry_password, image.cpu) == (self.SECRET, True)

        form = DockerImageAdminForm(data=self.form_data(image, registry_password="rotated"), instance=image)
        assert form.is_valid(), form.errors
        form.save()
        image.refresh_from_db()
        assert image.registry_password == "rotated"

        form = DockerImageAdminForm(data=self.form_data(image, clear_registry_password="on"), instance=image)
        assert form.is_valid(), form.errors
        form.save()
        image.refresh_from_db()
        assert image.registry_password is None

    def test_saving_through_the_admin_page_keeps_it(self, admin_site):
        image = DockerImageFactory(registry_password=self.SECRET, tasks=["Train"])
        response = admin_site.post(
            f"/admin/contracts/dockerimage/{image.pk}/change/", self.form_data(image, version="9.9")
        )
        assert response.status_code == 302, response.content
        image.refresh_from_db()
        assert (image.version, image.registry_password) == ("9.9", self.SECRET)


def test_openapi_documents_the_routes_without_secrets():
    from django.urls import include, path
    from drf_spectacular.generators import SchemaGenerator

    from contracts.api import urls

    schema = SchemaGenerator(patterns=[path("v1/", include(urls.urlpatterns))]).get_schema(request=None, public=True)
    assert {"/v1/licences/create", "/v1/licenses/list", "/v1/docker/{id}", "/v1/pretrained-models"} <= set(
        schema["paths"]
    )
    components = schema["components"]["schemas"]
    assert "registry_password" not in components["DockerImage"]["properties"]
    assert components["DockerImageWriteRequest"]["properties"]["registry_password"]["writeOnly"] is True
