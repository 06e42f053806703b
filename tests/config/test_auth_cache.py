"""Bearer authentication keeps a token's user row AUTH_USER_CACHE_SECONDS per process: hits read no user
row, and saving or deleting the user (at once, and again at commit) drops it; bad tokens stay 401."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.tokens import AccessToken

from config.api import authentication
from config.api.authentication import CachedUserJWTAuthentication, forget_authenticated_user
from tests.conftest import bearer_client
from tests.factories import DatasetFactory, ProjectFactory, member_of
from workspaces.models import Membership

pytestmark = pytest.mark.django_db

OWN = "/v1/users/alice"
ADMINS_ONLY = "/v1/users/list"


@pytest.fixture(autouse=True)
def _kept(settings):
    settings.AUTH_USER_CACHE_SECONDS = 3


def user_reads(client, path: str, method: str = "get") -> tuple[int, int]:
    """(status, how many times authentication read the user row) of one request."""
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path, {}, format="json") if method == "post" else client.get(path)
    return response.status_code, sum(map(is_user_read, captured.captured_queries))


def is_user_read(query: dict) -> bool:
    # The authentication's read: one user by id (the routes below find users by username, or all of them).
    sql = query["sql"]
    return sql.startswith('SELECT "auth_user"') and 'WHERE "auth_user"."id" =' in sql


class TestKept:
    def test_the_second_request_reads_no_user_row(self, client):
        assert user_reads(client, OWN) == (200, 1)
        assert user_reads(client, OWN) == (200, 0)

    def test_zero_reads_the_user_on_every_request(self, client, settings):
        settings.AUTH_USER_CACHE_SECONDS = 0
        assert user_reads(client, OWN) == (200, 1)
        assert user_reads(client, OWN) == (200, 1)

    def test_a_kept_row_expires(self, client, monkeypatch):
        now = [1000.0]
        monkeypatch.setattr(authentication.time, "monotonic", lambda: now[0])
        assert user_reads(client, OWN) == (200, 1)
        now[0] += 2.9
        assert user_reads(client, OWN) == (200, 0)
        now[0] += 0.2
        assert user_reads(client, OWN) == (200, 1)

    def test_each_request_gets_its_own_user_object(self, user):
        token = AccessToken.for_user(user)
        first = CachedUserJWTAuthentication().get_user(token)
        second = CachedUserJWTAuthentication().get_user(token)
        assert first == second == user
        assert first is not second
        first.is_staff = True  # what one request does to its user never reaches another
        assert CachedUserJWTAuthentication().get_user(token).is_staff is False

    def test_users_are_kept_apart(self, client, other_client):
        assert user_reads(client, OWN) == (200, 1)
        assert user_reads(other_client, "/v1/users/bob") == (200, 1)
        assert user_reads(client, OWN) == (200, 0)
        assert other_client.get(OWN).status_code == 404  # bob is still bob


class TestBadTokensStay401:
    def test_an_expired_token_of_a_kept_user(self, client, user):
        assert user_reads(client, OWN) == (200, 1)
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=-timedelta(seconds=1))
        response = bearer_client().get(OWN, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"

    def test_a_forged_token_of_a_kept_user(self, client, user):
        assert user_reads(client, OWN) == (200, 1)
        token = str(AccessToken.for_user(user))
        header, payload, signature = token.split(".")
        forged = f"{header}.{payload}.{signature[::-1]}"
        response = bearer_client().get(OWN, HTTP_AUTHORIZATION=f"Bearer {forged}")
        assert response.status_code == 401


class TestInvalidated:
    def test_deactivating_the_user_holds_from_the_next_request(self, client, user):
        assert user_reads(client, OWN) == (200, 1)
        user.is_active = False
        user.save()
        response = client.get(OWN)
        assert response.status_code == 401
        assert response.json()["detail"] == "User is inactive"

    def test_revoking_staff_holds_from_the_next_request(self, admin_client, admin_user):
        assert user_reads(admin_client, ADMINS_ONLY, "post") == (200, 1)
        assert user_reads(admin_client, ADMINS_ONLY, "post") == (200, 0)
        admin_user.is_staff = admin_user.is_superuser = False
        admin_user.save(update_fields=["is_staff", "is_superuser"])
        assert user_reads(admin_client, ADMINS_ONLY, "post") == (403, 1)

    def test_granting_staff_holds_from_the_next_request(self, client, user):
        assert user_reads(client, ADMINS_ONLY, "post") == (403, 1)
        user.is_staff = True
        user.save()
        assert user_reads(client, ADMINS_ONLY, "post") == (200, 1)

    def test_a_password_change_revokes_tokens_when_configured(self, user, monkeypatch):
        # simplejwt's modules hold its settings object from import time: switch it there.
        for module in (authentication, simplejwt_tokens):
            monkeypatch.setattr(module.api_settings, "CHECK_REVOKE_TOKEN", True)
        client = bearer_client(user)
        assert user_reads(client, OWN) == (200, 1)
        assert user_reads(client, OWN) == (200, 0)
        user.set_password("another-password")
        user.save()
        response = client.get(OWN)
        assert response.status_code == 401
        assert response.json()["detail"] == "The user's password has been changed."

    def test_a_deleted_user_is_401(self, client, user):
        assert user_reads(client, OWN) == (200, 1)
        user.delete()
        response = client.get(OWN)
        assert response.status_code == 401
        assert response.json()["detail"] == "User not found"

    def test_the_kept_row_is_dropped_again_at_commit(self, client, user, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            user.first_name = "Alice"
            user.save()
        # A request (in another thread, before the commit) kept the row it read...
        assert user_reads(client, OWN) == (200, 1)
        assert user_reads(client, OWN) == (200, 0)
        for callback in callbacks:
            callback()  # ...and the commit drops it.
        assert user_reads(client, OWN) == (200, 1)

    def test_a_row_read_while_the_user_was_saved_is_not_kept(self, client, user):
        def save_meanwhile(execute, sql, params, many, context):
            if is_user_read({"sql": sql}):
                forget_authenticated_user(user.pk)  # what a save in another thread does
            return execute(sql, params, many, context)

        with connection.execute_wrapper(save_meanwhile):
            assert client.get(OWN).status_code == 200
        assert user_reads(client, OWN) == (200, 1)

    def test_membership_changes_are_never_kept(self, user, other_user, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        project = ProjectFactory()
        member_of(user, project, "R")
        dataset = DatasetFactory(creator=other_user, project=project)
        client = bearer_client(user)
        path = f"/v1/datasets/{dataset.pk}"
        assert user_reads(client, path) == (200, 1)
        assert user_reads(client, path) == (200, 0)
        # Leaving the team (an update: no signal, no user saved) ends access at once, user kept or not.
        Membership.objects.filter(user=user).update(deletion_time=timezone.now())
        assert user_reads(client, path) == (404, 0)
