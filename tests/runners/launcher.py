"""A small UFDL job launcher for the tests: it speaks HTTP to a live server exactly as the real one does
(waikato-ufdl/ufdl-job-launcher with ufdl-python-client), as recorded in
fixtures/ufdl/launcher-session.md, and plays the ``dogs_dummy`` training executor (no Docker, no GPU).

* Transport (``UFDLServerContext``): ``urllib`` (``requests`` is not installed here), one bearer token
  from ``POST /v1/auth/obtain`` (obtained again once on a 401); JSON bodies as ``requests`` writes them
  (``json.dumps``, ``Content-Type: application/json``); every GET carries the body ``{}``; DELETE none.
  Once registered, every call carries ``Node-Id`` except those of the dataset's own context.
* Registration: ``nodes/list`` filtered by ip AND index, then ``nodes/create`` (no Node-Id) or
  ``PATCH nodes/{pk}`` (with it); a node that still holds a job finishes it as failed, resets and
  releases it (the launcher's restart flow).
* A job: poll ``jobs/list`` with the launcher's filter, ``GET`` the template, ``job-types/list`` and
  ``job-contracts/list`` with ``{}``, **GET** ``acquire``, start, the dataset without Node-Id, the cancel
  check, progress as Python prints floats, pings, outputs as raw bytes (the type percent-encoded with
  ``quote(type, safe="',")``), finish.

Every call is recorded in ``calls`` as ``(method, path, node_id_sent, status)``. At the end: the test
data launchers work on (a node user, the shipped dogs_dummy template, a labelled dataset, create-job).
"""

from __future__ import annotations

import io
import json
import os
import threading
import traceback
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from jobtemplates.services.templates import template_import
from runners.models import Node
from tests.factories import DatasetFactory, DomainFactory, UserFactory

REPO = Path(__file__).resolve().parents[2]

NODE_RESTARTED = "Node restarted during job execution."
MODEL_TYPE = "Model<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>"
LOG_TYPE = "Compressed<JSON, 8>"
# The launcher's poll (core/poll/_core.generate_filter), as the Python client serialises it.
POLL_FILTER = {
    "expressions": [
        {
            "sub_expressions": [
                {"field": "start_time", "type": "isnull"},
                {"field": "error_reason", "type": "isnull"},
                {"field": "node", "type": "isnull"},
                {"field": "template.workabletemplate", "type": "isnull", "invert": True},
            ],
            "type": "and",
        }
    ]
}


