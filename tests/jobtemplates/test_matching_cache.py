"""Matching judges each (accepted type string, given type) pair once per process: the verdicts of a
request are reused by the next, a new template's new type string is judged when it first appears, and
pairs of other types are never confused (the relation reads only the registered type classes)."""

from __future__ import annotations

import pytest

from contracts.types import accepts, parse_type
from jobtemplates.selectors import SUBTYPE_CACHE_SIZE, slot_type_accepts, template_matching_pks

pytestmark = pytest.mark.django_db

IC = "PK<Dataset<Domain<'Image Classification'>>>"
OD = "PK<Dataset<Domain<'Object Detection'>>>"
OD_TRAIN = "object-detection__0001_mmdetection_20200301_retinanet_x101_32x4d_fpn_1x_train.json"


@pytest.fixture(autouse=True)
def _no_verdicts_yet():
    slot_type_accepts.cache_clear()


@pytest.fixture
def trains(train_predict, import_body, ufdl_bodies):
    train, _ = train_predict
    return {"ic": train, "od": import_body(ufdl_bodies[OD_TRAIN])}


def matching(client, given: str) -> list[int]:
    response = client.get(f"/v1/job-templates/get-all-matching-templates/Train?dataset={given}")
    assert response.status_code == 200, response.json()
    return [template["pk"] for template in response.json()]


def test_a_second_request_judges_no_pair_again(client, trains):
    assert matching(client, IC) == [trains["ic"].pk]
    judged = slot_type_accepts.cache_info().misses
    assert judged > 0
    assert matching(client, IC) == [trains["ic"].pk]
    assert slot_type_accepts.cache_info().misses == judged


def test_a_new_accepted_type_string_is_judged_when_it_appears(client, train_predict, import_body, ufdl_bodies):
    assert matching(client, OD) == []  # image classification only, so far
    judged = slot_type_accepts.cache_info().misses
    detection = import_body(ufdl_bodies[OD_TRAIN])  # its slot's type strings are new
    assert matching(client, OD) == [detection.pk]
    assert slot_type_accepts.cache_info().misses > judged


def test_other_given_types_are_never_answered_from_anothers_verdicts(client, trains):
    assert matching(client, IC) == [trains["ic"].pk]
    assert matching(client, OD) == [trains["od"].pk]
    assert matching(client, "PK<Dataset>") == []  # a supertype of the slots is not accepted
    assert matching(client, IC) == [trains["ic"].pk]


def test_verdicts_are_the_subtype_relation(user, trains):
    for given in (IC, OD, "PK<Dataset>"):
        declared = parse_type(given)
        expected = sorted(
            template.pk
            for template in trains.values()
            if accepts([parse_type(text) for text in template.contract_inputs["dataset"]], declared)
        )
        assert template_matching_pks(user=user, contract="Train", inputs={"dataset": declared}) == expected
        assert template_matching_pks(user=user, contract="Train", inputs={"dataset": declared}) == expected


def test_the_verdicts_kept_are_bounded():
    assert slot_type_accepts.cache_info().maxsize == SUBTYPE_CACHE_SIZE
