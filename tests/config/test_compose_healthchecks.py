"""The compose file's Celery healthchecks, run as Docker runs them (compose turns ``$$`` into ``$``, the
container's shell expands ``$HOSTNAME``), against real processes on the broker: a worker and beat pass while
they run, and fail once they are gone; a check never passes on another node's answer.

The compose stack's broker is Redis: without a Redis CELERY_BROKER_URL these are skipped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from kombu import Connection

from tests.workers import wait_until

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _redis_broker():
    if not settings.CELERY_BROKER_URL.startswith(("redis:", "rediss:")):
        pytest.skip(f"the compose stack's broker is Redis, not {settings.CELERY_BROKER_URL.split(':')[0]}")


@pytest.fixture
def container() -> str:
    """The hostname of a container of this test's own (what ``%h`` and ``$HOSTNAME`` are inside it)."""
    return f"probe-{uuid.uuid4().hex[:10]}"


def service(name: str) -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"][name]


def image_environment(**extra: str) -> dict[str, str]:
    """This environment as the image has it: the code on PYTHONPATH, ``celery`` on PATH, the test broker."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **extra,
    }


def run_healthcheck(name: str, *, container: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Service ``name``'s healthcheck in a container named ``container`` (``timeout``: its --timeout instead,
    to fail sooner where no answer is expected)."""
    kind, test = service(name)["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    command = test.replace("$$", "$")
    if timeout is not None:
        command = re.sub(r"--timeout \S+", f"--timeout {timeout:g}", command)
    return subprocess.run(
        ["sh", "-c", command],
        cwd=REPO,
        env=image_environment(HOSTNAME=container),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def passed(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_passes_its_healthcheck_while_it_runs(start_worker, container):
    worker = start_worker(hostname=f"celery@{container}", concurrency=1)
    healthy = run_healthcheck("worker", container=container)
    assert passed(healthy), healthy.stdout + healthy.stderr
    assert f"celery@{container}: OK" in healthy.stdout
    # The notifier's check names notifier@<container>: this worker's answer does not count for it.
    other = run_healthcheck("notifier", container=container, timeout=2)
    assert not passed(other) and "No nodes replied" in other.stdout + other.stderr
    worker.stop()
    gone = run_healthcheck("worker", container=container, timeout=2)
    assert not passed(gone), gone.stdout


def test_beat_passes_its_healthcheck_while_it_runs(tmp_path, container):
    command = service("beat")["command"]
    assert command[0] == "celery"
    command = [sys.executable, "-m", "celery", *command[1:]]
    command[command.index("--schedule") + 1] = str(tmp_path / "celerybeat-schedule")
    # Its node name as in the container (celerybeat@%h there).
    command += ["--hostname", f"celerybeat@{container}"]
    # Beat sends the reaper at once: to a queue nobody consumes, deleted below.
    queue = f"probe-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "beat.log"
    with log.open("w") as handle:
        beat = subprocess.Popen(
            command,
            cwd=REPO,
            env=image_environment(VAR_DIR=str(tmp_path / "var"), CELERY_TASK_DEFAULT_QUEUE=queue),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def listening() -> bool:
            assert beat.poll() is None, log.read_text()
            return "beat pidbox: Connected" in log.read_text()

        wait_until(listening, timeout=60, interval=0.2, message=lambda: f"beat's remote control:\n{log.read_text()}")
        healthy = run_healthcheck("beat", container=container)
        assert passed(healthy), healthy.stdout + healthy.stderr + log.read_text()
        assert f"celerybeat@{container}: OK" in healthy.stdout
        elsewhere = run_healthcheck("beat", container=f"{container}-other", timeout=2)
        assert not passed(elsewhere)
    finally:
        if beat.poll() is None:
            os.killpg(beat.pid, signal.SIGTERM)
            beat.wait(timeout=30)
        with Connection(settings.CELERY_BROKER_URL) as connection:
            connection.default_channel.queue_delete(queue)
    gone = run_healthcheck("beat", container=container, timeout=2)
    assert not passed(gone), gone.stdout
