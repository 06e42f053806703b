"""A tiny standalone Celery app (no Django) that the broker soak test runs real workers of.

Everything is configured through the environment, so workers and publishers are plain processes:

* ``SOAK_DIR`` (required): temporary folder holding the broker (``<dir>/broker``) and the results.
* ``SOAK_BROKER``: ``fsq`` (default, our transport) or ``stock`` (kombu's ``filesystem://``, to
  show the defect of celery/kombu#1551 by hand).
* ``SOAK_POLLING_INTERVAL``: broker polling interval in seconds (default 0.05, for both brokers).

Worker::

    SOAK_DIR=/tmp/soak PYTHONPATH=<repo>/tests/config celery -A soak_app worker --pool=prefork --concurrency=2

Publisher (sends tasks ``first`` .. ``first + count - 1``)::

    SOAK_DIR=/tmp/soak PYTHONPATH=<repo>/tests/config python -m soak_app publish <first> <count> [<rate>]

Each task creates ``<dir>/done/<n>`` exclusively; a second execution of the same task leaves a
file in ``<dir>/dupes`` instead, so "exactly once" is a matter of counting files.  A worker drops a
file named after its node into ``<dir>/ready`` once it consumes, so the test needs no sleeps.
"""

from __future__ import annotations

import os
import sys
import time
import types
import uuid
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready

REPO_DIR = Path(__file__).resolve().parents[2]


def _import_register_transports():
    """Import ``config.broker`` without running ``config/__init__.py``.

    That package ``__init__`` boots the service's Django Celery app (and sets
    ``DJANGO_SETTINGS_MODULE``, which switches on Celery's Django fixup for *every* app), while
    ``config.broker`` needs nothing but kombu.  A bare package object standing in for ``config``
    keeps the soak independent of Django, the database and the state of the apps.
    """
    if "config" not in sys.modules:
        package = types.ModuleType("config")
        package.__path__ = [str(REPO_DIR / "config")]
        sys.modules["config"] = package
    from config.broker import register_transports

    return register_transports


os.environ.pop("DJANGO_SETTINGS_MODULE", None)
# Celery prefers this variable to the app's own broker_url; the soak must use its own fsq:// folder.
os.environ.pop("CELERY_BROKER_URL", None)
register_transports = _import_register_transports()

TASK_NAME = "soak.mark"

SOAK_DIR = Path(os.environ["SOAK_DIR"])
BROKER_DIR = SOAK_DIR / "broker"
DONE_DIR = SOAK_DIR / "done"
DUPES_DIR = SOAK_DIR / "dupes"
READY_DIR = SOAK_DIR / "ready"
for _folder in (DONE_DIR, DUPES_DIR, READY_DIR):
    _folder.mkdir(parents=True, exist_ok=True)

#: Transport option → sub-folder of the broker folder, for kombu's stock transport.
_STOCK_FOLDERS = {
    "data_folder_in": "queue",
    "data_folder_out": "queue",
    "processed_folder": "processed",
    "control_folder": "control",
}


def broker_settings(kind: str, polling_interval: float) -> tuple[str, dict]:
    """Broker URL and transport options for our ``fsq`` transport or kombu's stock one."""
    if kind == "fsq":
        register_transports()
        return f"fsq://{BROKER_DIR.as_posix()}", {"polling_interval": polling_interval}
    if kind == "stock":
        # Same layout as ours; the stock transport needs every folder to exist beforehand.
        folders = {name: BROKER_DIR / leaf for name, leaf in _STOCK_FOLDERS.items()}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        options = {name: str(folder) for name, folder in folders.items()}
        return "filesystem://", {**options, "polling_interval": polling_interval}
    raise ValueError(f"SOAK_BROKER must be 'fsq' or 'stock', not {kind!r}")


broker_url, transport_options = broker_settings(
    os.environ.get("SOAK_BROKER", "fsq"), float(os.environ.get("SOAK_POLLING_INTERVAL", "0.05"))
)

app = Celery("soak_app")
# The service's own Celery policy (config/settings.py), minus Django.
app.conf.update(
    broker_url=broker_url,
    broker_transport_options=transport_options,
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    result_backend=None,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=int(os.environ.get("SOAK_PREFETCH_MULTIPLIER", "1")),
    task_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
)


@app.task(name=TASK_NAME)
def mark(n: int) -> None:
    """Record that task ``n`` ran; a repeat run is recorded as a duplicate rather than lost."""
    try:
        fd = os.open(DONE_DIR / str(n), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        (DUPES_DIR / f"{n}.{uuid.uuid4().hex}").touch()
        return
    os.close(fd)


@worker_ready.connect
def _announce_ready(sender, **kwargs) -> None:
    READY_DIR.mkdir(parents=True, exist_ok=True)
    (READY_DIR / sender.hostname).touch()


def publish(first: int, count: int, rate: float = 0.0) -> None:
    """Send tasks ``first`` .. ``first + count - 1`` over one producer connection, at most ``rate``
    per second (0: as fast as possible).

    Pacing matters: the stock transport only breaks when a consumer lists a message the instant
    it is created, i.e. when consumers keep up with publishers instead of working off a backlog.
    """
    start = time.monotonic()
    with app.producer_or_acquire() as producer:
        for i, n in enumerate(range(first, first + count)):
            if rate:
                time.sleep(max(0.0, start + i / rate - time.monotonic()))
            app.send_task(TASK_NAME, args=[n], producer=producer)


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4) or argv[0] != "publish":
        print("usage: python -m soak_app publish <first> <count> [<rate per second>]", file=sys.stderr)
        return 2
    publish(int(argv[1]), int(argv[2]), float(argv[3]) if len(argv) == 4 else 0.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
