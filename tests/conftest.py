"""Fixtures shared by every test: users, authenticated API clients, catalogue rows, the live test worker
and a live job-launcher node."""

from __future__ import annotations

import socket

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory


def pytest_configure(config):
    """Processes the tests start (servers, workers, each with a VAR_DIR of its own) sign and check
    tokens with the suite's key: without SECRET_KEY each installation keeps its own in VAR_DIR."""
    import os

    os.environ.setdefault("SECRET_KEY", settings.SECRET_KEY)


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


TEST_WORKER = f"pytest@{socket.gethostname()}"


@pytest.fixture
def empty_worker_registry():
    """The test worker is not registered: the registry holds only the workers the test writes
    (``@pytest.mark.usefixtures("empty_worker_registry")`` on tests of the registry itself)."""


@pytest.fixture(scope="session")
def test_worker_capabilities() -> dict:
    """What a Celery worker of this environment reports (found once: it imports every executor module)."""
    from executors.registry import worker_capabilities

    return worker_capabilities(queues=[settings.CELERY_TASK_DEFAULT_QUEUE])


def queues_of_the_test_worker() -> list[str]:
    """The queues the test worker consumes: the default one, and the one e2e tests send to meanwhile."""
    from config.celery import app as celery_app

    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, celery_app.conf.task_default_queue})


def uses_database(request) -> bool:
    names = request.fixturenames
    return "db" in names or "transactional_db" in names or request.node.get_closest_marker("django_db") is not None


@pytest.fixture(autouse=True)
def _fresh_fleet_snapshot(settings):
    """Each test starts without the fleet snapshot of an earlier one (its rows were rolled back), and
    judges templates against the fleet as it is (tests change rows with update() and permissions, which
    the snapshot only sees after its TTL); tests/runners/test_fleet_snapshot.py tests the kept snapshot."""
    from runners.capabilities import forget_fleet_snapshot

    settings.FLEET_SNAPSHOT_SECONDS = 0
    forget_fleet_snapshot()


@pytest.fixture(autouse=True)
def _fresh_authenticated_users(settings):
    """Each test starts without the user rows bearer authentication kept in an earlier one (those rows
    were rolled back, and their pks come again), and reads its user on every request: the suite's query
    counts compare requests, the first of which would otherwise be the only one reading the user;
    tests/config/test_auth_cache.py tests the kept rows (hits, expiry, each invalidation)."""
    from config.api.authentication import forget_authenticated_users

    settings.AUTH_USER_CACHE_SECONDS = 0
    forget_authenticated_users()


@pytest.fixture(autouse=True)
def _live_test_worker(request):
    """A test using the database sees one live Celery worker: this process, with what a worker here
    reports (the default queue, and the session's worker queue when e2e tests set one). create-job asks
    the registry whether anything runs a template; tests about an empty fleet delete the row, and tests
    of the registry itself ask for ``empty_worker_registry``."""
    if not uses_database(request) or "empty_worker_registry" in request.fixturenames:
        return
    from runners.services import worker_report

    request.getfixturevalue("db")
    capabilities = request.getfixturevalue("test_worker_capabilities")
    worker_report(name=TEST_WORKER, **{**capabilities, "queues": queues_of_the_test_worker()})


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
def live_node(admin_user):
    """A UFDL job-launcher node that was seen just now (owned by an admin, who may act as a node): the
    fleet can run node templates (UFDL's ``ufdl.joblauncher…`` ones)."""
    from django.utils import timezone

    from runners.models import Node

    return Node.objects.create(owner=admin_user, ip="10.0.0.7", index=0, last_seen=timezone.now())


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