class LauncherError(Exception):
    """An HTTP error answer (the client's ``raise_for_status``)."""

    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        self.status = status
        try:
            self.json = json.loads(body or b"null")
        except ValueError:
            self.json = None
        self.code = self.json.get("code") if isinstance(self.json, dict) else None
        super().__init__(f"{method} {path}: {status} {body[:500]!r}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def progress_fractions(files: int = 5) -> list[float]:
    """The dogs_dummy executor's fractions while it analyses ``files`` files (10 % to 90 %), computed as
    it computes them, so Python prints ``0.42000000000000004`` and ``0.7400000000000001`` on the way."""
    return [0.1 + (i + 1) / files * 0.8 for i in range(files)]


class Context:
    """``UFDLServerContext``: a host, a user, a token, and (once registered) a node id."""

    def __init__(self, base_url: str, username: str, password: str, *, calls: list | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.username, self.password = username, password
        self.node_id: int | None = None
        self.calls: list[tuple[str, str, int | None, int]] = [] if calls is None else calls
        self._lock = threading.Lock()
        self.token = self._obtain()

    def _obtain(self) -> str:
        answer = self._send("POST", "v1/auth/obtain", json_body={"username": self.username, "password": self.password})
        return answer.json()["access"]

    def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> Answer:
        request_headers = dict(headers or {})
        body = data
        if json_body is not None:
            body = json.dumps(json_body).encode()
            request_headers["Content-Type"] = "application/json"
        if token:
            request_headers["Authorization"] = f"Bearer {token}"
        if self.node_id is not None and token:
            request_headers["Node-Id"] = str(self.node_id)
        request = urllib.request.Request(f"{self.base_url}/{path}", data=body, method=method, headers=request_headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            answer = Answer(error.code, dict(error.headers), error.read())
        with self._lock:
            self.calls.append(
                (method, path, int(request_headers["Node-Id"]) if "Node-Id" in request_headers else None, answer.status)
            )
        if answer.status >= 400:
            raise LauncherError(method, path, answer.status, answer.body)
        return answer

    def send(self, method: str, path: str, **kwargs: Any) -> Answer:
        try:
            return self._send(method, path, token=self.token, **kwargs)
        except LauncherError as error:
            if error.status != 401:
                raise
            self.token = self._obtain()  # the client refreshes once, then retries
            return self._send(method, path, token=self.token, **kwargs)

    def get(self, path: str) -> Any:
        return self.send("GET", path, json_body={}).json()

    def get_bytes(self, path: str) -> bytes:
        return self.send("GET", path, json_body={}).body

    def post(self, path: str, payload: Any) -> Any:
        return self.send("POST", path, json_body=payload).json()

    def patch(self, path: str, payload: Any) -> Any:
        return self.send("PATCH", path, json_body=payload).json()

    def delete(self, path: str) -> Any:
        return self.send("DELETE", path).json()

    def upload(self, path: str, filename: str, data: bytes) -> Any:
        headers = {"Content-Type": "application/data", "Content-Disposition": f"attachment; filename={filename}"}
        return self.send("POST", path, data=data, headers=headers).json()

    def without_node(self) -> Context:
        """A second context of the same host and user with the same token and no Node-Id (the annotations
        plugin builds its own; it reuses the token cache)."""
        other = object.__new__(Context)
        other.base_url, other.username, other.password = self.base_url, self.username, self.password
        other.node_id, other.calls, other._lock, other.token = None, self.calls, self._lock, self.token
        return other


@dataclass
class Launcher:
    """One job-launcher node: register, poll, run a dogs_dummy training job."""

    base_url: str
    username: str
    password: str
    ip: str = "192.0.2.2"
    index: int = 0
    cpu_mem: int = 25_275_990_016
    hardware_generation: int | None = None
    gpu_mem: int | None = None
    driver_version: str | None = None
    calls: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.context = Context(self.base_url, self.username, self.password, calls=self.calls)
        self.node: dict | None = None

    @property
    def node_id(self) -> int | None:
        return self.context.node_id

    # --- registration (core/_launcher.register_node) ------------------------------------------------

    def register(self) -> dict:
        spec = {
            "expressions": [
                {
                    "sub_expressions": [
                        {"field": "ip", "value": self.ip, "type": "exact"},
                        {"field": "index", "value": self.index, "type": "exact"},
                    ],
                    "type": "and",
                }
            ]
        }
        body = {
            "ip": self.ip,
            "index": self.index,
            "driver_version": self.driver_version,
            "hardware_generation": self.hardware_generation,
            "gpu_mem": self.gpu_mem,
            "cpu_mem": self.cpu_mem,
        }
        nodes = self.context.post("v1/nodes/list", spec)
        if nodes:
            self.context.node_id = nodes[0]["pk"]
            node = self.context.patch(f"v1/nodes/{self.context.node_id}", body)
        else:
            node = self.context.post("v1/nodes/create", body)
            self.context.node_id = node["pk"]
        self.node = node
        if node["current_job"] is not None:
            self.recover(node["current_job"])
        return node

    def recover(self, job_pk: int) -> dict | None:
        """The restart flow: finish the job it held as failed; when that took, reset and release it."""
        result = self.finish(job_pk, success=False, error=NODE_RESTARTED, send_notification="")
        if result is not None and result["error_reason"] == NODE_RESTARTED:
            self.context.delete(f"v1/jobs/{job_pk}/reset")
            return self.context.delete(f"v1/jobs/{job_pk}/release")
        return result

    # --- polling (core/poll/_simple.Simple.poll, core/_launcher.create_executor) ---------------------

    def poll(self) -> list[dict]:
        return self.context.post("v1/jobs/list", POLL_FILTER)

    def prepare(self, job: dict) -> dict:
        """What creating the executor asks for: the template, then the types and contracts it parses."""
        template = self.context.get(f"v1/job-templates/{job['template']['pk']}")
        self.context.post("v1/job-types/list", {})
        self.context.post("v1/job-contracts/list", {})
        return template

    # --- one job (core/executors/_AbstractJobExecutor.run and the dogs_dummy train executor) -------

    def acquire(self, job_pk: int) -> dict:
        return self.context.get(f"v1/jobs/{job_pk}/acquire")

    def start(self, job_pk: int) -> dict:
        return self.context.post(f"v1/jobs/{job_pk}/start", {"send_notification": "email"})

    def progress(self, job_pk: int, fraction: float, comment: str | None = None) -> dict:
        body = {} if comment is None else {"comment": comment}
        return self.context.post(f"v1/jobs/{job_pk}/progress/{fraction!r}", body)

    def ping(self) -> Answer:
        return self.context.send("GET", "v1/nodes/ping", json_body={})

    def add_output(self, job_pk: int, name: str, type_string: str, data: bytes) -> dict:
        encoded = quote(type_string, safe="',")  # <, > and spaces encoded; ' and , literal
        return self.context.upload(f"v1/jobs/{job_pk}/outputs/{name}/{encoded}", name, data)

    def finish(self, job_pk: int, *, success: bool, error: str | None = None, send_notification: str = "email"):
        body: dict[str, Any] = {"success": success, "send_notification": send_notification}
        if error is not None:
            body["error"] = error
        return self.context.post(f"v1/jobs/{job_pk}/finish", body)

    def download_dataset(self, dataset_pk: int) -> dict[str, Any]:
        """The dataset through the generic routes: listed with Node-Id, then read without it."""
        self.context.post(
            "v1/datasets/list",
            {
                "expressions": [
                    {"field": "domain.description", "value": "Image Classification", "type": "exact"},
                    {"field": "pk", "value": dataset_pk, "type": "exact"},
                ]
            },
        )
        plain = self.context.without_node()
        dataset = plain.get(f"v1/datasets/{dataset_pk}")
        names = sorted(dataset["files"])
        files = {names[0]: plain.get_bytes(f"v1/datasets/{dataset_pk}/files/{quote(names[0])}")}
        categories = plain.get(f"v1/classify/datasets/{dataset_pk}/categories")
        for name in names[1:]:
            files[name] = plain.get_bytes(f"v1/datasets/{dataset_pk}/files/{quote(name)}")
        return {"dataset": dataset, "files": files, "categories": categories}

    def run(self, job: dict, *, fail: bool = False) -> dict:
        """Acquire and run ``job`` to the end as the dogs_dummy executor does; ``fail``: its pre-run
        code raises (the metadata and log are still uploaded, no model), and finish says so."""
        pk = job["pk"]
        self.acquire(pk)
        self.start(pk)
        log: list[dict] = []
        try:
            data = self.download_dataset(job["input_values"]["dataset"]["value"])
            if self.context.get(f"v1/jobs/{pk}")["is_cancelled"]:
                return self.finish(pk, success=False, error="cancelled")
            self.progress(pk, 0.1, "Downloaded dataset")
            self.ping()
            if fail:
                raise RuntimeError("the executor's pre-run code failed")
            for fraction in progress_fractions():
                self.progress(pk, fraction)
                log.append({"progress": fraction})
            self.progress(pk, 0.9, "Analysed dataset")
            self.ping()
            self.add_output(pk, "model", MODEL_TYPE, zipped({"model.json": json.dumps({"files": len(data["files"])})}))
            error = None
        except RuntimeError:
            error = "Failed to execute pre-run code:\n" + traceback.format_exc()
        metadata = {"frontend": {"probe": "E"}, "job": {"executor": "train", "num_files": len(data["files"])}}
        self.add_output(pk, "metadata", "JSON", json.dumps(metadata).encode())
        self.add_output(pk, "log", LOG_TYPE, zipped({"log.json": json.dumps(log)}))
        if error is not None:
            return self.finish(pk, success=False, error=error)
        return self.finish(pk, success=True)

    def poll_and_run(self) -> dict | None:
        """One round of the simple poller: the first listed job this node can run, run to the end."""
        for job in self.poll():
            self.prepare(job)
            return self.run(job)
        return None


def zipped(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# --- what the tests stage for launchers (the Django side) ------------------------------------------

UFDL_FIXTURES = Path(os.environ.get("UFDL_FIXTURES_DIR", "/work/shared/fixtures/ufdl"))
DOGS_TRAIN_NAME = "image-classification__0010_dogs_dummy_image_class_train.json"
# The shipped copy (templates/ufdl) is the fixture's; it stands in where the shared fixtures are absent.
DOGS_TRAIN = next(
    path
    for path in (UFDL_FIXTURES / "templates" / DOGS_TRAIN_NAME, REPO / "templates" / "ufdl" / DOGS_TRAIN_NAME)
    if path.exists()
)
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
PASSWORD = "secret-password"  # UserFactory's
# Print notifications on every node transition: recorded, sent at once, no broker.
NODE_NOTIFICATIONS = {
    "actions": {
        action: [{"message": f"{action} #{{pk}}"}]
        for action in ("on_acquire", "on_start", "on_finish", "on_error", "on_release", "on_reset")
    }
}
DOG_FILES = {f"n0210666{i}.jpg": b"\xff\xd8\xff" + bytes([i]) * 64 for i in range(5)}


def node_user(username: str):
    """A user who may act as a node (``runners.act_as_node``), password ``PASSWORD``."""
    user = UserFactory(username=username)
    user.user_permissions.add(Permission.objects.get(codename="act_as_node", content_type__app_label="runners"))
    return user


def import_dogs_train(admin):
    return template_import(data=json.loads(DOGS_TRAIN.read_text()), creator=admin).template


def dogs_dataset(creator, *, is_public: bool = True):
    """Five dog pictures, labelled; public unless told (the launcher reads it as the node's user)."""
    return DatasetFactory(
        name="dogs",
        creator=creator,
        domain=DomainFactory(name="ic"),
        is_public=is_public,
        files=DOG_FILES,
        categories={name: ["dog"] for name in DOG_FILES},
    )


def create_job(client, template, dataset, **extra) -> dict:
    """``POST …/create-job`` as a UFDL client sends it; the answer's job."""
    body = {
        "input_values": {"dataset": {"value": dataset.pk, "type": IC_DATASET}},
        "parameter_values": {"frontend_metadata": {"value": {"probe": "E"}, "type": "JSON"}},
        "notification_override": NODE_NOTIFICATIONS,
        **extra,
    }
    response = client.post(f"/v1/job-templates/{template.pk}/create-job", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def client_of(user, node: Node | None = None) -> APIClient:
    """A bearer-authenticated test client (Django's, in process) of ``user``, acting as ``node``
    (``Node-Id``) when given."""
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"}
    if node is not None:
        headers["HTTP_NODE_ID"] = str(node.pk)
    client.credentials(**headers)
    return client


def make_node(owner, *, ip: str = "192.0.2.2", index: int = 0, **fields) -> Node:
    """A node of ``owner``, seen just now."""
    return Node.objects.create(owner=owner, ip=ip, index=index, last_seen=timezone.now(), **fields)
