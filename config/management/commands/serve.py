"""Run the whole service in the foreground: gunicorn (the HTTP API), daphne (websockets), one Celery
worker with beat, and the notifier.

* HTTP: gunicorn with config/gunicorn_conf.py (``WEB_WORKERS`` processes × ``WEB_THREADS`` threads,
  persistent database connections) on ``--port``;
* websockets: ``config.server`` (daphne, which stops within its graceful timeout) on ``--ws-port``
  (default ``WS_PORT``, else the HTTP port + 1): ``ws://host:ws-port/v1/jobs/{pk}``;
* the Celery worker with beat, on the default queue: the jobs (``--no-worker``: none);
* the notifier: a Celery worker of ``--notifier-concurrency`` threads (default
  NOTIFICATION_WORKER_CONCURRENCY) on NOTIFICATION_QUEUE, sending emails and webhooks, so that a slow
  receiver never holds a job's slot (none with ``--no-worker``, or when NOTIFICATION_QUEUE is "": the
  worker delivers them then).

Ctrl-C (or SIGTERM) stops them all, with what they started; if one exits on its own, the others are
stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def serving_commands(
    *, host: str, port: int, ws_port: int, concurrency: int, worker: bool, notifier_concurrency: int | None = None
) -> dict[str, list[str]]:
    """The processes ``serve`` runs, by name."""
    python = sys.executable
    commands = {
        "web": [
            python,
            "-m",
            "gunicorn",
            "-c",
            "python:config.gunicorn_conf",
            "-b",
            f"{host}:{port}",
            "config.wsgi:application",
        ],
        # config.server: daphne that exits within SERVER_GRACEFUL_TIMEOUT_SECONDS of SIGTERM.
        "websockets": [python, "-m", "config.server", "-b", host, "-p", str(ws_port), "config.asgi:application"],
    }
    if worker:
        commands["worker"] = [
            python,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--hostname",
            "worker@%h",
            "--schedule",
            str(settings.VAR_DIR / "celerybeat-schedule"),
            # The default queue only, named: never the notification queue, whatever routes say.
            "--queues",
            settings.CELERY_TASK_DEFAULT_QUEUE,
        ]
        # NOTIFICATION_QUEUE "" (or the default queue itself): the worker delivers them, no notifier.
        if settings.NOTIFICATION_QUEUE and settings.NOTIFICATION_QUEUE != settings.CELERY_TASK_DEFAULT_QUEUE:
            commands["notifier"] = notifier_command(
                concurrency=notifier_concurrency or settings.NOTIFICATION_WORKER_CONCURRENCY
            )
    return commands


def notifier_command(*, concurrency: int) -> list[str]:
    """The notifier: deliveries wait on remote hosts, so threads (no process each), on their own queue."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--queues",
        settings.NOTIFICATION_QUEUE,
        "--hostname",
        "notifier@%h",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "INFO",
    ]


class Command(BaseCommand):
    help = (
        "Serve the API (gunicorn, HTTP), websockets (daphne, on the next port) and run a Celery worker with beat "
        "and the notifier (emails, webhooks), until Ctrl-C."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="the HTTP API's port")
        parser.add_argument(
            "--ws-port",
            type=int,
            default=int(os.environ["WS_PORT"]) if os.environ.get("WS_PORT") else None,
            help="the websockets' port (default: WS_PORT, else --port + 1)",
        )
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "2")))
        parser.add_argument(
            "--notifier-concurrency",
            type=int,
            default=None,
            help="the notifier's threads (default NOTIFICATION_WORKER_CONCURRENCY)",
        )
        parser.add_argument("--no-worker", action="store_true", help="serve the API and websockets only")

    def handle(
        self,
        *args,
        host: str,
        port: int,
        ws_port: int | None,
        concurrency: int,
        notifier_concurrency: int | None,
        no_worker: bool,
        **options,
    ) -> None:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        ws_port = ws_port if ws_port is not None else port + 1
        commands = serving_commands(
            host=host,
            port=port,
            ws_port=ws_port,
            concurrency=concurrency,
            worker=not no_worker,
            notifier_concurrency=notifier_concurrency,
        )
        # Each in a process group of its own, so that stopping one stops what it started too (a worker's
        # pool, its embedded beat), and Ctrl-C reaches them through us: SIGTERM, a graceful stop.
        processes = {name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in commands.items()}
        self.stdout.write(self.style.SUCCESS(f"serving http://{host}:{port}/ (API /v1/, docs /v1/docs, admin /admin/)"))
        self.stdout.write(self.style.SUCCESS(f"websockets on ws://{host}:{ws_port}/ (a job's events: /v1/jobs/{{pk}})"))
        self.stdout.write("press Ctrl-C to stop")

        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        try:
            while not stopping:
                for name, process in processes.items():
                    code = process.poll()
                    if code is not None:
                        self.stderr.write(f"{name} exited with status {code}; stopping the rest")
                        exit_code = code or 1
                        stopping = True
                time.sleep(0.2)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            # Each stops within its graceful timeout (gunicorn kills the workers still busy then).
            deadline = time.monotonic() + _graceful_timeout() + 5
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
            for process in processes.values():
                _kill_group(process)
        if exit_code:
            sys.exit(exit_code)


def _graceful_timeout() -> float:
    from config.server import graceful_timeout

    return graceful_timeout()


def _kill_group(process: subprocess.Popen) -> None:
    """Kill what is left of ``process``'s group once it has ended (e.g. a beat that started as its worker
    was stopping, orphaned)."""
    process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # nothing left
        pass
