"""Issue 14 point 2: every way the service runs has a worker on the notification queue, and no job worker
consumes it: ``manage.py serve`` (``make run``) starts a notifier (threads, a process group of its own like
the others), docker-compose has a ``notifier`` service. ``tests/config/test_server.py`` runs ``serve``
for real and sees the notifier among its processes."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

from config.management.commands.serve import serving_commands

REPO = Path(__file__).resolve().parents[2]


def commands(**changes):
    return serving_commands(
        **{"host": "127.0.0.1", "port": 8000, "ws_port": 8001, "concurrency": 2, "worker": True, **changes}
    )


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


class TestServe:
    def test_a_notifier_on_its_queue_and_a_worker_on_the_jobs(self):
        processes = commands()
        assert set(processes) == {"web", "websockets", "worker", "notifier"}
        notifier, worker = processes["notifier"], processes["worker"]
        assert option(notifier, "--queues") == settings.NOTIFICATION_QUEUE == "notifications"
        assert option(notifier, "--pool") == "threads"
        assert option(notifier, "--concurrency") == str(settings.NOTIFICATION_WORKER_CONCURRENCY)
        assert "--beat" not in notifier and "--beat" in worker
        assert option(worker, "--queues") == settings.CELERY_TASK_DEFAULT_QUEUE
        assert option(notifier, "--hostname") != option(worker, "--hostname")

    def test_its_concurrency_and_queue_follow_the_options_and_settings(self, settings):
        settings.NOTIFICATION_QUEUE = "mail-and-hooks"
        notifier = commands(notifier_concurrency=3)["notifier"]
        assert (option(notifier, "--queues"), option(notifier, "--concurrency")) == ("mail-and-hooks", "3")

    def test_no_queue_of_their_own_the_worker_delivers(self, settings):
        settings.NOTIFICATION_QUEUE = ""
        assert "notifier" not in commands()
        settings.NOTIFICATION_QUEUE = settings.CELERY_TASK_DEFAULT_QUEUE
        assert "notifier" not in commands()

    def test_no_worker_no_notifier(self):
        assert set(commands(worker=False)) == {"web", "websockets"}


class TestCompose:
    def test_a_notifier_service_and_workers_that_leave_its_queue_alone(self):
        services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
        notifier = services["notifier"]["command"]
        assert notifier[:4] == ["celery", "-A", "config", "worker"]
        assert option(notifier, "-Q") == settings.NOTIFICATION_QUEUE and option(notifier, "--pool") == "threads"
        for name in ("worker", "gpu-worker"):
            assert settings.NOTIFICATION_QUEUE not in option(services[name]["command"], "-Q").split(",")
        # The same image and environment as the other app services (database, broker, media).
        assert services["notifier"]["environment"] == services["worker"]["environment"]
