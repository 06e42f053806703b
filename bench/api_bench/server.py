"""The server under measurement: its command line, start, process group (threads, memory) and settings."""

from __future__ import annotations

import http.client
import os
import shlex
import socket
import sys
import threading
import time
from pathlib import Path

from bench.common import REPO, Process, wait_for

PYTHON = sys.executable
# The product's HTTP server once config/gunicorn_conf.py exists (WEB_WORKERS × WEB_THREADS), else one
# daphne process as ``manage.py serve`` ran it before.
GUNICORN = "{python} -m gunicorn -c python:config.gunicorn_conf -b 127.0.0.1:{port} config.wsgi:application"
DAPHNE = "{python} -m daphne -b 127.0.0.1 -p {port} config.asgi:application"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def default_server_command() -> str:
    return GUNICORN if (REPO / "config" / "gunicorn_conf.py").exists() else DAPHNE


def server_command(template: str, port: int) -> list[str]:
    """The server's command line: ``template`` with ``{python}`` (this interpreter) and ``{port}`` filled in."""
    return [part.format(python=PYTHON, port=port) for part in shlex.split(template)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def start_server(env: dict[str, str], port: int, log: Path, *, command: str) -> Process:
    """The server started on ``port`` (free: a server already there would answer the health check) and healthy."""
    if not port_is_free(port):
        raise SystemExit(f"port {port} is in use: choose another --port, or none for a free one")
    server = Process(server_command(command, port), env=env, log=log)

    def healthy() -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    try:
        wait_for(healthy, timeout=60, interval=0.2, what=f"the server (see {log})", processes=[server])
    except SystemExit:
        server.stop()
        raise
    return server


def process_group(pgid: int) -> dict[int, tuple[int, int]]:
    """pid → (threads, resident bytes) of the processes of the process group ``pgid`` (Linux ``/proc``;
    elsewhere empty)."""
    members: dict[int, tuple[int, int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            # After the command name: state, ppid, pgrp, …, num_threads (the 18th of these), …, rss (the 22nd).
            if int(fields[2]) == pgid:
                members[int(stat.parent.name)] = (int(fields[17]), int(fields[21]) * PAGE_SIZE)
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return members


def describe_group(pgid: int) -> str:
    """``3 processes: 1 + 2 × 6 threads`` style: the master and its workers as found in the group."""
    members = process_group(pgid)
    if not members:
        return "processes not counted (no /proc)"
    threads = [members[pid][0] for pid in sorted(members)]
    shown = ", ".join(str(count) for count in threads)
    return f"{len(members)} process(es), threads {shown} ({sum(threads)} in all)"


def group_rss(pgid: int) -> int:
    """Resident bytes of the whole process group."""
    return sum(rss for _, rss in process_group(pgid).values())


class MemorySampler:
    """The process group's resident memory every ``interval`` seconds in a thread; ``peak`` its maximum."""

    def __init__(self, pgid: int, *, interval: float = 0.02):
        self.pgid, self.interval = pgid, interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, group_rss(self.pgid))
            self.samples += 1
            time.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
