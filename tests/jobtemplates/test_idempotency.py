"""create-job with ``Idempotency-Key``: a retry answers the job the first request made (also when the first
client hung up before its answer), another body is a 409, keys are per user, bounded and expire (the
reaper prunes them), a failed request records nothing, concurrent requests with one key make one job,
and the schema documents the header.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from config.celery import app as celery_app
from jobtemplates.models import IdempotencyKey, Job
from jobtemplates.services.jobs.reaping import jobs_reap
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.workers import wait_until

BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
BODY = {"input_values": {}, "parameter_values": {"sleep": {"value": 0.5, "type": "float"}}, "description": "once"}


def builtin(file: str, creator, **changes):
    data = {**json.loads((BUILTIN / f"{file}.json").read_text()), **changes}
    return template_import(data=data, creator=creator).template


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Tasks are dropped, not sent: no worker runs here (the broker is the outside world)."""
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)


@pytest.fixture
def noop(catalogue, admin_user):
    return builtin("noop", admin_user)


def create(client, template, body=BODY, key: str | None = "key-1", **extra):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(f"/v1/job-templates/{template.pk}/create-job", body, format="json", **headers, **extra)


@pytest.mark.django_db
class TestSameKey:
    def test_a_retry_answers_the_first_job_and_creates_nothing(self, client, noop):
        first = create(client, noop)
        assert first.status_code == 200, first.json()
        assert first["Idempotent-Replayed"] == "false"
        again = create(client, noop)
        assert again.status_code == 200, again.json()
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert Job.objects.count() == 1
        assert IdempotencyKey.objects.get().job_id == first.json()["pk"]

    def test_the_same_body_in_another_key_order_is_the_same_request(self, client, noop):
        first = create(client, noop)
        reordered = dict(reversed(list(BODY.items())))
        assert create(client, noop, body=reordered).json()["pk"] == first.json()["pk"]

    def test_the_replay_shows_the_job_as_it_is_now(self, client, noop):
        first = create(client, noop).json()
        Job.objects.filter(pk=first["pk"]).update(description="changed since")
        assert create(client, noop).json()["description"] == "changed since"

    def test_without_a_key_each_request_makes_a_job(self, client, noop):
        assert create(client, noop, key=None).json()["pk"] != create(client, noop, key=None).json()["pk"]
        assert IdempotencyKey.objects.count() == 0

    def test_keys_are_per_user(self, client, other_client, noop):
        mine, theirs = create(client, noop), create(other_client, noop)
        assert theirs.status_code == 200 and theirs["Idempotent-Replayed"] == "false"
        assert mine.json()["pk"] != theirs.json()["pk"]

    def test_a_dry_run_records_nothing(self, client, noop):
        assert create(client, noop, QUERY_STRING="dry_run=true").status_code == 200
        assert IdempotencyKey.objects.count() == 0 and Job.objects.count() == 0
        assert create(client, noop)["Idempotent-Replayed"] == "false"


@pytest.mark.django_db
class TestReusedKey:
    def test_another_body_is_a_409_naming_the_header_and_the_job(self, client, noop):
        first = create(client, noop).json()
        other = create(client, noop, body={**BODY, "description": "another"})
        assert other.status_code == 409
        body = other.json()
        assert body["code"] == "idempotency_key_reused" and body["job"] == first["pk"]
        assert body["errors"] == [
            {
                "path": "headers.Idempotency-Key",
                "code": "idempotency_key_reused",
                "message": f"used for job {first['pk']} with another template or body",
            }
        ]
        assert Job.objects.count() == 1

    def test_another_template_is_a_409(self, client, noop, admin_user):
        create(client, noop)
        copy = builtin("noop", admin_user, name="noop_copy")
        assert create(client, copy).json()["code"] == "idempotency_key_reused"

    def test_a_failed_request_records_nothing_so_its_retry_is_fresh(self, client, noop):
        bad = create(client, noop, body={"input_values": {}, "parameter_values": {"sleep": {"value": "x"}}})
        assert bad.status_code in (400, 422), bad.json()
        assert IdempotencyKey.objects.count() == 0
        assert create(client, noop).status_code == 200


