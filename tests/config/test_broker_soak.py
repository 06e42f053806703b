"""Soak test of the ``fsq://`` broker: thousands of tasks through real Celery workers, none lost, none twice.

Two ``celery worker`` processes (prefork, concurrency 2 each) consume one temporary ``fsq://`` folder
while three publisher processes send ``SOAK_TASKS`` (default 3,000) tasks of ``soak_app`` at once.
This is the load under which kombu's stock filesystem transport reads half-written messages and
the worker dies with "Unrecoverable error: JSONDecodeError" (celery/kombu#1551).  To watch that
happen, run it against the stock transport; it is expected to fail::

    SOAK_BROKER=stock .venv/bin/pytest -m soak tests/config/test_broker_soak.py

No Django, no database: workers and publishers are subprocesses of ``tests/config/soak_app.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.soak

APP_DIR = Path(__file__).resolve().parent
TASKS = int(os.environ.get("SOAK_TASKS", "3000"))
BROKER = os.environ.get("SOAK_BROKER", "fsq")
WORKERS = 2
PUBLISHERS = 3
# The stock transport only loses a message when a consumer lists it the instant it is created, so
# the soak keeps the consumers caught up instead of letting a backlog build: publishers are paced
# (per publisher, tasks/s) and workers prefetch generously so QoS does not throttle their polling.
# With the service's prefetch of 1 and unpaced publishers stock kombu survives 3,000 tasks too.
PUBLISH_RATE = float(os.environ.get("SOAK_PUBLISH_RATE", "150"))
PREFETCH_MULTIPLIER = int(os.environ.get("SOAK_PREFETCH_MULTIPLIER", "16"))
STARTUP_TIMEOUT = 30.0
# Generous: ~3,000 tasks take a few seconds; the bound only matters when something hangs.
COMPLETION_TIMEOUT = max(60.0, TASKS / 25)


@dataclass
class Worker:
    """One ``celery worker`` subprocess, started in its own process group so it can be killed whole."""

    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit code {self.process.poll()}) ---\n" + "\n".join(text.splitlines()[-lines:])

    def request_stop(self) -> None:
        """Ask for a warm shutdown (SIGTERM); ``kill`` finishes the job."""
        if self.alive():
            self.process.terminate()

    def kill(self, grace: float) -> None:
        """Wait up to ``grace`` seconds, then SIGKILL the whole group: never leave a worker behind."""
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # also prefork children of a dead or stuck main process
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)


def wait_until(condition: Callable[[], bool], timeout: float, fail_fast: Callable[[], str | None]) -> bool:
    """Poll ``condition`` every 50 ms until true (→ True) or ``timeout`` (→ False); abort early when
    ``fail_fast`` returns a reason (a worker died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        reason = fail_fast()
        if reason:
            pytest.fail(reason)
        time.sleep(0.05)
    return condition()


def count_files(folder: Path) -> int:
    return len(os.listdir(folder)) if folder.exists() else 0


@pytest.fixture(scope="module")
def soak_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("soak")


@pytest.fixture(scope="module")
def soak_env(soak_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        SOAK_DIR=str(soak_dir),
        SOAK_BROKER=BROKER,
        SOAK_PREFETCH_MULTIPLIER=str(PREFETCH_MULTIPLIER),
        PYTHONPATH=str(APP_DIR),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def workers(soak_dir: Path, soak_env: dict[str, str]) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    try:
        for index in range(1, WORKERS + 1):
            name = f"soak{index}@localhost"
            log = soak_dir / f"worker{index}.log"
            with open(log, "wb") as log_file:
                process = subprocess.Popen(
                    # No --without-mingle/--without-gossip: they must start cleanly without them.
                    [sys.executable, "-m", "celery", "-A", "soak_app", "worker", "-n", name]
                    + ["--pool=prefork", "--concurrency=2", "--loglevel=INFO"],
                    cwd=soak_dir,
                    env=soak_env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(Worker(name, process, log))
        ready = wait_until(
            lambda: all((soak_dir / "ready" / w.name).exists() for w in started),
            STARTUP_TIMEOUT,
            lambda: dead_workers(started),
        )
        assert ready, "workers did not become ready:\n" + "\n".join(w.log_tail() for w in started)
        yield started
    finally:
        # Stop them side by side: a warm shutdown takes seconds each.
        for worker in started:
            worker.request_stop()
        for worker in started:
            worker.kill(grace=15)


def dead_workers(workers: list[Worker]) -> str | None:
    dead = [w for w in workers if not w.alive()]
    return "worker died:\n" + "\n".join(w.log_tail() for w in dead) if dead else None


def start_publishers(env: dict[str, str], cwd: Path) -> list[subprocess.Popen]:
    share, extra = divmod(TASKS, PUBLISHERS)
    publishers, first = [], 0
    for index in range(PUBLISHERS):
        count = share + (1 if index < extra else 0)
        command = [sys.executable, "-m", "soak_app", "publish", str(first), str(count), str(PUBLISH_RATE)]
        publishers.append(subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE))
        first += count
    return publishers


def test_every_task_completes_exactly_once_and_workers_survive(
    workers: list[Worker], soak_dir: Path, soak_env: dict[str, str]
) -> None:
    publishers = start_publishers(soak_env, soak_dir)
    try:
        for publisher in publishers:
            _, stderr = publisher.communicate(timeout=COMPLETION_TIMEOUT)
            assert publisher.returncode == 0, stderr.decode(errors="replace")
    finally:
        for publisher in publishers:
            if publisher.poll() is None:
                publisher.kill()
                publisher.wait()

    done_dir = soak_dir / "done"
    finished = wait_until(lambda: count_files(done_dir) >= TASKS, COMPLETION_TIMEOUT, lambda: dead_workers(workers))

    done = count_files(done_dir)
    assert finished, f"only {done} of {TASKS} tasks completed in {COMPLETION_TIMEOUT:.0f} s"
    assert sorted(int(name) for name in os.listdir(done_dir)) == list(range(TASKS))
    assert count_files(soak_dir / "dupes") == 0, "some tasks ran more than once"
    assert all(w.alive() for w in workers), dead_workers(workers)
    assert count_files(soak_dir / "broker" / "bad") == 0, "well-formed messages were quarantined"
    leftovers = [name for name in os.listdir(soak_dir / "broker" / "queue") if name.endswith(".celery.msg")]
    assert leftovers == [], "task messages left in the queue folder"


def test_remote_control_reaches_every_worker(workers: list[Worker], soak_dir: Path, soak_env: dict[str, str]) -> None:
    """pidbox broadcast and replies work over the folder: ``celery inspect ping`` hears both workers."""
    result = subprocess.run(
        # Naming the destinations lets the command return as soon as both answered.
        [sys.executable, "-m", "celery", "-A", "soak_app", "inspect", "ping", "--timeout=10"]
        + ["--destination", ",".join(w.name for w in workers)],
        cwd=soak_dir,
        env=soak_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for worker in workers:
        assert worker.name in result.stdout, result.stdout
