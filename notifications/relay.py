"""Relaying websocket messages from their records to this process's listeners, where the layer cannot.

The in-memory channel layer of the embedded mode cannot carry a push from the worker process to daphne.
One relay per event loop (one per daphne process) polls the delivery records of the jobs that have
listeners here — one query per interval however many listeners there are — and hands each new message
to the listeners of its job. It runs only while someone listens.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from datetime import timedelta
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from notifications.selectors import delivery_cursor, websocket_new

logger = logging.getLogger(__name__)

# Rows numbered below the cursor may still commit this long after it was read (see websocket_new).
LATE_COMMIT_SLACK = timedelta(seconds=2)


class Listener(Protocol):
    async def job_transition(self, event: dict) -> None: ...


class RecordRelay:
    """Polls for the jobs listened to on one event loop and hands their new messages to the listeners."""

    def __init__(self) -> None:
        self.listeners: dict[int, set[Listener]] = {}
        self.task: asyncio.Task | None = None
        self.cursor: int | None = None
        self.relayed: deque[int] = deque(maxlen=1024)

    def listen(self, job_id: int, listener: Listener) -> None:
        self.listeners.setdefault(job_id, set()).add(listener)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())

    def unlisten(self, job_id: int, listener: Listener) -> None:
        listeners = self.listeners.get(job_id, set())
        listeners.discard(listener)
        if not listeners:
            self.listeners.pop(job_id, None)
        if not self.listeners and self.task is not None:
            self.task.cancel()
            self.task = None
            self.cursor = None

    async def _run(self) -> None:
        fetch = database_sync_to_async(websocket_new)
        while True:
            try:
                if self.cursor is None:
                    self.cursor = await database_sync_to_async(delivery_cursor)()
                await asyncio.sleep(settings.NOTIFICATION_WEBSOCKET_POLL_SECONDS)
                rows = await fetch(
                    job_ids=list(self.listeners), after=self.cursor, since=timezone.now() - LATE_COMMIT_SLACK
                )
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is busy or gone for a moment: try again next time
                logger.exception("polling websocket messages failed")
                await asyncio.sleep(settings.NOTIFICATION_WEBSOCKET_POLL_SECONDS)
                continue
            for delivery_id, job_id, data in rows:
                self.cursor = max(self.cursor, delivery_id)
                if delivery_id in self.relayed:
                    continue
                self.relayed.append(delivery_id)
                for listener in list(self.listeners.get(job_id, ())):
                    try:
                        await listener.job_transition({"delivery": delivery_id, "data": data})
                    except Exception:  # one listener's broken connection must not silence the others
                        logger.exception("relaying delivery %s failed", delivery_id)


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RecordRelay] = weakref.WeakKeyDictionary()


def record_relay() -> RecordRelay:
    """The relay of the running event loop."""
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        relay = _relays[loop] = RecordRelay()
    return relay
