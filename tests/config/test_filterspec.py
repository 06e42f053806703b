"""The filter spec of ``POST …/list`` (http-api.md §2): every construct, every rejection, with paths.

Run against the users resource (every field kind: text, boolean, datetime, integer pk, a to-many
relation) and against datasets for ``include_inactive`` (a soft-deletable resource).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from config.api.filterspec import FilterFields, parse_filter_spec
from config.errors import MalformedRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/v1/users/list"


@pytest.fixture
def people(admin_user):
    """Five users besides the admin ("root"), with varied fields."""
    now = timezone.now()
    team = Group.objects.create(name="team")
    users = {
        "anna": UserFactory(username="anna", first_name="Anna", last_name="Zed", email="anna@example.com"),
        "Bert": UserFactory(username="Bert", first_name="Bert", last_name="", email="bert@example.org"),
        "carl": UserFactory(username="carl", first_name="Carl", last_name="Young", is_active=False),
        "dora": UserFactory(username="dora", first_name="", last_name="Young", is_staff=True),
        "emil": UserFactory(username="emil", first_name="Emil", last_name="Xu"),
    }
    for offset, user in enumerate(users.values()):
        user.date_joined = now - timedelta(days=10 - offset)
        user.last_login = None if offset % 2 else now - timedelta(hours=offset)
        user.save()
    users["anna"].groups.add(team)
    users["emil"].groups.add(team)
    return users


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["username"] for row in response.json()]


def post(client, body):
    return client.post(LIST, body, format="json")


class TestExpressions:
    def test_no_body_and_empty_object_are_the_same_and_in_pk_order(self, admin_client, people):
        no_body = names(admin_client.post(LIST))
        empty = names(post(admin_client, {}))
        assert no_body == empty == ["root", "anna", "Bert", "carl", "dora", "emil"]

    def test_exact_is_case_sensitive_unless_asked(self, admin_client, people):
        assert (
            names(post(admin_client, {"expressions": [{"type": "exact", "field": "username", "value": "bert"}]})) == []
        )
        body = {"expressions": [{"type": "exact", "field": "username", "value": "bert", "case_insensitive": True}]}
        assert names(post(admin_client, body)) == ["Bert"]

    def test_exact_on_boolean_and_integer(self, admin_client, people):
        body = {"expressions": [{"type": "exact", "field": "is_active", "value": False}]}
        assert names(post(admin_client, body)) == ["carl"]
        body = {"expressions": [{"type": "exact", "field": "pk", "value": people["dora"].pk}]}
        assert names(post(admin_client, body)) == ["dora"]
        body = {"expressions": [{"type": "exact", "field": "pk", "value": float(people["dora"].pk)}]}
        assert names(post(admin_client, body)) == ["dora"]

    def test_contains(self, admin_client, people):
        body = {"expressions": [{"type": "contains", "field": "email", "sub_string": "example.org"}]}
        assert names(post(admin_client, body)) == ["Bert"]
        body = {
            "expressions": [{"type": "contains", "field": "first_name", "sub_string": "AR", "case_insensitive": True}]
        }
        assert names(post(admin_client, body)) == ["carl"]
        body = {"expressions": [{"type": "contains", "field": "first_name", "sub_string": "AR"}]}
        assert names(post(admin_client, body)) == []

    def test_isnull_under_both_spellings(self, admin_client, people):
        for tag in ("isnull", "is_null"):
            body = {"expressions": [{"type": tag, "field": "last_login"}]}
            assert names(post(admin_client, body)) == ["root", "Bert", "dora"]

    @pytest.mark.parametrize(
        ("operator", "expected"),
        [
            ("<", ["anna", "Bert"]),
            ("<=", ["anna", "Bert", "carl"]),
            (">", ["dora", "emil"]),
            (">=", ["carl", "dora", "emil"]),
        ],
    )
    def test_compare(self, admin_client, people, operator, expected):
        body = {"expressions": [{"type": "compare", "field": "pk", "operator": operator, "value": people["carl"].pk}]}
        assert [n for n in names(post(admin_client, body)) if n != "root"] == expected

    def test_compare_on_text_and_datetime(self, admin_client, people):
        body = {"expressions": [{"type": "compare", "field": "username", "operator": ">=", "value": "d"}]}
        assert names(post(admin_client, body)) == ["root", "dora", "emil"]
        cutoff = people["carl"].date_joined.isoformat()
        body = {"expressions": [{"type": "compare", "field": "date_joined", "operator": "<", "value": cutoff}]}
        assert names(post(admin_client, body)) == ["anna", "Bert"]

    def test_invert_on_every_kind(self, admin_client, people):
        every = ["root", "anna", "Bert", "carl", "dora", "emil"]
        cases = [
            ({"type": "exact", "field": "username", "value": "anna"}, ["anna"]),
            ({"type": "contains", "field": "last_name", "sub_string": "Young"}, ["carl", "dora"]),
            ({"type": "isnull", "field": "last_login"}, ["root", "Bert", "dora"]),
            ({"type": "compare", "field": "pk", "operator": "<=", "value": people["anna"].pk}, ["root", "anna"]),
            (
                {
                    "type": "and",
                    "sub_expressions": [
                        {"type": "exact", "field": "is_active", "value": True},
                        {"type": "contains", "field": "last_name", "sub_string": "Young"},
                    ],
                },
                ["dora"],
            ),
            (
                {
                    "type": "or",
                    "sub_expressions": [
                        {"type": "exact", "field": "username", "value": "anna"},
                        {"type": "exact", "field": "username", "value": "emil"},
                    ],
                },
                ["anna", "emil"],
            ),
        ]
        for expression, matched in cases:
            assert names(post(admin_client, {"expressions": [expression]})) == matched
            inverted = {**expression, "invert": True}
            assert names(post(admin_client, {"expressions": [inverted]})) == [n for n in every if n not in matched]

    def test_or_may_nest_and(self, admin_client, people):
        body = {
            "expressions": [
                {
                    "type": "or",
                    "sub_expressions": [
                        {"type": "exact", "field": "username", "value": "anna"},
                        {
                            "type": "and",
                            "sub_expressions": [
                                {"type": "contains", "field": "last_name", "sub_string": "Young"},
                                {"type": "exact", "field": "is_staff", "value": True},
                            ],
                        },
                    ],
                }
            ]
        }
        assert names(post(admin_client, body)) == ["anna", "dora"]

    def test_expressions_narrow_in_sequence(self, admin_client, people):
        body = {
            "expressions": [
                {"type": "contains", "field": "email", "sub_string": "example"},
                {"type": "exact", "field": "is_staff", "value": False},
                {"type": "compare", "field": "username", "operator": ">", "value": "b"},
            ]
        }
        assert names(post(admin_client, body)) == ["carl", "emil"]

    def test_to_many_relation_gives_each_row_once(self, admin_client, people):
        Group.objects.create(name="team-b").user_set.add(people["anna"])
        body = {"expressions": [{"type": "contains", "field": "groups.name", "sub_string": "team"}]}
        assert names(post(admin_client, body)) == ["anna", "emil"]


class TestOrdering:
    def test_order_by_descending_then_pk(self, admin_client, people):
        body = {"order_by": [{"field": "last_name", "ascending": False}]}
        assert names(post(admin_client, body)) == ["anna", "carl", "dora", "emil", "root", "Bert"]

    def test_order_by_dotted_field(self, admin_client, people):
        body = {
            "expressions": [{"type": "isnull", "field": "groups.name", "invert": True}],
            "order_by": [{"field": "groups.name"}, {"field": "username", "ascending": False}],
        }
        assert names(post(admin_client, body)) == ["emil", "anna"]

    @pytest.mark.parametrize("ascending", [True, False])
    def test_nulls_first_and_last(self, admin_client, people, ascending):
        first = names(
            post(admin_client, {"order_by": [{"field": "last_login", "ascending": ascending, "nulls_first": True}]})
        )
        last = names(
            post(admin_client, {"order_by": [{"field": "last_login", "ascending": ascending, "nulls_first": False}]})
        )
        null_logins = {"root", "Bert", "dora"}
        assert set(first[:3]) == null_logins
        assert set(last[-3:]) == null_logins


class TestIncludeInactive:
    def test_soft_deleted_rows_only_when_asked(self, admin_client):
        from contracts.models import Domain, Licence
        from workspaces.models import Dataset

        domain = Domain.objects.get_or_create(name="ic", defaults={"description": "Image Classification"})[0]
        licence = Licence.objects.get_or_create(name="MIT")[0]
        kept = Dataset.objects.create(name="kept", domain=domain, licence=licence, is_public=True)
        gone = Dataset.objects.create(
            name="gone", domain=domain, licence=licence, is_public=True, deletion_time=timezone.now()
        )
        default = admin_client.post("/v1/datasets/list", {}, format="json").json()
        assert [row["pk"] for row in default] == [kept.pk]
        everything = admin_client.post("/v1/datasets/list", {"include_inactive": True}, format="json").json()
        assert [row["pk"] for row in everything] == [kept.pk, gone.pk]


class TestRejections:
    @pytest.mark.parametrize(
        ("body", "path", "code"),
        [
            ([], "", "wrong_type"),
            ("text", "", "wrong_type"),
            ({"unknown": 1}, "unknown", "unknown_key"),
            ({"expressions": {}}, "expressions", "wrong_type"),
            ({"expressions": [5]}, "expressions[0]", "wrong_type"),
            ({"expressions": [{"type": "like", "field": "username"}]}, "expressions[0].type", "unknown_expression"),
            ({"expressions": [{"field": "username", "value": "x"}]}, "expressions[0].type", "unknown_expression"),
            ({"expressions": [{"type": "exact", "value": "x"}]}, "expressions[0].field", "required"),
            ({"expressions": [{"type": "exact", "field": 3, "value": "x"}]}, "expressions[0].field", "wrong_type"),
            (
                {"expressions": [{"type": "exact", "field": "nope", "value": "x"}]},
                "expressions[0].field",
                "unknown_field",
            ),
            (
                {"expressions": [{"type": "exact", "field": "password", "value": "x"}]},
                "expressions[0].field",
                "unknown_field",
            ),
            (
                {"expressions": [{"type": "exact", "field": "groups.permissions", "value": 1}]},
                "expressions[0].field",
                "unknown_field",
            ),
            ({"expressions": [{"type": "exact", "field": "username"}]}, "expressions[0].value", "required"),
            (
                {"expressions": [{"type": "exact", "field": "username", "value": None}]},
                "expressions[0].value",
                "wrong_type",
            ),
            (
                {"expressions": [{"type": "exact", "field": "username", "value": [1]}]},
                "expressions[0].value",
                "wrong_type",
            ),
            (
                {"expressions": [{"type": "exact", "field": "username", "value": {"a": 1}}]},
                "expressions[0].value",
                "wrong_type",
            ),
            (
                {"expressions": [{"type": "exact", "field": "pk", "value": "abc"}]},
                "expressions[0].value",
                "invalid_value",
            ),
            ({"expressions": [{"type": "exact", "field": "pk", "value": 1.5}]}, "expressions[0].value", "wrong_type"),
            ({"expressions": [{"type": "exact", "field": "pk", "value": True}]}, "expressions[0].value", "wrong_type"),
            (
                {"expressions": [{"type": "exact", "field": "is_staff", "value": "yes"}]},
                "expressions[0].value",
                "wrong_type",
            ),
            (
                {"expressions": [{"type": "exact", "field": "date_joined", "value": "yesterday"}]},
                "expressions[0].value",
                "invalid_value",
            ),
            (
                {"expressions": [{"type": "exact", "field": "username", "value": "x", "case_insensitive": "yes"}]},
                "expressions[0].case_insensitive",
                "wrong_type",
            ),
            (
                {"expressions": [{"type": "exact", "field": "username", "value": "x", "invert": 1}]},
                "expressions[0].invert",
                "wrong_type",
            ),
            (
                {"expressions": [{"type": "exact", "field": "username", "value": "x", "sub_string": "y"}]},
                "expressions[0].sub_string",
                "unknown_key",
            ),
            (
                {"expressions": [{"type": "contains", "field": "username", "sub_string": ""}]},
                "expressions[0].sub_string",
                "wrong_type",
            ),
            ({"expressions": [{"type": "contains", "field": "username"}]}, "expressions[0].sub_string", "required"),
            (
                {"expressions": [{"type": "compare", "field": "pk", "operator": "==", "value": 1}]},
                "expressions[0].operator",
                "invalid_choice",
            ),
            ({"expressions": [{"type": "compare", "field": "pk", "value": 1}]}, "expressions[0].operator", "required"),
            (
                {"expressions": [{"type": "compare", "field": "is_staff", "operator": "<", "value": True}]},
                "expressions[0].value",
                "wrong_type",
            ),
            (
                {"expressions": [{"type": "and", "sub_expressions": [{"type": "exact", "field": "pk", "value": 1}]}]},
                "expressions[0].sub_expressions",
                "too_few",
            ),
            ({"expressions": [{"type": "and"}]}, "expressions[0].sub_expressions", "required"),
            (
                {
                    "expressions": [
                        {
                            "type": "and",
                            "sub_expressions": [
                                {"type": "or", "sub_expressions": []},
                                {"type": "exact", "field": "pk", "value": 1},
                            ],
                        }
                    ]
                },
                "expressions[0].sub_expressions[0].type",
                "not_allowed_here",
            ),
            (
                {
                    "expressions": [
                        {
                            "type": "or",
                            "sub_expressions": [
                                {"type": "or", "sub_expressions": []},
                                {"type": "exact", "field": "pk", "value": 1},
                            ],
                        }
                    ]
                },
                "expressions[0].sub_expressions[0].type",
                "not_allowed_here",
            ),
            (
                {
                    "expressions": [
                        {
                            "type": "or",
                            "sub_expressions": [
                                {"type": "exact", "field": "secret", "value": 1},
                                {"type": "exact", "field": "pk", "value": 1},
                            ],
                        }
                    ]
                },
                "expressions[0].sub_expressions[0].field",
                "unknown_field",
            ),
            ({"order_by": "username"}, "order_by", "wrong_type"),
            ({"order_by": ["username"]}, "order_by[0]", "wrong_type"),
            ({"order_by": [{"field": "password"}]}, "order_by[0].field", "unknown_field"),
            ({"order_by": [{"field": "username", "ascending": "no"}]}, "order_by[0].ascending", "wrong_type"),
            ({"order_by": [{"field": "username", "nulls_first": 0}]}, "order_by[0].nulls_first", "wrong_type"),
            ({"order_by": [{"field": "username", "descending": True}]}, "order_by[0].descending", "unknown_key"),
            ({"include_inactive": "true"}, "include_inactive", "wrong_type"),
        ],
    )
    def test_bad_spec_is_400_naming_the_path(self, admin_client, people, body, path, code):
        response = post(admin_client, body)
        assert response.status_code == 400
        payload = response.json()
        assert payload["code"] == "invalid_filter_spec"
        assert {"path": path, "code": code} in [{"path": e["path"], "code": e["code"]} for e in payload["errors"]]
        assert payload["detail"]

    def test_every_problem_is_reported_at_once(self, admin_client, people):
        body = {
            "expressions": [
                {"type": "exact", "field": "password", "value": "x"},
                {"type": "contains", "field": "username", "sub_string": ""},
            ],
            "order_by": [{"field": "nope"}],
            "include_inactive": 1,
        }
        paths = {e["path"] for e in post(admin_client, body).json()["errors"]}
        assert paths == {"expressions[0].field", "expressions[1].sub_string", "order_by[0].field", "include_inactive"}

    def test_huge_and_non_finite_numbers(self, admin_client, people):
        huge = 10**30
        body = {"expressions": [{"type": "exact", "field": "pk", "value": huge}]}
        assert names(post(admin_client, body)) == []
        body = {"expressions": [{"type": "compare", "field": "pk", "operator": "<", "value": huge}]}
        assert len(names(post(admin_client, body))) == 6
        for raw in (
            '{"expressions": [{"type": "exact", "field": "pk", "value": 1e999}]}',
            '{"expressions": [{"type": "exact", "field": "pk", "value": NaN}]}',
            '{"expressions": [{"type": "exact", "field": "pk", "value": ' + "9" * 5000 + "}]}",
        ):
            response = admin_client.generic("POST", LIST, raw, content_type="application/json")
            assert response.status_code == 400
            assert response.json()["code"] == "malformed_request"

    def test_form_encoded_body_is_refused(self, admin_client, people):
        response = admin_client.post(LIST, {"expressions": "x"})
        assert response.status_code == 400
        assert response.json()["code"] == "expected_json"


def test_allow_list_resolves_relations_and_rejects_unknown_fields():
    from django.contrib.auth import get_user_model

    fields = FilterFields(get_user_model(), ["username", "groups.name"])
    assert fields.get("groups.name").orm_path == "groups__name"
    assert fields.get("groups.name").crosses_many
    assert not fields.get("username").crosses_many
    with pytest.raises(MalformedRequest) as caught:
        parse_filter_spec({"expressions": [{"type": "exact", "field": "email", "value": "x"}]}, fields)
    assert caught.value.problems[0].path == "expressions[0].field"
    with pytest.raises(LookupError):
        _ = FilterFields(get_user_model(), ["no_such_field"]).fields
