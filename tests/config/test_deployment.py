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
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= set(compose["services"])
    assert {"pgdata", "media"} <= set(compose["volumes"])
    services = compose["services"]
    # The app services share one definition (YAML anchor) pointing at PostgreSQL and Redis.
    for name in ("web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["CELERY_BROKER_URL"].startswith("redis://")
        assert "media:/data/media" in services[name]["volumes"]
    assert services["web"]["command"][:3] == ["python", "-m", "config.server"]  # daphne: HTTP and websockets
    assert "worker" in services["worker"]["command"] and "beat" in services["beat"]["command"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


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
