"""The deployment files say what they should: compose services, volumes and commands; the two commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_the_services_and_volumes(compose):
    assert {"postgres", "redis", "web", "ws", "worker", "beat", "migrate"} <= set(compose["services"])
    assert {"pgdata", "media"} <= set(compose["volumes"])
    services = compose["services"]
    # The app services share one definition (YAML anchor) pointing at PostgreSQL and Redis.
    for name in ("web", "ws", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["CELERY_BROKER_URL"].startswith("redis://")
        assert "media:/data/media" in services[name]["volumes"]
    # gunicorn for the HTTP API, daphne for websockets, each on its own published port.
    assert services["web"]["command"][:5] == ["python", "-m", "gunicorn", "-c", "python:config.gunicorn_conf"]
    assert services["ws"]["command"][:3] == ["python", "-m", "config.server"]
    assert services["web"]["ports"] == ["8000:8000"] and services["ws"]["ports"] == ["8001:8001"]
    assert "worker" in services["worker"]["command"] and "beat" in services["beat"]["command"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_the_image_serves_the_http_api_with_gunicorn():
    dockerfile = (REPO / "Dockerfile").read_text()
    [cmd] = [line for line in dockerfile.splitlines() if line.startswith("CMD ")]
    assert '"gunicorn", "-c", "python:config.gunicorn_conf"' in cmd and "config.wsgi:application" in cmd


def test_readme_shows_the_two_commands_first():
    readme = (REPO / "README.md").read_text()
    first_block = readme.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block


def test_ci_runs_make_test_against_postgres_and_redis():
    script = (REPO / ".ci" / "run").read_text()
    assert "DATABASE_URL=" in script and "postgres://" in script
    assert "CELERY_BROKER_URL=" in script and "redis://" in script
    assert "make test" in script
    assert (REPO / ".ci" / "run").stat().st_mode & 0o111
