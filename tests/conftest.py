"""Fixtures shared by every test: users, authenticated API clients, catalogue rows."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory

# Real Celery workers and what they share with the test process, for any test package (tests/e2e.py).
pytest_plugins = ["tests.e2e"]


def bearer_client(user=None) -> APIClient:
    """An API client that sends ``Authorization: Bearer <access>`` for ``user`` (none: anonymous)."""
    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness only slows tests down."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client(user) -> APIClient:  # noqa: PT004 - shadows pytest-django's Django test client on purpose
    return bearer_client(user)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return bearer_client(other_user)


@pytest.fixture
def admin_client(admin_user) -> APIClient:
    return bearer_client(admin_user)


@pytest.fixture
def seeded_catalogue(db):
    """The catalogue as ``manage.py seed_catalogue`` writes it (UFDL's domains, licences, frameworks,
    hardware, CUDA versions, docker images, pretrained models); returns the seed report."""
    from contracts.services.catalogue_seed import catalogue_seed

    return catalogue_seed()
