"""Fixtures for notification tests: templates and jobs, captured task sends, a recording webhook server,
and a unique websocket group prefix (test runs sharing one Redis never hear each other)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.models import Job, JobTemplate
from jobtemplates.services.templates import template_import

BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
GROUP_PREFIX = f"test{uuid.uuid4().hex[:8]}"


def import_builtin(file: str, creator, **changes) -> JobTemplate:
    body = {**json.loads((BUILTIN / f"{file}.json").read_text()), **changes}
    return template_import(data=body, creator=creator).template


def import_meta(creator, name: str, nodes: dict, dependencies: list) -> JobTemplate:
    return template_import(
        data={
            "name": name,
            "licence": "Apache 2.0",
            "domain": "ic",
            "scope": "public",
            "specific": {"nodes": nodes, "dependencies": dependencies},
        },
        creator=creator,
    ).template


def templates_for(admin) -> dict[str, JobTemplate]:
    """noop and fail (public), a noop only admins see, and a meta-template of two noops."""
    catalogue_seed()
    noop = import_builtin("noop", admin)
    return {
        "noop": noop,
        "fail": import_builtin("fail", admin),
        "hidden": import_builtin("noop", admin, name="hidden_noop", scope="user"),
        "meta": import_meta(admin, "two_noops", {"first": {"name": "noop"}, "second": {"name": "noop"}}, []),
    }


@pytest.fixture
def templates(db, admin_user):
    return templates_for(admin_user)


def make_job(template: JobTemplate, creator, **fields) -> Job:
    return Job.objects.create(
        template=template, creator=creator, description=fields.pop("description", "a job"), **fields
    )


@pytest.fixture(autouse=True)
def _local_webhook_receivers(settings):
    """The tests' webhook receivers listen on 127.0.0.1, which the SSRF guard refuses unless listed."""
    settings.NOTIFICATION_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture(autouse=True)
def _websocket_group_prefix(settings):
    settings.NOTIFICATION_WEBSOCKET_GROUP_PREFIX = GROUP_PREFIX


@pytest.fixture(autouse=True)
def _fresh_template_facts():
    """Each test starts without the template facts an earlier one kept (its rows were rolled back)."""
    from notifications.facts import forget_templates

    forget_templates()


@pytest.fixture(autouse=True)
def sent_tasks(request, monkeypatch) -> list[tuple[str, dict]]:
    """Tasks notifications send, as ``(name, kwargs)``, captured instead of reaching the shared broker
    (tests with a real worker send them for real); ``sent_tasks.options`` holds each send's options
    (queue, countdown, time limits)."""
    sent = SentTasks()
    if request.node.get_closest_marker("worker") is None:
        from notifications import queueing

        def send_task(name, kwargs=None, **options):
            if name.startswith("notifications."):  # a job's own task (run_job) goes nowhere either
                sent.append((name, kwargs))
                sent.options.append(options)

        monkeypatch.setattr(queueing.celery_app, "send_task", send_task)
    return sent


class SentTasks(list):
    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict] = []


class WebhookServer:
    """An HTTP server on 127.0.0.1 recording each POST; answers ``status`` (or the next of ``answers`` for
    its path) after ``delay`` seconds, or, after ``hold()``, only once ``release()`` is called
    (``waiting``: requests not answered yet)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 204
        self.delay = 0.0
        self.gate: threading.Event | None = None
        self.answers: dict[str, list[int]] = {}  # path → statuses its next requests get before ``status``
        self.waiting = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "json": json.loads(body or b"null"),
                        "time": time.monotonic(),
                    }
                )
                gate = server.gate
                if gate is not None:
                    with server.lock:
                        server.waiting += 1
                    gate.wait(120)  # a hanging receiver, within reason
                    with server.lock:
                        server.waiting -= 1
                time.sleep(server.delay)
                with server.lock:
                    queued = server.answers.get(self.path.split("?")[0])
                    status = queued.pop(0) if queued else server.status
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the client gave up waiting (a timeout test)
                    pass

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def hold(self) -> None:
        """Answer nothing until ``release()``."""
        self.gate = threading.Event()

    def release(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.gate = None

    def close(self) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook_server():
    server = WebhookServer()
    yield server
    server.close()
