"""What the service benchmarks (api.py, jobs.py) share: a fresh database, background processes with their
logs (the server, workers), and waiting for a condition while watching those processes.

Import it after putting the repository root on ``sys.path`` (``from bench.common import …``): bench/
itself must not be on the path of a worker (bench/types.py would shadow the standard library's types).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fresh_database(workdir: Path, suffix: str, *, embedded: bool = False) -> tuple[str, Callable[[], None]]:
    """A DATABASE_URL for a new, empty database and a function that removes it: ``<name>_<suffix>`` on the
    PostgreSQL server of ``$DATABASE_URL`` (dropped first if a run left it), else (or when ``embedded``)
    a SQLite file in ``workdir``."""
    base = os.environ.get("DATABASE_URL", "")
    if embedded or not base.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / 'bench.sqlite3'}", lambda: None
    import dj_database_url
    import psycopg2

    parsed = dj_database_url.parse(base)
    name = f"{parsed['NAME']}_{suffix}"
    server = {
        "host": parsed["HOST"] or None,
        "port": parsed["PORT"] or None,
        "user": parsed["USER"],
        "password": parsed["PASSWORD"] or None,
        "dbname": "postgres",
    }

    def execute(statement: str) -> None:
        connection = psycopg2.connect(**server)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
        connection.close()

    execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name, lambda: execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Process:
    """A process started from the repository root in its own process group, its output going to ``log``."""

    def __init__(self, command: list[str], *, env: dict[str, str], log: Path):
        self.log = log
        self.handle = log.open("w")
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    def check(self) -> None:
        """Stop the benchmark if the process has exited."""
        if self.process.poll() is not None:
            raise SystemExit(f"{self.log.stem} exited ({self.process.returncode}); see {self.log}")

    def stop(self) -> None:
        """SIGTERM to the process group, then SIGKILL if it has not exited 10 s later."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.handle.close()


def stop_all(processes: Iterable[Process], *, grace: float = 10.0) -> None:
    """``Process.stop`` of many at once: SIGTERM to every process group, then one shared ``grace`` for
    all of them to exit before each remaining one is killed."""
    processes = list(processes)
    for process in processes:
        if process.process.poll() is None:
            try:
                os.killpg(process.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        process.stop()  # kills what is left, closes the log


def wait_for(
    condition: Callable[[], bool], *, timeout: float, interval: float, what: str, processes: Iterable[Process] = ()
) -> None:
    """Poll ``condition`` every ``interval`` seconds until true; stop the benchmark when ``timeout`` seconds
    pass first or one of ``processes`` exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            process.check()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
