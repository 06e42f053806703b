"""Opt-in windows of the array lists (``?limit=&offset=``): ``POST …/list`` and matching.

Without them the whole bare array comes back, as UFDL clients expect; with them, a slice of the same
array in the same order, the total in ``X-Total-Count`` and the neighbouring pages in ``Link``.
"""

from __future__ import annotations

import copy
import re

import pytest

from jobtemplates.services.templates import template_import

pytestmark = pytest.mark.django_db

API = "/v1/job-templates"
TF_TRAIN = "image-classification__0001_tensorflow_1_14_image_class_train.json"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
MATCHING = f"{API}/get-all-matching-templates/Train"


@pytest.fixture
def seven_trainers(catalogue, ufdl_bodies, admin_user):
    """Seven TensorFlow training templates (contract Train, image classification), in pk order."""
    pks = []
    for index in range(7):
        body = {**copy.deepcopy(ufdl_bodies[TF_TRAIN]), "name": f"tf_variant_{index}"}
        body.pop("version")
        pks.append(template_import(data=body, creator=admin_user).template.pk)
    return pks


def links(response) -> dict[str, str]:
    """rel → URL of the ``Link`` header."""
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.get("Link", ""))}


def test_without_a_window_the_whole_array_and_no_paging_headers(seven_trainers, client):
    response = client.post(f"{API}/list")
    assert response.status_code == 200
    assert [row["pk"] for row in response.json()] == seven_trainers
    assert "X-Total-Count" not in response
    assert "Link" not in response


def test_a_window_of_the_list_is_a_slice_of_the_whole_in_order(seven_trainers, client):
    whole = client.post(f"{API}/list").json()
    response = client.post(f"{API}/list?limit=3&offset=2")
    assert response.status_code == 200
    assert response.json() == whole[2:5]
    assert response["X-Total-Count"] == "7"
    pages = links(response)
    assert set(pages) == {"next", "prev"}
    assert "offset=5" in pages["next"] and "limit=3" in pages["next"]
    assert "offset=0" in pages["prev"]
    # Following next to the end gives the rest, and the last page has no next.
    last = client.post(pages["next"].replace("http://testserver", ""))
    assert [row["pk"] for row in last.json()] == seven_trainers[5:]
    assert "next" not in links(last)


def test_a_window_applies_after_the_filter_spec(seven_trainers, client):
    spec = {
        "expressions": [{"type": "contains", "field": "name", "sub_string": "tf_variant"}],
        "order_by": [{"field": "name", "ascending": False}],
    }
    whole = client.post(f"{API}/list", spec, format="json").json()
    assert len(whole) == 7
    response = client.post(f"{API}/list?limit=2", spec, format="json")
    assert response.json() == whole[:2]
    assert response["X-Total-Count"] == "7"
    assert [row["name"] for row in response.json()] == ["tf_variant_6", "tf_variant_5"]


def test_offset_alone_answers_the_rest(seven_trainers, client):
    response = client.post(f"{API}/list?offset=6")
    assert [row["pk"] for row in response.json()] == seven_trainers[6:]
    assert response["X-Total-Count"] == "7"


def test_a_window_past_the_end_is_empty_with_the_total(seven_trainers, client):
    response = client.post(f"{API}/list?limit=5&offset=50")
    assert response.status_code == 200
    assert response.json() == []
    assert response["X-Total-Count"] == "7"


def test_other_resources_lists_take_windows_too(seeded_catalogue, client):
    whole = client.post("/v1/domains/list").json()
    assert len(whole) > 2
    response = client.post("/v1/domains/list?limit=2&offset=1")
    assert response.json() == whole[1:3]
    assert response["X-Total-Count"] == str(len(whole))


def test_matching_takes_a_window_in_pk_order(seven_trainers, client):
    whole = client.get(MATCHING, {"dataset": IC_DATASET})
    assert [row["pk"] for row in whole.json()] == seven_trainers
    assert "X-Total-Count" not in whole
    response = client.get(MATCHING, {"dataset": IC_DATASET, "limit": 2, "offset": 4})
    assert response.json() == whole.json()[4:6]
    assert response["X-Total-Count"] == "7"


def test_matching_counts_only_what_runnable_keeps(seven_trainers, client):
    # No worker or node is alive in the test: nothing is runnable, everything is not.
    kept = client.get(MATCHING, {"dataset": IC_DATASET, "runnable": "true", "limit": 3})
    assert kept.json() == []
    assert kept["X-Total-Count"] == "0"
    not_kept = client.get(MATCHING, {"dataset": IC_DATASET, "runnable": "false", "limit": 3})
    assert [row["pk"] for row in not_kept.json()] == seven_trainers[:3]
    assert not_kept["X-Total-Count"] == "7"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("limit=0", {("query.limit", "out_of_range")}),
        ("limit=abc", {("query.limit", "wrong_type")}),
        ("limit=-1", {("query.limit", "wrong_type")}),
        ("limit=1.5", {("query.limit", "wrong_type")}),
        ("limit=1001", {("query.limit", "out_of_range")}),
        ("offset=x", {("query.offset", "wrong_type")}),
        ("limit=99999999999999999999999&offset=-3", {("query.limit", "wrong_type"), ("query.offset", "wrong_type")}),
    ],
)
def test_a_bad_window_is_a_400_naming_every_problem(seven_trainers, client, query, expected):
    for response in (client.post(f"{API}/list?{query}"), client.get(f"{MATCHING}?dataset=Dataset&{query}")):
        assert response.status_code == 400, response.content
        problems = {(problem["path"], problem["code"]) for problem in response.json()["errors"]}
        assert expected <= problems, problems


def test_matching_reports_window_and_input_problems_together(seven_trainers, client):
    response = client.get(f"{MATCHING}?limit=0&colour=red")
    assert response.status_code == 400
    paths = {problem["path"] for problem in response.json()["errors"]}
    assert paths == {"query.limit", "query.colour"}


def test_the_most_a_window_may_ask_is_a_setting(seven_trainers, client, settings):
    settings.API_LIST_LIMIT_MAX = 3
    assert client.post(f"{API}/list?limit=4").status_code == 400
    assert len(client.post(f"{API}/list?limit=3").json()) == 3
