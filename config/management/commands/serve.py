"""Run the whole service in the foreground: the ASGI server (daphne) and one Celery worker with beat.

Ctrl-C (or SIGTERM) stops both; if either exits on its own, the other is stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the API (daphne, HTTP + websockets) and run a Celery worker with beat, until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "2")))
        parser.add_argument("--no-worker", action="store_true", help="serve the API only")

    def handle(self, *args, host: str, port: int, concurrency: int, no_worker: bool, **options) -> None:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        # config.server: daphne that exits within SERVER_GRACEFUL_TIMEOUT_SECONDS of SIGTERM.
        commands = {"web": [python, "-m", "config.server", "-b", host, "-p", str(port), "config.asgi:application"]}
        if not no_worker:
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
            ]
        processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        self.stdout.write(self.style.SUCCESS(f"serving http://{host}:{port}/ (API /v1/, docs /v1/docs, admin /admin/)"))
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
            deadline = time.monotonic() + 15
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
        if exit_code:
            sys.exit(exit_code)