@pytest.mark.django_db
class TestKeyBounds:
    @pytest.mark.parametrize(
        ("key", "message"),
        [
            ("   ", "must not be empty"),
            ("k" * 256, "must be at most 255 characters (it has 256)"),
            ("clé", "must be printable ASCII"),
            ("a\tb", "must be printable ASCII"),
        ],
    )
    def test_a_bad_key_is_a_400_naming_the_header(self, client, noop, key, message):
        response = create(client, noop, key=key)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_idempotency_key"
        assert response.json()["errors"] == [
            {"path": "headers.Idempotency-Key", "code": "invalid_idempotency_key", "message": message}
        ]
        assert Job.objects.count() == 0

    def test_the_longest_key_is_kept_whole(self, client, noop):
        key = "k" * 255
        first = create(client, noop, key=key).json()
        assert create(client, noop, key=key).json()["pk"] == first["pk"]
        assert IdempotencyKey.objects.get().key == key


@pytest.mark.django_db
class TestExpiry:
    def test_an_expired_key_makes_a_new_job(self, client, noop, settings):
        first = create(client, noop).json()
        IdempotencyKey.objects.update(
            creation_time=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS + 1)
        )
        second = create(client, noop)
        assert second["Idempotent-Replayed"] == "false" and second.json()["pk"] != first["pk"]
        assert list(IdempotencyKey.objects.values_list("job_id", flat=True)) == [second.json()["pk"]]

    def test_the_reaper_prunes_expired_keys_only(self, client, noop, settings):
        create(client, noop, key="old")
        create(client, noop, key="new")
        IdempotencyKey.objects.filter(key="old").update(creation_time=timezone.now() - timedelta(days=2))
        report = jobs_reap()
        assert report.pruned_keys == 1
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_the_schema_documents_the_header(anon_client):
    document = anon_client.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = next(
        operations["post"]
        for path, operations in document["paths"].items()
        if path.startswith("/v1/job-templates/") and path.endswith("/create-job")
    )
    header = next(p for p in operation["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["schema"]["type"] == "string"
    assert "idempotency_key_reused" in header["description"]


@pytest.mark.django_db
def test_the_admin_shows_keys_read_only(admin_user, user, noop):
    create(bearer_client(user), noop)
    from django.test import Client

    browser = Client()
    browser.force_login(admin_user)
    record = IdempotencyKey.objects.get()
    assert browser.get("/admin/jobtemplates/idempotencykey/").status_code == 200
    assert browser.get(f"/admin/jobtemplates/idempotencykey/{record.pk}/change/").status_code == 200
    assert browser.get("/admin/jobtemplates/idempotencykey/add/").status_code == 403


# --- over real HTTP: a client that hung up, and concurrent retries --------------------------------


def http_create(url: str, template_pk: int, token: str, key: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"{url}/v1/job-templates/{template_pk}/create-job",
        data=json.dumps(BODY).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": key},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, dict(response.headers), json.loads(response.read())


@pytest.mark.django_db(transaction=True)
def test_a_client_that_hung_up_retries_into_the_same_job(live_server, noop, user):
    """The issue's duplicate: the first request's client gave up before its answer, the server went on
    and created the job; the retry with the same key answers that job."""
    token = str(RefreshToken.for_user(user).access_token)
    address = urlsplit(live_server.url)
    payload = json.dumps(BODY).encode()
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.putrequest("POST", f"/v1/job-templates/{noop.pk}/create-job")
    for name, value in {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Length": str(len(payload)),
        "Idempotency-Key": "hung-up",
    }.items():
        connection.putheader(name, value)
    connection.endheaders(payload)
    connection.close()  # gone before the answer
    wait_until(lambda: Job.objects.exists(), timeout=30, message="the first request's job")
    status, headers, job = http_create(live_server.url, noop.pk, token, "hung-up")
    assert status == 200 and headers["Idempotent-Replayed"] == "true"
    assert Job.objects.count() == 1 and job["pk"] == Job.objects.get().pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_make_one_job(live_server, noop, user):
    token = str(RefreshToken.for_user(user).access_token)
    clients = 6
    start = threading.Barrier(clients)
    answers: list[tuple[int, dict, dict]] = []
    failures: list[BaseException] = []

    def send() -> None:
        start.wait()
        try:
            answers.append(http_create(live_server.url, noop.pk, token, "together"))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=send) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert len(answers) == clients
    assert {status for status, _, _ in answers} == {200}
    assert len({job["pk"] for _, _, job in answers}) == 1
    assert sorted(headers["Idempotent-Replayed"] for _, headers, _ in answers) == ["false"] + ["true"] * (clients - 1)
    assert Job.objects.count() == 1 and IdempotencyKey.objects.count() == 1
