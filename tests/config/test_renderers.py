"""The orjson renderer writes what DRF's JSONRenderer wrote, byte for byte, on the values our answers hold."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
import zoneinfo

import pytest
from django.test import Client
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from config.api.renderers import FastJSONRenderer

UTC = datetime.UTC
CASES = {
    "datetime, UTC": {"at": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)},
    "datetime, zoneinfo UTC with microseconds": {
        "at": datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=zoneinfo.ZoneInfo("UTC"))
    },
    "datetime, zero offset of another zone": {
        "at": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    },
    "datetime, other offset": {"at": datetime.datetime(2024, 7, 2, 3, 4, 5, tzinfo=zoneinfo.ZoneInfo("Europe/London"))},
    "datetime, naive": {"at": datetime.datetime(2024, 1, 2, 3, 4, 5)},
    "date and time": {"day": datetime.date(2024, 1, 2), "time": datetime.time(1, 2, 3, 4)},
    "timedelta": {"took": datetime.timedelta(seconds=3, milliseconds=5)},
    "decimal": {"price": decimal.Decimal("1.50"), "whole": decimal.Decimal("3")},
    "uuid": {"id": uuid.UUID("688ae0c3-af47-4ede-b977-d59c7b56ff9a")},
    "lazy translation": {"detail": gettext_lazy("This field is required."), "list": [gettext_lazy("Not found.")]},
    "non-string keys": {1: "int", None: "none", 2.5: "float", False: "bool"},
    "escapes": {"text": 'a\u2028b\u2029c\n\t\x01é"\\ \U0001f600'},
    "integer past 64 bits": {"big": 2**70, "small": -(2**63)},
    "floats": [1.5, 0.1, -0.0, 1e300, 1e16, 123456789.125],
    "nested and empty": {"a": [], "b": {}, "c": [None, True, False, {"d": [1, "x"]}], "e": ""},
    "tuple and set": {"pair": (1, 2), "one": {3}},
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_the_same_bytes_as_drf(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


@pytest.mark.parametrize(
    "data",
    [{"x": float("nan")}, [None, float("inf")], {"x": [{"y": -float("inf")}]}, {"x": decimal.Decimal("NaN")}],
    ids=["nan", "infinity beside a null", "nested -infinity", "decimal nan"],
)
def test_non_finite_numbers_are_refused_as_drf_refuses_them(data):
    with pytest.raises(ValueError, match="not JSON compliant"):
        JSONRenderer().render(data)
    with pytest.raises(ValueError, match="not JSON compliant"):
        FastJSONRenderer().render(data)


def test_none_is_an_empty_body_and_indent_is_drf_s():
    assert FastJSONRenderer().render(None) == b""
    data = {"a": [1, {"b": 2}]}
    indented = FastJSONRenderer().render(data, "application/json; indent=4")
    assert indented == JSONRenderer().render(data, "application/json; indent=4")
    assert b"\n    " in indented


def test_the_api_renders_with_it_and_keeps_the_browsable_api(admin_user):
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is FastJSONRenderer
    client = Client()
    client.force_login(admin_user)
    page = client.get("/v1/job-templates", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert client.get("/v1/job-templates", HTTP_ACCEPT="application/json")["Content-Type"] == "application/json"


def test_small_exponents_are_spelt_shortest_the_same_number():
    # The one difference from DRF: orjson writes 1e-7 where the standard library writes 1e-07.
    assert FastJSONRenderer().render([1e-7]) == b"[1e-7]"
    assert json.loads(FastJSONRenderer().render([1e-7, 2.5e-10])) == json.loads(JSONRenderer().render([1e-7, 2.5e-10]))


def test_an_error_message_renders_from_its_lazy_string(db):
    response = Client().get("/v1/job-templates")
    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."
