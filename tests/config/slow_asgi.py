"""A Django-free ASGI app for tests/config/test_server.py: every HTTP request runs a sync, CPU-bound
function in asgiref's thread pool (as Django runs a sync view under ASGI) for ``SLOW_ASGI_SECONDS``,
after touching ``SLOW_ASGI_MARKER`` so the test knows it started."""

from __future__ import annotations

import os
import time
from pathlib import Path

from asgiref.sync import sync_to_async


def busy(seconds: float) -> int:
    Path(os.environ["SLOW_ASGI_MARKER"]).touch()
    end, spins = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        spins += 1
    return spins


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        return
    if scope["type"] != "http":
        return
    await receive()
    spins = await sync_to_async(busy, thread_sensitive=False)(float(os.environ.get("SLOW_ASGI_SECONDS", "60")))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(spins).encode()})
