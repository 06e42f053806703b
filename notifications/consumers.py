"""``ws://…/v1/jobs/{pk}``: the notification data of a job's transitions that carry a websocket notification.

Who may listen is who may retrieve the job: an anonymous caller (or a bad token) is closed with 4401,
a job the caller cannot see (or that does not exist) with 4404. On connect the last message is sent
again, so a listener knows where the job stands without a race against the next transition.

Transport: every websocket delivery is a record (notifications.models); the dispatcher also pushes it
on the channel layer. With Redis the push reaches every server process, so that is all a listener
needs. The in-memory layer of the embedded mode cannot carry events from the worker process to
daphne, so there the consumer also polls the records (one indexed query per poll). Messages are
told apart by their record's pk, so one that arrives both ways is sent once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.conf import settings
from django.utils import timezone

from notifications.dispatch import websocket_group
from notifications.selectors import websocket_last, websocket_new

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
# Rows numbered before the last one read may still commit this long after it (see websocket_new).
LATE_COMMIT_SLACK = timedelta(seconds=2)


def polls(layer) -> bool:
    """Whether listeners must poll the records: the setting, or (``auto``) an in-memory layer."""
    transport = settings.NOTIFICATION_WEBSOCKET_TRANSPORT
    if transport == "auto":
        return layer is None or isinstance(layer, InMemoryChannelLayer)
    return transport == "poll"


class JobConsumer(AsyncJsonWebsocketConsumer):
    """One listener of one job. ``visible_jobs(user=…)`` gives the jobs the user may retrieve."""

    def __init__(self, *args, visible_jobs, **kwargs):
        super().__init__(*args, **kwargs)
        self.visible_jobs = visible_jobs
        self.job_id: int | None = None
        self.group: str | None = None
        self.last_sent = 0
        self.sent: deque[int] = deque(maxlen=256)
        self.poller: asyncio.Task | None = None
        self.connected_time = timezone.now()

    async def connect(self) -> None:
        # Accept first: a refused handshake reaches the client as a bare HTTP 403, a close keeps our code.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        job_id = int(self.scope["url_route"]["kwargs"]["pk"])
        if not await database_sync_to_async(self._visible)(user, job_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.job_id = job_id
        self.connected_time = timezone.now()
        if self.channel_layer is not None:
            # Join before reading the replay: nothing pushed in between is lost.
            self.group = websocket_group(job_id)
            await self.channel_layer.group_add(self.group, self.channel_name)
        last = await database_sync_to_async(websocket_last)(job_id=job_id)
        if last is not None:
            await self._send_once(*last)
        if polls(self.channel_layer):
            self.poller = asyncio.create_task(self._poll())

    def _visible(self, user, job_id: int) -> bool:
        return self.visible_jobs(user=user).filter(pk=job_id).exists()

    async def disconnect(self, code) -> None:
        if self.poller is not None:
            self.poller.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """Listeners only listen: anything they send is ignored."""

    async def job_transition(self, event: dict) -> None:
        """A delivery pushed on the channel layer by the dispatcher."""
        await self._send_once(event["delivery"], event["data"])

    async def _send_once(self, delivery_id: int, data: dict) -> None:
        if delivery_id in self.sent:
            return
        self.sent.append(delivery_id)
        self.last_sent = max(self.last_sent, delivery_id)
        await self.send_json(data)

    async def _poll(self) -> None:
        interval = settings.NOTIFICATION_WEBSOCKET_POLL_SECONDS
        fetch = database_sync_to_async(websocket_new)
        while True:
            await asyncio.sleep(interval)
            # Never older than the connection: earlier messages are history, replayed only by the last one.
            since = max(timezone.now() - LATE_COMMIT_SLACK, self.connected_time)
            try:
                rows = await fetch(job_id=self.job_id, after=self.last_sent, since=since)
            except Exception:  # the database is busy or gone for a moment: try again next time
                logger.exception("polling websocket messages of job %s failed", self.job_id)
                continue
            for delivery_id, data in rows:
                await self._send_once(delivery_id, data)
