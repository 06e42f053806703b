"""SQL queries per request on ``/v1/job-templates`` do not grow with the number of templates (STYLE.md
rule 2: no N+1). Each read is measured with 3 templates, then with 30, and the counts must be equal
(and under a small ceiling, so that a constant but wasteful count shows too).

The templates are variants of UFDL's TensorFlow training template (docker images as ``Name``, ``PK`` and
row types, so schemas list rows) plus dogs train → predict meta-templates (nodes and edges to prefetch).
"""

from __future__ import annotations

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobtemplates.models import JobTemplate
from jobtemplates.services.runnability import shapes_forget
from jobtemplates.services.templates import template_import
from tests.jobtemplates.conftest import meta_body

pytestmark = pytest.mark.django_db

API = "/v1/job-templates"
TF_TRAIN = "image-classification__0001_tensorflow_1_14_image_class_train.json"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
# Ceilings. A list: the bearer's user (1), the page count (GET only, or a window's total: 1), the
# templates with their kept representations joined (1), the nodes of the listed meta-templates for their
# verdicts (1 per level of nesting), and the fleet their runnability is judged against (live nodes,
# registered nodes when none is live, live workers, hardware: 4). Was 10 when each answer was rebuilt
# from the templates' domain, licence, project, parameters, nodes and edges.
MAX_LIST_QUERIES = 8
# get-all-parameters: the user and the template with its kept skeleton (2), then the TensorFlow
# template's docker image types, whose schemas list the caller's rows: Name and PK of the same docker
# images, which every caller may use, read by one statement (1; it was 2, one per type). The row type's
# schema is the same for every caller, so it is kept (it was 9: the three prefetches and the row type's
# rows and their tasks).
MAX_PARAMETERS_QUERIES = 3


@pytest.fixture
def grow(train_predict, ufdl_bodies, admin_user):
    """``grow(n)`` brings the number of templates to ``n`` (about a quarter meta-templates)."""
    tensorflow = ufdl_bodies[TF_TRAIN]

    def grow(n: int) -> None:
        while JobTemplate.objects.count() < n:
            index = JobTemplate.objects.count()
            if index % 4 == 3:
                body = meta_body(f"meta_{index}")
            else:
                body = {**copy.deepcopy(tensorflow), "name": f"tensorflow_variant_{index}"}
                body.pop("version")
            template_import(data=body, creator=admin_user)

    return grow


def count_queries(client, method: str, path: str, data=None) -> int:
    # Every read measured cold: meta-templates' shapes read in their query per level of nesting, not
    # kept from an earlier read (jobtemplates.services.runnability), so that few and many compare alike.
    shapes_forget()
    with CaptureQueriesContext(connection) as captured:
        if data is None:
            response = getattr(client, method)(path)
        else:
            response = getattr(client, method)(path, data, format="json" if method == "post" else None)
    assert response.status_code == 200, response.content
    return len(captured)


def reads(first_pk: int) -> dict[str, tuple]:
    """The reads measured: name → (method, path, data)."""
    return {
        "POST list": ("post", f"{API}/list", None),
        "POST list, filtered and ordered": (
            "post",
            f"{API}/list",
            {
                "expressions": [{"type": "contains", "field": "name", "sub_string": "_"}],
                "order_by": [{"field": "domain.name", "nulls_first": True}],
            },
        ),
        "POST list, a window": ("post", f"{API}/list?limit=5&offset=2", None),
        "GET list": ("get", API, {"page_size": 100}),
        "retrieve": ("get", f"{API}/{first_pk}", None),
        "get-all-parameters": ("get", f"{API}/{first_pk}/get-all-parameters", None),
        "matching": ("get", f"{API}/get-all-matching-templates/Train", {"dataset": IC_DATASET}),
        "matching, a window": (
            "get",
            f"{API}/get-all-matching-templates/Train",
            {"dataset": IC_DATASET, "limit": 2, "offset": 1},
        ),
    }


@pytest.mark.parametrize("caller", ["client", "admin_client"])
def test_reads_are_constant_in_the_number_of_templates(grow, request, caller):
    client = request.getfixturevalue(caller)
    # Four templates, so that the few include a meta-template too: verdicts read the nodes of the listed
    # meta-templates (one query per level of nesting, however many there are).
    grow(4)
    first = JobTemplate.objects.filter(name__startswith="tensorflow_variant").order_by("pk").first()
    measured = reads(first.pk)
    few = {name: count_queries(client, *read) for name, read in measured.items()}
    grow(30)
    assert len(client.post(f"{API}/list").json()) == 30
    many = {name: count_queries(client, *read) for name, read in measured.items()}
    assert many == few
    lists = ("POST list", "POST list, a window", "GET list", "matching", "matching, a window")
    assert max(few[name] for name in lists) <= MAX_LIST_QUERIES, few
    assert few["get-all-parameters"] <= MAX_PARAMETERS_QUERIES, few


def test_get_all_parameters_is_constant_in_the_number_of_parameters(catalogue, ufdl_bodies, client, admin_user):
    """Many parameters of the same types cost what a few do: each distinct type's rows are listed once."""
    counts = []
    for size in (3, 30):
        body = copy.deepcopy(ufdl_bodies[TF_TRAIN])
        docker = body["specific"]["parameters"]["docker_image"]
        body["name"] = f"wide_{size}"
        body["specific"]["parameters"] = {f"image_{i}": copy.deepcopy(docker) for i in range(size)}
        template = template_import(data=body, creator=admin_user).template
        counts.append(count_queries(client, "get", f"{API}/{template.pk}/get-all-parameters"))
    assert counts[0] == counts[1], counts


def test_the_graph_and_export_are_constant_in_the_number_of_templates(grow, admin_client):
    grow(4)
    meta = JobTemplate.objects.filter(kind="meta").first()
    paths = [f"{API}/{meta.pk}/graph", f"{API}/{meta.pk}/graph?format=svg", f"{API}/{meta.pk}/export"]
    few = [count_queries(admin_client, "get", path) for path in paths]
    grow(30)
    assert [count_queries(admin_client, "get", path) for path in paths] == few
