"""``ws://…/v1/jobs/{pk}`` in-process through the whole ASGI app (auth middleware, router, consumer) with
Channels' WebsocketCommunicator: who may connect (4401, 4404), replay of the last message, live messages
by channel-layer push and by polling the records, and only transitions that carry a websocket notification.

The scenarios run under ``async_to_sync``, so the consumer's database calls run in the test's thread.
Transactional tests: Channels closes "old" connections around each database call, which would end a test
transaction, and transitions notify after commit as in production.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from config.asgi import application
from jobtemplates.models import JobStatus
from jobtemplates.services.jobs.transitions import job_transition
from notifications import dispatch
from notifications.dispatch import job_transition_notify
from tests.notifications.conftest import make_job

pytestmark = pytest.mark.django_db(transaction=True)

WEBSOCKET_EVERYWHERE = {action: [{}] for action in ("on_start", "on_progress", "on_finish", "on_error", "on_cancel")}


def token(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


def run(make):
    """Run the coroutine ``make()`` returns, from this (sync) test."""

    async def scenario():
        return await make()

    return async_to_sync(scenario)()


async def close_code(path: str, headers=()) -> int | None:
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect()
    assert connected
    message = await communicator.receive_output(timeout=3)
    assert message["type"] == "websocket.close", message
    await communicator.disconnect()
    return message.get("code")


@pytest.fixture
def job(templates, user):
    return make_job(templates["noop"], user, notification_override={"actions": WEBSOCKET_EVERYWHERE})


@pytest.fixture(autouse=True)
def _fast_polling(settings):
    settings.NOTIFICATION_WEBSOCKET_POLL_SECONDS = 0.05


class TestWhoMayListen:
    def test_anonymous_is_closed_with_4401(self, job):
        assert run(lambda: close_code(f"/v1/jobs/{job.pk}")) == 4401

    @pytest.mark.parametrize("bad", ["garbage", "a.b.c", ""])
    def test_a_bad_token_is_closed_with_4401(self, job, bad):
        assert run(lambda: close_code(f"/v1/jobs/{job.pk}?token={bad}")) == 4401
        assert run(lambda: close_code(f"/v1/jobs/{job.pk}", [(b"authorization", f"Bearer {bad}".encode())])) == 4401

    def test_a_token_of_an_inactive_user_is_closed_with_4401(self, job, user):
        access = token(user)
        user.is_active = False
        user.save()
        assert run(lambda: close_code(f"/v1/jobs/{job.pk}?token={access}")) == 4401

    def test_an_invisible_or_missing_job_is_closed_with_4404(self, templates, admin_user, other_user):
        hidden = make_job(templates["hidden"], admin_user)
        assert run(lambda: close_code(f"/v1/jobs/{hidden.pk}?token={token(other_user)}")) == 4404
        assert run(lambda: close_code(f"/v1/jobs/987654321?token={token(other_user)}")) == 4404

    def test_a_cross_site_session_is_anonymous(self, job, user):
        browser = Client()
        browser.force_login(user)
        cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
        headers = [(b"cookie", cookie), (b"host", b"testserver"), (b"origin", b"https://evil.example")]
        assert run(lambda: close_code(f"/v1/jobs/{job.pk}", headers)) == 4401

    def test_unknown_paths_are_not_routed(self, job, user):
        async def scenario():
            communicator = WebsocketCommunicator(application, f"/v1/jobs/{job.pk}/extra?token={token(user)}")
            with pytest.raises(ValueError, match="No route found"):
                await communicator.connect()

        run(scenario)


async def listen(path: str, headers=(), *, then=None, expect: int = 1, timeout: float = 3) -> list[dict]:
    """Connect, run ``then`` (sync, in the test's thread) once connected, and collect ``expect`` messages;
    then make sure nothing more arrives."""
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect()
    assert connected
    received = []
    if then is not None:
        await database_sync_to_async(then)()
    for _ in range(expect):
        received.append(await communicator.receive_json_from(timeout=timeout))
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
    return received


def finish(job_id: int):
    def move():
        job_transition(job_id=job_id, to=JobStatus.RUNNING, actions=())
        job_transition(job_id=job_id, to=JobStatus.FINISHED, actions=("on_finish",), fields={"progress": 1.0})

    return move


class TestMessages:
    def test_token_in_query_header_or_a_session(self, job, user):
        job_transition_notify(job=job, actions=("on_start",), transition_data={})
        by_query = run(lambda: listen(f"/v1/jobs/{job.pk}?token={token(user)}"))
        by_header = run(lambda: listen(f"/v1/jobs/{job.pk}", [(b"authorization", f"Bearer {token(user)}".encode())]))
        browser = Client()
        browser.force_login(user)
        cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
        by_session = run(
            lambda: listen(
                f"/v1/jobs/{job.pk}", [(b"cookie", cookie), (b"host", b"testserver"), (b"origin", b"http://testserver")]
            )
        )
        assert by_query == by_header == by_session
        assert by_query[0]["transition"] == "start" and by_query[0]["pk"] == job.pk

    def test_the_last_message_is_replayed_on_connect(self, job, user):
        for action in ("on_start", "on_progress"):
            job_transition_notify(job=job, actions=(action,), transition_data={"n": action})
        [replayed] = run(lambda: listen(f"/v1/jobs/{job.pk}?token={token(user)}"))
        assert replayed["transition"] == "progress" and replayed["transition_data"] == {"n": "on_progress"}

    def test_nothing_before_the_first_message(self, job, user):
        assert run(lambda: listen(f"/v1/jobs/{job.pk}?token={token(user)}", expect=0)) == []

    @pytest.mark.parametrize("transport", ["auto", "layer", "poll"])
    def test_live_transitions(self, job, user, settings, transport):
        settings.NOTIFICATION_WEBSOCKET_TRANSPORT = transport
        [message] = run(lambda: listen(f"/v1/jobs/{job.pk}?token={token(user)}", then=finish(job.pk)))
        assert message == {
            "transition": "finish",
            "description": "a job",
            "pk": job.pk,
            "progress": 1.0,
            "cancelled": False,
            "node": None,
            "error": None,
            "transition_data": {},
            "template": "noop v1",
            "status": "finished",
        }

    def test_polling_alone_carries_messages_from_other_processes(self, job, user, settings, monkeypatch):
        # A worker process's push never reaches this process's in-memory layer: only the records do.
        settings.NOTIFICATION_WEBSOCKET_TRANSPORT = "poll"
        monkeypatch.setattr(dispatch, "get_channel_layer", lambda: None)
        messages = run(lambda: listen(f"/v1/jobs/{job.pk}?token={token(user)}", then=finish(job.pk)))
        assert [m["transition"] for m in messages] == ["finish"]

    def test_only_transitions_with_a_websocket_notification(self, templates, user):
        job = make_job(
            templates["noop"], user, notification_override={"keep_default": True, "actions": {"on_finish": [{}]}}
        )

        def start_then_finish():
            job_transition_notify(job=job, actions=("on_acquire", "on_start"), transition_data={})  # print, email
            job_transition_notify(job=job, actions=("on_finish",), transition_data={})

        messages = run(lambda: listen(f"/v1/jobs/{job.pk}?token={token(user)}", then=start_then_finish))
        assert [m["transition"] for m in messages] == ["finish"]

    def test_every_listener_hears_each_message_once(self, job, user, admin_user):
        async def two_listeners():
            first = WebsocketCommunicator(application, f"/v1/jobs/{job.pk}?token={token(user)}")
            second = WebsocketCommunicator(application, f"/v1/jobs/{job.pk}?token={token(admin_user)}")
            assert (await first.connect())[0] and (await second.connect())[0]
            await database_sync_to_async(finish(job.pk))()
            heard = [await c.receive_json_from(timeout=3) for c in (first, second)]
            assert await first.receive_nothing(timeout=0.3) and await second.receive_nothing(timeout=0.1)
            await first.disconnect()
            await second.disconnect()
            return heard

        first, second = run(two_listeners)
        assert first == second and first["transition"] == "finish"


class TestRecordRelay:
    def test_one_query_per_interval_however_many_listen(self, templates, user, settings, monkeypatch):
        settings.NOTIFICATION_WEBSOCKET_TRANSPORT = "poll"
        jobs = [
            make_job(templates["noop"], user, notification_override={"actions": WEBSOCKET_EVERYWHERE})
            for _ in range(10)
        ]
        from notifications import relay

        calls = []
        real = relay.websocket_new
        monkeypatch.setattr(relay, "websocket_new", lambda **kwargs: calls.append(kwargs) or real(**kwargs))

        async def many_listeners():
            listeners = [WebsocketCommunicator(application, f"/v1/jobs/{job.pk}?token={token(user)}") for job in jobs]
            for listener in listeners:
                assert (await listener.connect())[0]
            await database_sync_to_async(finish(jobs[3].pk))()
            heard = await listeners[3].receive_json_from(timeout=3)
            before = len(calls)
            await asyncio.sleep(0.5)
            during = calls[before:]
            for listener in listeners:
                await listener.disconnect()
            return heard, during

        heard, during = run(many_listeners)
        assert heard["pk"] == jobs[3].pk
        # 0.05 s interval for 0.5 s: at most ~10 polls, each for all ten jobs (per listener it would be 100).
        assert 1 <= len(during) <= 12, len(during)
        assert all(sorted(call["job_ids"]) == sorted(job.pk for job in jobs) for call in during)
