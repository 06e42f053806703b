"""API tests of ``/v1/users`` (config/api/users): permission matrix, lookups, passwords never shown and
always hashed, deactivation, superuser protection."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import bearer_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
USER_KEYS = {
    "pk",
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
    "date_joined",
    "last_login",
}
NEW_USER = {"username": "dave", "password": "a-long-enough-password", "email": "dave@example.com"}


@pytest.fixture
def staff_user(db):
    """An administrator who is not a superuser."""
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def staff_client(staff_user):
    return bearer_client(staff_user)


def requests(client, target):
    """Every route of the resource, aimed at ``target``."""
    return {
        "GET list": lambda: client.get("/v1/users"),
        "POST list": lambda: client.post("/v1/users/list", {}, format="json"),
        "POST create": lambda: client.post("/v1/users/create", NEW_USER, format="json"),
        "POST": lambda: client.post("/v1/users", {**NEW_USER, "username": "erin"}, format="json"),
        "GET": lambda: client.get(f"/v1/users/{target.pk}"),
        "PUT": lambda: client.put(f"/v1/users/{target.pk}", {"username": target.username}, format="json"),
        "PATCH": lambda: client.patch(f"/v1/users/{target.pk}", {"first_name": "Changed"}, format="json"),
        "DELETE": lambda: client.delete(f"/v1/users/{target.pk}"),
    }


class TestPermissionMatrix:
    # route → status for (anonymous, a user at another user, a user at themself, an admin at another user)
    MATRIX = {
        "GET list": (401, 403, 403, 200),
        "POST list": (401, 403, 403, 200),
        "POST create": (401, 403, 403, 200),
        "POST": (401, 403, 403, 201),
        "GET": (401, 404, 200, 200),
        "PUT": (401, 403, 403, 200),
        "PATCH": (401, 403, 403, 200),
        "DELETE": (401, 403, 403, 204),
    }

    @pytest.mark.parametrize("route", MATRIX)
    def test_anonymous(self, anon_client, user, route):
        assert requests(anon_client, user)[route]().status_code == self.MATRIX[route][0]

    @pytest.mark.parametrize("route", MATRIX)
    def test_user_at_another_user(self, client, other_user, route):
        assert requests(client, other_user)[route]().status_code == self.MATRIX[route][1]

    @pytest.mark.parametrize("route", MATRIX)
    def test_user_at_themself(self, client, user, route):
        assert requests(client, user)[route]().status_code == self.MATRIX[route][2]
        user.refresh_from_db()
        assert user.is_active and user.first_name != "Changed"

    @pytest.mark.parametrize("route", MATRIX)
    def test_admin(self, admin_client, other_user, route):
        response = requests(admin_client, other_user)[route]()
        assert response.status_code == self.MATRIX[route][3], response.content


class TestLookups:
    def test_by_pk_and_by_username(self, client, user):
        by_pk = client.get(f"/v1/users/{user.pk}")
        by_name = client.get("/v1/users/alice")
        assert by_pk.status_code == by_name.status_code == 200
        # UFDL answers a username lookup with a one-element array (its client takes element 0).
        assert by_name.json() == [by_pk.json()]
        assert set(by_pk.json()) == USER_KEYS
        assert client.get("/v1/users/alice/").json() == by_name.json()

    def test_a_digits_only_username_is_found_by_name_when_no_pk_matches(self, admin_client, user):
        numeric = UserFactory(username="2024")
        assert admin_client.get("/v1/users/2024").json() == [admin_client.get(f"/v1/users/{numeric.pk}").json()]
        # A pk that exists wins (UFDL's order): the user with that pk, as an object.
        assert admin_client.get(f"/v1/users/{user.pk}").json()["username"] == "alice"
        bearer = bearer_client(numeric)
        assert bearer.get("/v1/users/2024").json()[0]["username"] == "2024"

    def test_digits_beyond_ascii_are_a_username(self, admin_client):
        assert admin_client.get("/v1/users/³²").status_code == 404  # "³²".isdigit() is true: not a pk
        superscript = UserFactory(username="³²")
        assert admin_client.get("/v1/users/³²").json()[0]["pk"] == superscript.pk

    def test_other_users_are_404_to_users_and_visible_to_admins(self, client, admin_client, other_user):
        assert client.get("/v1/users/bob").status_code == 404
        assert client.get(f"/v1/users/{other_user.pk}").status_code == 404
        assert admin_client.get("/v1/users/bob").json()[0]["pk"] == other_user.pk
        assert admin_client.get("/v1/users/nobody").status_code == 404

    def test_admin_lists_are_paginated_and_filterable(self, admin_client, user, other_user, admin_user):
        page = admin_client.get("/v1/users?page_size=2").json()
        assert page["count"] == 3 and page["next"] is not None
        assert [row["username"] for row in admin_client.get("/v1/users?username=bob").json()["results"]] == ["bob"]
        spec = {"expressions": [{"type": "exact", "field": "is_staff", "value": True}]}
        assert [row["username"] for row in admin_client.post("/v1/users/list", spec, format="json").json()] == ["root"]


class TestPasswords:
    def assert_no_password(self, response) -> None:
        assert b"password" not in response.content
        assert b"pbkdf2" not in response.content and b"argon2" not in response.content

    def test_never_in_a_response(self, admin_client, user):
        created = admin_client.post("/v1/users/create", NEW_USER, format="json")
        assert created.status_code == 200
        for response in (
            created,
            admin_client.post("/v1/users", {**NEW_USER, "username": "erin"}, format="json"),
            admin_client.get("/v1/users"),
            admin_client.post("/v1/users/list"),
            admin_client.get(f"/v1/users/{user.pk}"),
            admin_client.patch(f"/v1/users/{user.pk}", {"password": "another-long-password"}, format="json"),
            admin_client.put(f"/v1/users/{user.pk}", {"username": "alice"}, format="json"),
        ):
            assert response.status_code in (200, 201), response.content
            self.assert_no_password(response)

    def test_hashed_on_create(self, admin_client):
        response = admin_client.post("/v1/users/create", NEW_USER, format="json")
        assert set(response.json()) == USER_KEYS
        stored = User.objects.get(username="dave")
        assert stored.password != NEW_USER["password"]
        assert stored.password.startswith(("pbkdf2_", "argon2", "bcrypt", "scrypt", "md5"))
        assert stored.check_password(NEW_USER["password"])
        tokens = bearer_client().post(
            "/v1/auth/obtain", {"username": "dave", "password": NEW_USER["password"]}, format="json"
        )
        assert tokens.status_code == 200

    def test_hashed_on_update_and_unchanged_when_absent(self, admin_client, user):
        admin_client.patch(f"/v1/users/{user.pk}", {"first_name": "Alice"}, format="json")
        user.refresh_from_db()
        assert user.check_password("secret-password")
        admin_client.patch(f"/v1/users/{user.pk}", {"password": "a-brand-new-password"}, format="json")
        user.refresh_from_db()
        assert user.check_password("a-brand-new-password")
        assert not user.check_password("secret-password")
        assert user.password != "a-brand-new-password"

    def test_required_and_validated_on_create(self, admin_client):
        missing = admin_client.post("/v1/users/create", {"username": "frank"}, format="json")
        assert missing.status_code == 400
        assert "password" in {error["path"] for error in missing.json()["errors"]}
        short = admin_client.post("/v1/users/create", {"username": "frank", "password": "short"}, format="json")
        assert short.status_code == 400
        assert short.json()["errors"][0]["path"] == "password"
        assert not User.objects.filter(username="frank").exists()

    def test_cannot_be_filtered_on(self, admin_client):
        spec = {"expressions": [{"type": "contains", "field": "password", "sub_string": "pbkdf2"}]}
        response = admin_client.post("/v1/users/list", spec, format="json")
        assert response.status_code == 400
        assert response.json()["errors"][0]["path"] == "expressions[0].field"


class TestDeactivate:
    def test_destroy_deactivates(self, admin_client, user):
        assert admin_client.delete(f"/v1/users/{user.pk}").status_code == 204
        user.refresh_from_db()
        assert user.is_active is False
        assert User.objects.filter(pk=user.pk).exists()
        tokens = bearer_client().post(
            "/v1/auth/obtain", {"username": "alice", "password": "secret-password"}, format="json"
        )
        assert tokens.status_code == 401
        assert admin_client.delete(f"/v1/users/{user.pk}").status_code == 204  # again: no change, no error


class TestSuperuserProtection:
    def test_staff_cannot_make_a_superuser(self, staff_client, staff_user, user):
        for target in (staff_user, user):
            response = staff_client.patch(f"/v1/users/{target.pk}", {"is_superuser": True}, format="json")
            assert response.status_code == 403
            assert response.json()["errors"][0]["path"] == "is_superuser"
            target.refresh_from_db()
            assert target.is_superuser is False
        created = staff_client.post("/v1/users/create", {**NEW_USER, "is_superuser": True}, format="json")
        assert created.status_code == 403
        assert not User.objects.filter(username="dave").exists()

    def test_staff_cannot_change_a_superuser(self, staff_client, admin_user):
        response = staff_client.patch(f"/v1/users/{admin_user.pk}", {"password": "taken-over-now"}, format="json")
        assert response.status_code == 403
        assert staff_client.delete(f"/v1/users/{admin_user.pk}").status_code == 403
        admin_user.refresh_from_db()
        assert admin_user.check_password("secret-password") and admin_user.is_active

    def test_superusers_may(self, admin_client, user):
        response = admin_client.patch(f"/v1/users/{user.pk}", {"is_superuser": True}, format="json")
        assert response.status_code == 200
        assert response.json()["is_superuser"] is True
