"""The two sides of bench/jobs.py: jobs through the service (create-job, then the job's row until it is
final) and raw Celery tasks of bench/raw_app.py (send, then the marker file)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.common import Process, wait_for

FINAL = ("finished", "errored", "cancelled")


class Service:
    """Jobs through the service: create-job, then the job's row until it is final."""

    def __init__(self, data: dict, workers: list[Process]):
        from jobtemplates.services.jobs import enqueueing

        self.user, self.templates, self.dataset = data["user"], data["templates"], data["dataset"]
        self.workers = workers
        # When each job's task was handed to the broker (after its transaction committed).
        self.sent_at: dict[int, float] = {}
        send = enqueueing.send_run_job

        def timed_send(job_id: int, queue: str = "") -> bool:
            self.sent_at[job_id] = time.time()
            return send(job_id, queue)

        enqueueing.send_run_job = timed_send

    def create(self, template_name: str = "noop", body: dict | None = None):
        from jobtemplates.services.jobs import job_create

        return job_create(template=self.templates[template_name], body=body or {"input_values": {}}, creator=self.user)

    def status(self, job_id: int) -> str | None:
        from jobtemplates.models import Job

        return Job.objects.filter(pk=job_id).values_list("status", flat=True).first()

    def wait_final(self, job_id: int, *, poll: float, timeout: float = 120) -> str:
        seen: list[str] = []

        def final() -> bool:
            status = self.status(job_id)
            if status in FINAL:
                seen.append(status)
                return True
            return False

        wait_for(final, timeout=timeout, interval=poll, what=f"job {job_id}", processes=self.workers)
        return seen[0]


class Raw:
    """Raw Celery tasks of bench/raw_app.py: send, then wait for the marker file."""

    def __init__(self, setup: dict, raw_dir: Path, workers: list[Process]):
        from celery import Celery
        from django.conf import settings

        self.done = raw_dir / "done"
        self.done.mkdir(parents=True, exist_ok=True)
        self.queue = setup["raw_queue"]
        self.workers = workers
        self.app = Celery("bench-raw-client", broker=setup["broker"], set_as_current=False)
        self.app.conf.update(
            task_serializer="json",
            accept_content=["json"],
            task_ignore_result=True,
            broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        )
        self.next = 0

    def send(self) -> int:
        n = self.next
        self.next += 1
        self.app.send_task("bench.raw_noop", args=[n], queue=self.queue)
        return n

    def ran_at(self, n: int) -> float | None:
        try:
            return float((self.done / str(n)).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def count_done(self) -> int:
        return sum(1 for name in os.listdir(self.done) if not name.startswith("."))
