"""The baseline of bench/jobs.py: a bare Celery app (no Django, no database) with one no-op task.

The task writes the time it ran into a marker file, so the benchmark sees it done without a result
backend (the service has none either). It runs on the service's broker URL with the service's Celery
policy (late acks, prefetch 1, JSON, no results), on a queue of its own. Configured by the environment:

* ``RAW_BROKER_URL`` (required): the broker, ``redis://…`` or ``fsq://<folder>``.
* ``RAW_QUEUE`` (required): the queue its workers consume and its tasks go to.
* ``RAW_DIR`` (required): a folder; markers go to ``<dir>/done/<n>``, ready workers to ``<dir>/ready``.
* ``RAW_POLLING_INTERVAL``: fsq:// polling interval in seconds (default 0.05, the service's default).
* ``RAW_PREFETCH_MULTIPLIER``: tasks reserved per pool process (default 1, the service's default; the
  benchmark passes the service workers' CELERY_WORKER_PREFETCH_MULTIPLIER).

Worker, from the repository root: ``RAW_BROKER_URL=… RAW_QUEUE=… RAW_DIR=… celery -A bench.raw_app worker``.
"""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready

REPO = Path(__file__).resolve().parents[1]
TASK_NAME = "bench.raw_noop"


def _register_transports() -> None:
    """Register the service's fsq:// transport without running ``config/__init__.py`` (which boots
    the service's Django Celery app)."""
    if "config" not in sys.modules:
        package = types.ModuleType("config")
        package.__path__ = [str(REPO / "config")]
        sys.modules["config"] = package
    from config.broker import register_transports

    register_transports()


os.environ.pop("DJANGO_SETTINGS_MODULE", None)
# Celery prefers this variable to the app's broker_url: the baseline must use RAW_BROKER_URL.
os.environ.pop("CELERY_BROKER_URL", None)
_register_transports()

BROKER_URL = os.environ["RAW_BROKER_URL"]
RAW_DIR = Path(os.environ["RAW_DIR"])
DONE_DIR = RAW_DIR / "done"
READY_DIR = RAW_DIR / "ready"

app = Celery("raw", broker=BROKER_URL, set_as_current=False)
app.conf.update(
    task_default_queue=os.environ["RAW_QUEUE"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=int(os.environ.get("RAW_PREFETCH_MULTIPLIER", "1")),
    task_ignore_result=True,
    result_backend=None,
    task_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
    broker_transport_options=(
        {"polling_interval": float(os.environ.get("RAW_POLLING_INTERVAL", "0.05"))}
        if BROKER_URL.startswith("fsq:")
        else {"visibility_timeout": 3600}
    ),
)


@app.task(name=TASK_NAME, acks_late=True, ignore_result=True)
def raw_noop(n: int) -> None:
    """Do nothing but leave a marker with the time it ran (written aside, then renamed: never read half-written)."""
    temporary = DONE_DIR / f".{n}.tmp"
    temporary.write_text(repr(time.time()))
    os.replace(temporary, DONE_DIR / str(n))


@worker_ready.connect
def _announce(sender, **kwargs) -> None:
    READY_DIR.mkdir(parents=True, exist_ok=True)
    (READY_DIR / sender.hostname).touch()
