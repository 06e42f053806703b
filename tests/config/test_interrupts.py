"""A request's work stops when its client goes (ASGI: the real handler driven as daphne drives it) or
when it runs past REQUEST_TIMEOUT_SECONDS: CPU loops and running statements alike, and nothing it
wrote in a transaction stays. The deadline in a real gunicorn worker thread: tests/config/test_gunicorn.py;
a server stopping its requests at its graceful timeout: tests/config/test_server.py."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.testing import ApplicationCommunicator

from config.interrupts import InterruptibleASGIHandler
from contracts.models.catalogue import Framework
from tests.config import interrupt_urls

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.config.interrupt_urls")]

# How long a test waits for what should happen at once (the views work for 30 s unless stopped).
PATIENCE = 15


@pytest.fixture(autouse=True)
def _fresh_records(settings):
    settings.REQUEST_TIMEOUT_SECONDS = 0
    interrupt_urls.STARTED.clear()
    interrupt_urls.ENDED.clear()
    yield
    interrupt_urls.ENDED.clear()


def scope(route: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/{route}",
        "raw_path": f"/{route}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def wait_until(predicate, what: str) -> None:
    for _ in range(PATIENCE * 20):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def request_then_disconnect(route: str) -> None:
    communicator = ApplicationCommunicator(InterruptibleASGIHandler(), scope(route))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    await wait_until(interrupt_urls.STARTED.is_set, "the view to start")
    await asyncio.sleep(0.2)  # well inside its work
    await communicator.send_input({"type": "http.disconnect"})
    await wait_until(lambda: interrupt_urls.ENDED, "the view to stop")
    await communicator.wait(timeout=PATIENCE)


@pytest.mark.parametrize("route", ["spin", "sleep-in-database"])
def test_a_client_that_goes_stops_the_work(route):
    asyncio.run(request_then_disconnect(route))
    # Stopped by the interruption, long before its 30 s were up (the waits above give up after 15 s).
    assert interrupt_urls.ENDED[0] in ("ClientGone", "OperationalError", "QueryCanceled"), interrupt_urls.ENDED


def test_what_a_stopped_request_wrote_is_rolled_back():
    asyncio.run(request_then_disconnect("write-then-spin"))
    assert interrupt_urls.ENDED == ["ClientGone"]
    assert not Framework.objects.filter(name="half-written").exists()


@pytest.mark.parametrize("route", ["spin", "write-then-spin", "sleep-in-database"])
def test_a_request_past_the_timeout_is_stopped_and_answered_503(client, settings, route):
    settings.REQUEST_TIMEOUT_SECONDS = 1
    response = client.get(f"/{route}")
    assert response.status_code == 503
    body = response.json()
    assert (body["code"], body["reason"]) == ("request_interrupted", "timeout")
    assert "REQUEST_TIMEOUT_SECONDS" in body["detail"]
    assert interrupt_urls.ENDED and interrupt_urls.ENDED[0] != "completed"
    assert not Framework.objects.filter(name="half-written").exists()


def test_a_request_that_finishes_in_time_is_not_touched(client, settings):
    settings.REQUEST_TIMEOUT_SECONDS = 5
    interrupt_urls.spin.__defaults__ = (0.05,)
    try:
        response = client.get("/spin")
    finally:
        interrupt_urls.spin.__defaults__ = (30,)
    assert (response.status_code, response.content, interrupt_urls.ENDED) == (200, b"done", ["completed"])
