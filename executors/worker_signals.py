"""Celery workers report themselves to the registry (runners.Worker): everything they can run when they
start, a heartbeat every WORKER_HEARTBEAT_SECONDS from a daemon thread of the worker's main process,
and that they stopped when they shut down. And they keep their database connections from task to task
(``keep_connections``, ``before_task``/``after_task``: settings.WORKER_DB_CONN_MAX_AGE).

Reporting never stops a worker: a failure is logged and the next heartbeat tries again (a heartbeat
that finds no row, because the first report failed or an admin deleted it, reports everything again).
The handlers are adapters: they gather what the worker knows and call ``runners.services``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_init, worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections, connections

from executors.registry import worker_capabilities
from runners.services import worker_beat, worker_report, worker_stopped

logger = logging.getLogger(__name__)

# Join the heartbeat thread for at most this long at shutdown (a beat stuck on the database must not
# hold the worker up; its late write could then clear stopped_at until the row goes stale).
STOP_TIMEOUT_SECONDS = 10.0


def close_connections() -> None:
    """Close this thread's database connections, so none idles between reports; a connection inside a
    transaction (a test's) is left alone."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


class WorkerReporter:
    """Reports one worker (Celery hostname ``name``): ``report`` its capabilities, ``beat`` that it is
    alive, ``stopped`` at shutdown; ``start`` runs the heartbeat thread. No method raises."""

    def __init__(self, *, name: str, queues: list[str], concurrency: int | None, interval: float):
        self.name = name
        self.queues = queues
        self.concurrency = concurrency
        self.interval = interval
        self._capabilities: dict[str, Any] | None = None
        self._started_reported = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def capabilities(self) -> dict[str, Any]:
        """What this worker can run (found once: importing every executor module is not free)."""
        if self._capabilities is None:
            self._capabilities = worker_capabilities(queues=self.queues, concurrency=self.concurrency)
        return self._capabilities

    def report(self) -> bool:
        """Write every capability and that the worker is alive now; False (logged) when it failed."""
        return self._safely("report", self._write_report)

    def beat(self) -> bool:
        """Mark the worker alive now; report everything when the registry has no row for it."""

        def beat_or_report() -> None:
            if not worker_beat(name=self.name):
                self._write_report()

        return self._safely("heartbeat", beat_or_report)

    def stopped(self) -> bool:
        """Stop the heartbeat thread, then record that the worker stopped."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        return self._safely("stop", lambda: worker_stopped(name=self.name))

    def start(self) -> None:
        """Beat every ``interval`` seconds from a daemon thread until ``stopped``."""
        self._thread = threading.Thread(target=self._run, name=f"registry-heartbeat-{self.name}", daemon=True)
        self._thread.start()

    def _write_report(self) -> None:
        # started_at is set by the first report that succeeds; a row re-created later (an admin
        # deleted it) leaves it empty rather than claim a wrong start.
        worker_report(name=self.name, started=not self._started_reported, **self.capabilities)
        self._started_reported = True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def _safely(self, what: str, write: Callable[[], Any]) -> bool:
        try:
            write()
        except Exception:  # noqa: BLE001 - the registry is advisory: a worker keeps working without it
            logger.exception("worker %s could not send its registry %s", self.name, what)
            return False
        finally:
            close_connections()
        return True


def consumed_queues(consumer) -> list[str]:
    """The names of the queues ``consumer`` (a Celery worker's consumer) takes tasks from."""
    task_consumer = getattr(consumer, "task_consumer", None)
    queues = getattr(task_consumer, "queues", None) or consumer.app.amqp.queues.consume_from.values()
    return sorted({queue.name for queue in queues})


def pool_size(consumer) -> int | None:
    """How many tasks the worker runs at once (its pool's size; the maximum when autoscaling)."""
    concurrency = getattr(getattr(consumer, "controller", None), "concurrency", None)
    if concurrency is None:
        concurrency = getattr(getattr(consumer, "pool", None), "limit", None)
    return int(concurrency) if concurrency else None


# The reporter of this process's worker (a worker process has one worker).
_reporter: WorkerReporter | None = None


def on_worker_ready(sender, **kwargs) -> None:
    """``worker_ready`` (``sender``: the worker's consumer): report, then start the heartbeat."""
    global _reporter
    try:
        reporter = WorkerReporter(
            name=sender.hostname,
            queues=consumed_queues(sender),
            concurrency=pool_size(sender),
            interval=float(settings.WORKER_HEARTBEAT_SECONDS),
        )
    except Exception:  # noqa: BLE001 - never crash a worker for the registry's sake
        logger.exception("could not describe worker %s for the registry", getattr(sender, "hostname", "?"))
        return
    reporter.report()
    _reporter = reporter
    try:
        reporter.start()
    except Exception:  # noqa: BLE001 - e.g. no thread to be had: the worker runs on, unseen once stale
        logger.exception("worker %s could not start its registry heartbeat", reporter.name)


def on_worker_shutdown(sender, **kwargs) -> None:
    """``worker_shutdown`` (``sender``: the worker controller): stop beating, record the stop."""
    global _reporter
    reporter, _reporter = _reporter, None
    if reporter is None:
        name = getattr(sender, "hostname", None)
        if not name:
            return
        reporter = WorkerReporter(name=name, queues=[], concurrency=None, interval=0)
    reporter.stopped()


def keep_connections(sender=None, **kwargs) -> None:
    """``worker_init``: this worker's database connections live WORKER_DB_CONN_MAX_AGE seconds (the web
    server's DB_CONN_MAX_AGE says 0 by default). A connection opened before keeps the age it was opened
    with (0: closed by the next ``close_old_connections``)."""
    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = settings.WORKER_DB_CONN_MAX_AGE


def before_task(sender=None, **kwargs) -> None:
    """``task_prerun``: close this thread's connections that are past their age or broken, and have a kept
    one checked before its first use (CONN_HEALTH_CHECKS): a task after a database restart or an idle
    kill reconnects instead of failing. Celery's own fixup leaves kept connections alone
    (CELERY_DB_REUSE_MAX). An eager task (a test's, inside the caller's transaction) is left alone."""
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


def after_task(sender=None, **kwargs) -> None:
    """``task_postrun``: as ``before_task``, so that a worker idle after its last task holds no connection
    past its age (WORKER_DB_CONN_MAX_AGE=0: none at all) nor one an error left broken."""
    before_task(sender=sender)


def connect() -> None:
    """Connect the handlers (idempotent: called from ``ExecutorsConfig.ready``)."""
    worker_init.connect(keep_connections, dispatch_uid="executors.worker_signals.init", weak=False)
    task_prerun.connect(before_task, dispatch_uid="executors.worker_signals.prerun", weak=False)
    task_postrun.connect(after_task, dispatch_uid="executors.worker_signals.postrun", weak=False)
    worker_ready.connect(on_worker_ready, dispatch_uid="executors.worker_signals.ready", weak=False)
    worker_shutdown.connect(on_worker_shutdown, dispatch_uid="executors.worker_signals.shutdown", weak=False)
