"""JWT auth (compat): obtain, refresh, verify; 401 (never 403) for missing, malformed or expired tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

pytestmark = pytest.mark.django_db

PROTECTED = "/v1/users/alice"


def with_header(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=value)
    return client


def expired_access_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


class TestObtainRefreshVerify:
    def test_obtain_then_use_refresh_and_verify(self, anon_client, user):
        tokens = anon_client.post(
            "/v1/auth/obtain", {"username": "alice", "password": "secret-password"}, format="json"
        )
        assert tokens.status_code == 200
        assert set(tokens.json()) == {"access", "refresh"}
        access, refresh = tokens.json()["access"], tokens.json()["refresh"]
        assert with_header(f"Bearer {access}").get(PROTECTED).json()[0]["username"] == "alice"

        refreshed = anon_client.post("/v1/auth/refresh", {"refresh": refresh}, format="json")
        assert refreshed.status_code == 200
        assert with_header(f"Bearer {refreshed.json()['access']}").get(PROTECTED).status_code == 200

        assert anon_client.post("/v1/auth/verify", {"token": access}, format="json").status_code == 200
        assert anon_client.post("/v1/auth/verify/", {"token": access}, format="json").status_code == 200

    def test_wrong_password_and_unknown_user_are_401(self, anon_client, user):
        for credentials in ({"username": "alice", "password": "nope"}, {"username": "nobody", "password": "x"}):
            response = anon_client.post("/v1/auth/obtain", credentials, format="json")
            assert response.status_code == 401
            assert response.json()["code"] == "authentication_failed"

    def test_missing_credentials_are_400_with_paths(self, anon_client):
        response = anon_client.post("/v1/auth/obtain", {}, format="json")
        assert response.status_code == 400
        assert {e["path"] for e in response.json()["errors"]} == {"username", "password"}

    def test_bad_refresh_and_verify_tokens_are_401(self, anon_client, user):
        assert anon_client.post("/v1/auth/refresh", {"refresh": "garbage"}, format="json").status_code == 401
        assert anon_client.post("/v1/auth/verify", {"token": "garbage"}, format="json").status_code == 401
        expired = expired_access_token(user)
        assert anon_client.post("/v1/auth/verify", {"token": expired}, format="json").status_code == 401
        # An access token is not a refresh token.
        access = str(RefreshToken.for_user(user).access_token)
        assert anon_client.post("/v1/auth/refresh", {"refresh": access}, format="json").status_code == 401

    def test_inactive_user_cannot_obtain(self, anon_client, user):
        user.is_active = False
        user.save()
        response = anon_client.post(
            "/v1/auth/obtain", {"username": "alice", "password": "secret-password"}, format="json"
        )
        assert response.status_code == 401


class TestBearerIs401NeverForbidden:
    @pytest.mark.parametrize(
        "header",
        [
            "",
            "Bearer",
            "Bearer ",
            "Bearer not-a-jwt",
            "Bearer a.b.c",
            "Token abc",
            "Basic YWxpY2U6eA==",
            "Bearer one two",
        ],
    )
    def test_missing_or_malformed(self, user, header):
        client = with_header(header) if header else APIClient()
        response = client.get(PROTECTED)
        assert response.status_code == 401
        assert response.json()["code"] in {"not_authenticated", "authentication_failed", "token_not_valid"}
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_expired_token(self, user):
        response = with_header(f"Bearer {expired_access_token(user)}").get(PROTECTED)
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"

    def test_token_of_deleted_user(self, user):
        token = str(RefreshToken.for_user(user).access_token)
        user.delete()
        assert with_header(f"Bearer {token}").get(PROTECTED).status_code == 401

    def test_unauthenticated_post_is_401_not_403(self, anon_client):
        # Session auth's CSRF check must not turn a bearer client's 401 into a 403.
        assert anon_client.post("/v1/users/list", {}, format="json").status_code == 401

    def test_authenticated_but_not_allowed_is_403(self, client):
        assert client.post("/v1/users/list", {}, format="json").status_code == 403


def test_lifetimes_come_from_settings(settings):
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] == timedelta(minutes=5)
    assert settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] == timedelta(hours=8)
