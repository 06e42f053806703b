"""The watchdog of a running job: a thread that beats its heartbeat, writes its throttled progress, and
watches for its cancellation (terminating the worker child process that runs an executor which ignores
it past the grace period)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from billiard.process import current_process
from django.conf import settings
from django.db import connection

from executors.context import ExecutionContext
from jobtemplates.models import JobStatus
from jobtemplates.services.jobs import Claim, job_heartbeat, job_progress

logger = logging.getLogger("executors.runner")  # its lines read as the runner's, as before


class Watchdog(threading.Thread):
    """Heartbeat, throttled progress and cancellation watching for one running job."""

    def __init__(self, claim: Claim, cancelled: threading.Event):
        super().__init__(name=f"job-{claim.job_id}-watchdog", daemon=True)
        self.claim = claim
        self.cancelled = cancelled
        self.stopping = threading.Event()
        self.context: ExecutionContext | None = None
        self.cancelled_at: float | None = None
        self.last_notified: float | None = None  # not 0.0: the monotonic clock may start near zero
        self.may_terminate = current_process().name.startswith("ForkPoolWorker")
        # Called (from this thread) just before the run's process is killed: keeps what it can of the run.
        self.before_termination: Callable[[], object] | None = None

    def run(self) -> None:
        try:
            while not self.stopping.wait(settings.JOB_HEARTBEAT_SECONDS):
                self.tick()
        finally:
            connection.close()

    def tick(self) -> None:
        # A progress write beats the heartbeat too, and only while the job is running under this claim.
        status = JobStatus.RUNNING if self.flush_progress() else job_heartbeat(claim=self.claim)
        if status != JobStatus.RUNNING and not self.cancelled.is_set():
            # Cancelled, or the claim was superseded: either way this run must stop.
            logger.info("job %s is %s: asking the executor to stop", self.claim.job_id, status or "reclaimed")
            self.cancelled.set()
            self.cancelled_at = time.monotonic()
        if self.cancelled_at is not None and time.monotonic() - self.cancelled_at > settings.JOB_CANCEL_GRACE_SECONDS:
            self.terminate()

    def flush_progress(self) -> bool:
        """Write the progress reported since the last flush (one statement): True if it was written
        (the job is running under this claim), False if there was none or the job is not."""
        progress = self.context.take_progress() if self.context else None
        if progress is None:
            return False
        return job_progress(claim=self.claim, progress=progress[0], data=progress[1], notify=self.notify_due())

    def notify_due(self) -> bool:
        """Whether progress may be notified now (``JOB_PROGRESS_NOTIFY_SECONDS`` apart); counts it as done."""
        now = time.monotonic()
        due = self.last_notified is None or now - self.last_notified >= settings.JOB_PROGRESS_NOTIFY_SECONDS
        if due:
            self.last_notified = now
        return due

    def terminate(self) -> None:
        if not self.may_terminate:
            logger.error(
                "job %s ignores cancellation; not in a pool child, so it cannot be terminated", self.claim.job_id
            )
            self.cancelled_at = None
            return
        logger.error(
            "job %s did not stop within %ss of its cancellation: terminating its worker process",
            self.claim.job_id,
            settings.JOB_CANCEL_GRACE_SECONDS,
        )
        if self.before_termination is not None:
            try:
                self.before_termination()
            except Exception:  # the kill must happen whatever
                logger.exception("job %s: could not keep its log before termination", self.claim.job_id)
        os.kill(os.getpid(), signal.SIGKILL)

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)
