"""Stopping a request's work when nobody waits for it any more: its client has gone, or it has run past
``REQUEST_TIMEOUT_SECONDS``.

Django runs a sync view in a thread, and under ASGI it only *cancels the coroutine* awaiting that thread
when the client disconnects: the thread computes on, for minutes if the request asks for it. Here:

* :class:`RequestWorkMiddleware` (innermost, sync) records, for the request it runs, its thread and
  that thread's database connections, and a deadline;
* :class:`InterruptibleASGIHandler` interrupts that work when the server reports ``http.disconnect``;
  a single watchdog thread interrupts work past its deadline;
* interrupting cancels the statement the connection is running (PostgreSQL's cancel request, SQLite's
  ``interrupt``) and raises :class:`RequestInterrupted` in the request's thread at its next bytecode
  (``PyThreadState_SetAsyncExc``). It derives from ``BaseException`` so that no ``except Exception``
  on the way swallows it; ``transaction.atomic`` rolls back as for any exception, so nothing is half
  written. The middleware turns it into a 503 with the envelope (for a client that still listens, past
  the deadline) and closes the thread's connections, which may be mid-protocol.

The record's lock makes an interruption land only while the request's thread is inside the middleware:
the thread cannot leave it (and take another request) before it has cleared the record under the lock.

Under gunicorn (the HTTP API, config/gunicorn_conf.py) the deadline works the same in its worker threads
(tests/config/test_gunicorn.py), and a worker stopping on SIGTERM stops its requests just before its
graceful timeout (config/http_limits/gunicorn.py). Noticing that a client has gone is ASGI's only (daphne
reports ``http.disconnect``): WSGI tells the application nothing until it writes the answer, so under
gunicorn a request whose client has gone runs on until it ends or reaches its deadline.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


class RequestInterrupted(BaseException):  # noqa: N818 - an interruption, not an error of the request
    """Raised in a request's thread to stop its work (``reason``: ``client_gone`` or ``timeout``)."""

    def __init__(self, reason: str = "interrupted") -> None:
        super().__init__(reason)
        self.reason = reason


class ClientGone(RequestInterrupted):  # noqa: N818
    def __init__(self) -> None:
        super().__init__("client_gone")


class RequestTimedOut(RequestInterrupted):  # noqa: N818
    def __init__(self) -> None:
        super().__init__("timeout")


class ServerStopping(RequestInterrupted):  # noqa: N818
    def __init__(self) -> None:
        super().__init__("server_stopping")


class RequestWork:
    """One request's work: the thread running it and that thread's database connections."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.thread_id: int | None = None
        self.databases: list = []
        self.reason: str | None = None

    def enter(self) -> None:
        with self.lock:
            self.thread_id = threading.get_ident()
            self.databases = [connections[alias] for alias in connections]
        _running.add(self)

    def leave(self) -> None:
        with self.lock:
            self.thread_id = None
            self.databases = []
        _running.discard(self)

    def interrupt(self, exception: type[RequestInterrupted]) -> bool:
        """Stop the work if it still runs; whether it did."""
        with self.lock:
            if self.thread_id is None or self.reason is not None:
                return False
            self.reason = exception.__name__
            for database in self.databases:
                _cancel_statement(database)
            raised = ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self.thread_id), ctypes.py_object(exception)
            )
            return raised == 1


# The work of this process's requests that runs now (config.server waits for it to end on SIGTERM).
_running: set[RequestWork] = set()


def running_requests() -> int:
    """How many requests this process is working on now."""
    return len(_running)


def interrupt_all(exception: type[RequestInterrupted]) -> int:
    """Stop every request this process is working on; how many were stopped."""
    return sum(work.interrupt(exception) for work in list(_running))


def _cancel_statement(database) -> None:
    """Cancel what ``database`` (another thread's connection wrapper) is running, if anything."""
    raw = database.connection
    if raw is None:
        return
    try:
        if hasattr(raw, "cancel"):  # psycopg2 and psycopg 3: thread-safe by design
            raw.cancel()
        elif hasattr(raw, "interrupt"):  # sqlite3
            raw.interrupt()
    except Exception:  # a connection already closed or broken: nothing runs on it
        logger.debug("could not cancel a statement", exc_info=True)


# The work of the request being served, shared by the ASGI handler's tasks and the request's thread
# (asyncio tasks and asgiref's threads copy the context; the object inside is the same).
current_work: ContextVar[RequestWork | None] = ContextVar("current_work", default=None)


class _Watchdog:
    """One thread interrupting work past its deadline (a heap of deadlines, checked twice a second)."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, RequestWork]] = []
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.thread: threading.Thread | None = None

    def watch(self, work: RequestWork, deadline: float) -> None:
        with self.lock:
            heapq.heappush(self.heap, (deadline, next(self.counter), work))
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="request-watchdog", daemon=True)
                self.thread.start()

    def run(self) -> None:
        while True:
            time.sleep(0.5)
            now, due = time.monotonic(), []
            with self.lock:
                while self.heap and self.heap[0][0] <= now:
                    due.append(heapq.heappop(self.heap)[2])
            for work in due:
                if work.interrupt(RequestTimedOut):
                    logger.warning("request interrupted past REQUEST_TIMEOUT_SECONDS")


watchdog = _Watchdog()


class RequestWorkMiddleware:
    """Innermost middleware: the view's work can be interrupted while it runs (see the module)."""

    sync_capable, async_capable = True, False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        work = current_work.get()
        if work is None:  # WSGI, or a test client: deadlines only
            work = RequestWork()
        timeout = settings.REQUEST_TIMEOUT_SECONDS
        work.enter()
        try:
            if timeout:
                watchdog.watch(work, time.monotonic() + timeout)
            try:
                return self.get_response(request)
            finally:
                work.leave()
        except RequestInterrupted as interrupted:
            for database in connections.all(initialized_only=True):
                database.close()
            from config.api.exception_handler import error_body

            detail = {
                "timeout": f"The request took longer than REQUEST_TIMEOUT_SECONDS ({timeout:g} s) and was stopped.",
                "server_stopping": "The server is stopping; the request was stopped. Send it again.",
            }.get(interrupted.reason, "The client went away; the request was stopped.")
            return JsonResponse(
                error_body(detail=detail, code="request_interrupted", reason=interrupted.reason), status=503
            )


class InterruptibleASGIHandler(ASGIHandler):
    """Django's ASGI handler that stops a request's work when its client disconnects."""

    async def handle(self, scope, receive, send):
        current_work.set(RequestWork())
        return await super().handle(scope, receive, send)

    async def listen_for_disconnect(self, receive):
        try:
            return await super().listen_for_disconnect(receive)
        except RequestAborted:
            work = current_work.get()
            if work is not None and work.interrupt(ClientGone):
                logger.info("client gone: its request's work was stopped")
            raise
