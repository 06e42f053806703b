"""``ws://…/v1/jobs/{pk}``: the notification data of a job's transitions that carry a websocket notification.

Who may listen is who may retrieve the job: an anonymous caller (or a bad token) is closed with 4401,
a job the caller cannot see (or that does not exist) with 4404. On connect the last message is sent
again, so a listener knows where the job stands without a race against the next transition.

Transport: every websocket delivery is a record (notifications.models) that the dispatcher also pushes
on the channel layer. With Redis the push reaches every server process, and that is all a listener
needs. The in-memory layer of the embedded mode cannot carry a push from the worker process to daphne,
so there the process's record relay (notifications.relay) polls the records for its listeners. A
message is known by its record's pk: one that arrives both ways is sent once, and one older than the
replayed message is history, never sent after it.
"""

from __future__ import annotations

import logging
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from notifications.dispatch import websocket_group
from notifications.relay import record_relay
from notifications.selectors import websocket_last

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


def polls(layer) -> bool:
    """Whether listeners need the record relay: the setting, or (``auto``) an in-memory layer."""
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
        self.relay = None
        self.floor = 0
        self.sent: deque[int] = deque(maxlen=256)

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
        # Listen before reading the replay: nothing that arrives in between is lost.
        if self.channel_layer is not None:
            self.group = websocket_group(job_id)
            await self.channel_layer.group_add(self.group, self.channel_name)
        if polls(self.channel_layer):
            self.relay = record_relay()
            self.relay.listen(job_id, self)
        last = await database_sync_to_async(websocket_last)(job_id=job_id)
        if last is not None:
            await self._send_once(*last)
            self.floor = last[0]

    def _visible(self, user, job_id: int) -> bool:
        return self.visible_jobs(user=user).filter(pk=job_id).exists()

    async def disconnect(self, code) -> None:
        if self.relay is not None:
            self.relay.unlisten(self.job_id, self)
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """Listeners only listen: anything they send is ignored."""

    async def job_transition(self, event: dict) -> None:
        """A message pushed on the channel layer by the dispatcher, or handed over by the relay."""
        await self._send_once(event["delivery"], event["data"])

    async def _send_once(self, delivery_id: int, data: dict) -> None:
        if delivery_id in self.sent or delivery_id < self.floor:
            return
        self.sent.append(delivery_id)
        await self.send_json(data)
