"""Crash-safe filesystem broker transport for the embedded mode (``fsq://<folder>``).

Why this exists
---------------
kombu's stock ``filesystem://`` transport (5.7) cannot survive load, see celery/kombu#1551:

* The publisher creates the final ``<ts>_<uuid>.<queue>.msg`` file and only then writes the
  payload into it (under ``flock``).  The consumer lists the folder, moves the file away and
  reads it *without* taking the lock, so it regularly reads an empty or half-written file.
* ``json.loads`` then raises inside the consumer, the exception escapes ``drain_events`` and the
  Celery worker stops with "Unrecoverable error: JSONDecodeError".  Measured: 46 to 1,387 of
  3,000 tasks completed before the worker died; tests/config/test_broker_soak.py reproduces it
  (``SOAK_BROKER=stock``) and guards this transport against it.
* Exchange tables (``control/*.exchange``) have the same flaw: a first binding is written with
  ``open('wb')``, which truncates before the lock is taken, so a concurrent reader can parse an
  empty table and two processes binding at once can lose one binding.

The fix
-------
* Publish atomically: write the payload to a dot-prefixed ``.tmp`` name in the queue folder that
  no consumer ever matches (kombu, and this module, only pick names whose part after the first
  dot is exactly ``<queue>.msg``), optionally ``fsync`` it, then ``os.replace`` it to the final
  ``*.msg`` name.  A ``.msg`` file is therefore always complete the moment it becomes visible.
* Claim atomically: a consumer renames the ``.msg`` file to a per-process ``.claimed`` name in the
  same folder.  ``rename`` has exactly one winner, so several worker processes can share a folder;
  the losers get ``FileNotFoundError`` and move on to the next file.
* Never die on a bad file: a claimed file that is unreadable, empty, not JSON or not a kombu
  message is logged and moved to ``<folder>/bad`` (its content kept for inspection) and
  consumption carries on.
* Exchange tables are opened without truncation and rewritten under an exclusive lock; an empty
  table reads as "no bindings" instead of raising.

Layout of ``fsq:///srv/broker`` (``fsq://relative/path`` is resolved against the cwd)::

    /srv/broker/queue/       messages; data_folder_in == data_folder_out (one shared folder)
    /srv/broker/processed/   processed_folder, only written when store_processed is on
    /srv/broker/bad/         quarantined files that could not be consumed
    /srv/broker/control/     exchange → queue binding tables (fanout, pidbox)

Every folder can still be overridden through ``CELERY_BROKER_TRANSPORT_OPTIONS``
(``data_folder_in``, ``data_folder_out``, ``processed_folder``, ``bad_folder``, ``control_folder``,
``store_processed``, ``fsync``, ``polling_interval``).

Known limits, shared with the stock transport: a message is deleted once read, so a worker
process that dies hard (SIGKILL, OOM) loses the messages it had prefetched or was running (a
graceful shutdown or a lost pool child still requeues through kombu's QoS); the database-driven
reaper recovers those jobs.  Round-trip latency is bounded by ``polling_interval`` (0.05 s here,
1 s in kombu).  Messages have no TTL.  Remote control (pidbox: ``celery inspect``/``control``)
works through the fanout tables, but a worker's binding outlives it, so every later broadcast
also leaves one file for each worker node name that is gone.  POSIX only.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

#: Seconds between two polls of an empty queue (kombu's default of 1 s makes every round trip ~1 s).
DEFAULT_POLLING_INTERVAL = 0.05

MESSAGE_SUFFIX = ".msg"
TEMP_SUFFIX = ".tmp"
CLAIMED_SUFFIX = ".claimed"


_stamp_lock = threading.Lock()
_last_stamp = 0


def _next_stamp() -> int:
    """Wall-clock nanoseconds, strictly increasing within this process (keeps one publisher's order)."""
    global _last_stamp
    with _stamp_lock:
        _last_stamp = max(time.time_ns(), _last_stamp + 1)
        return _last_stamp


def message_filename(queue: str) -> str:
    """Final name of a new message of ``queue``, in kombu's ``<sort key>.<queue>.msg`` format.

    The sort key is a zero-padded wall-clock timestamp (stock kombu uses unpadded monotonic ms,
    which neither sorts as text nor survives a reboot) plus a uuid for uniqueness; it contains no
    dot, so the part after the first dot is exactly ``<queue>.msg`` as kombu's consumers expect.
    """
    return f"{_next_stamp():020d}_{uuid.uuid4().hex}.{queue}{MESSAGE_SUFFIX}"


def is_message_of(filename: str, queue: str) -> bool:
    """Whether ``filename`` is a ready (published, unclaimed) message of ``queue``.

    Temporary and claimed files start with a dot, so their part after the first dot also carries
    the sort key and can never equal ``<queue>.msg``; they also end in ``.tmp``/``.claimed``.
    """
    return filename.partition(".")[2] == f"{queue}{MESSAGE_SUFFIX}"


@dataclass(frozen=True)
class BrokerLayout:
    """The folders of one ``fsq://`` broker, derived from its URL."""

    root: Path

    @classmethod
    def from_url(cls, url: str | None) -> BrokerLayout:
        """``fsq:///abs/path`` → ``/abs/path``; ``fsq://rel/path`` → ``<cwd>/rel/path``; a bare path is taken as is."""
        if url and "://" in url:
            parts = urlsplit(url)
            # urlsplit puts the first segment of a relative path in the netloc: "fsq://var/broker".
            raw = unquote(parts.netloc + parts.path)
        else:
            raw = url or ""
        if not raw:
            raise ValueError(f"fsq:// broker URL needs a folder, e.g. fsq:///srv/broker (got {url!r})")
        return cls(Path(raw).expanduser().absolute())

    @property
    def queue(self) -> Path:
        return self.root / "queue"

    @property
    def processed(self) -> Path:
        return self.root / "processed"

    @property
    def bad(self) -> Path:
        return self.root / "bad"

    @property
    def control(self) -> Path:
        return self.root / "control"


class ExchangeTable:
    """One exchange's binding table (``<control>/<exchange>.exchange``), read and rewritten under ``flock``.

    Unlike kombu's version the file is never truncated before the lock is held, and an empty file
    (just created by a concurrent writer) reads as no bindings rather than raising.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[filesystem.exchange_queue_t]:
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {self.path}") from exc
        with f:
            filesystem.lock(f, filesystem.LOCK_SH)
            try:
                data = f.read()
            finally:
                filesystem.unlock(f)
        return self._parse(data)

    def update(
        self,
        change: Callable[[list[filesystem.exchange_queue_t]], list[filesystem.exchange_queue_t]],
        create: bool = True,
    ) -> None:
        """Apply ``change`` to the table as one locked read-modify-write."""
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        try:
            fd = os.open(self.path, flags, 0o666)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ChannelError(f"Cannot open {self.path}") from exc
        with os.fdopen(fd, "r+b", buffering=0) as f:
            filesystem.lock(f, filesystem.LOCK_EX)
            try:
                rows = self._parse(f.read())
                new_rows = change(rows)
                # "not rows" also rewrites an empty or corrupt file, so it stops logging on every read.
                if new_rows != rows or not rows:
                    f.seek(0)
                    f.write(str_to_bytes(dumps(new_rows)))
                    f.truncate()
            finally:
                filesystem.unlock(f)

    def _parse(self, data: bytes) -> list[filesystem.exchange_queue_t]:
        if not data.strip():
            return []
        try:
            return [filesystem.exchange_queue_t(*row) for row in loads(bytes_to_str(data))]
        except Exception:  # any decode failure means the same thing: the table is unusable
            # Raising here would kill whichever worker happens to publish to the exchange.
            logger.exception("Ignoring corrupt exchange table %s", self.path)
            return []


class Channel(filesystem.Channel):
    """Filesystem channel with atomic publish, atomic claim and quarantine of unusable files."""

    def __init__(self, connection: Transport, **kwargs: Any) -> None:
        self.layout: BrokerLayout = connection.layout
        super().__init__(connection, **kwargs)
        # Per-queue backlog of names from the last listing: listing and sorting a folder of
        # thousands of files for every single message would make consumption quadratic.
        self._backlogs: dict[str, deque[str]] = {}
        self._check_folders()
        self._make_folders()

    # --- folders (transport options override the URL-derived layout) -------------------------------

    def _folder_option(self, name: str, default: Path) -> Path:
        return Path(self.transport_options.get(name) or default).absolute()

    @cached_property
    def data_folder_in(self) -> Path:
        return self._folder_option("data_folder_in", self.layout.queue)

    @cached_property
    def data_folder_out(self) -> Path:
        return self._folder_option("data_folder_out", self.layout.queue)

    @cached_property
    def processed_folder(self) -> Path:
        return self._folder_option("processed_folder", self.layout.processed)

    @cached_property
    def bad_folder(self) -> Path:
        return self._folder_option("bad_folder", self.layout.bad)

    @cached_property
    def control_folder(self) -> Path:
        return self._folder_option("control_folder", self.layout.control)

    @cached_property
    def store_processed(self) -> bool:
        return bool(self.transport_options.get("store_processed", False))

    @cached_property
    def fsync(self) -> bool:
        """Flush each message to disk before publishing it (survives power loss; costs latency)."""
        return bool(self.transport_options.get("fsync", False))

    def _check_folders(self) -> None:
        queue_folders = {self.data_folder_in.resolve(), self.data_folder_out.resolve()}
        # Files moved there keep their ".msg" names, so they would be consumed again and again.
        for option in ("processed_folder", "bad_folder"):
            if getattr(self, option).resolve() in queue_folders:
                raise ValueError(f"fsq transport: {option} must not be the queue folder ({getattr(self, option)})")

    def _make_folders(self) -> None:
        folders = (self.data_folder_in, self.data_folder_out, self.processed_folder, self.bad_folder)
        for folder in (*folders, self.control_folder):
            folder.mkdir(parents=True, exist_ok=True)

    # --- publish ------------------------------------------------------------------------------------

    # kombu's stubs name the second parameter ``message`` on AbstractChannel and ``payload`` on the
    # filesystem Channel we extend: no signature satisfies both.
    def _put(self, queue: str, payload: dict, **kwargs: Any) -> None:  # type: ignore[override]
        """Publish ``payload`` to ``queue`` (see ``_publish``)."""
        if not queue or any(sep and sep in queue for sep in (os.sep, os.altsep, "\0")):
            raise ChannelError(f"Invalid queue name for the filesystem transport: {queue!r}")
        name = message_filename(queue)
        data = str_to_bytes(dumps(payload))
        try:
            try:
                self._publish(name, data)
            except FileNotFoundError:
                # The broker folder was removed under a running process (e.g. `make clean`).
                self._make_folders()
                self._publish(name, data)
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to {str(self.data_folder_out)!r}") from exc

    def _publish(self, name: str, data: bytes) -> None:
        """Write a hidden temporary file, then rename it to its final ``.msg`` name."""
        # Same folder as the final name, so os.replace is a same-filesystem, atomic rename.
        temp = self.data_folder_out / f".{name}{TEMP_SUFFIX}"
        try:
            with open(temp, "wb") as f:
                f.write(data)
                if self.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(temp, self.data_folder_out / name)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            raise
        if self.fsync:
            try:
                self._fsync_folder(self.data_folder_out)
            except OSError as exc:
                # The message is already visible; raising would make kombu publish it a second time.
                logger.warning("Cannot fsync broker folder %s: %s", self.data_folder_out, exc)

    @staticmethod
    def _fsync_folder(folder: Path) -> None:
        """Persist the rename itself (the directory entry), not just the file's data."""
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # --- consume ------------------------------------------------------------------------------------

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        """Claim, read and return the oldest ready message of ``queue``; raise ``Empty`` if none (at once:
        ``timeout``, kombu's, is not waited for)."""
        backlog = self._backlogs.setdefault(queue, deque())
        rescanned = False
        while True:
            while backlog:
                payload = self._take(backlog.popleft())
                if payload is not None:
                    return payload
            # The backlog may have been stale (other consumers took those files): look once more.
            if rescanned:
                raise Empty()
            backlog.extend(self._scan(queue))
            rescanned = True

    def _scan(self, queue: str) -> list[str]:
        try:
            names = os.listdir(self.data_folder_in)
        except FileNotFoundError:
            # Someone removed the broker folder (e.g. `make clean`) under a running worker.
            self._make_folders()
            return []
        return sorted(name for name in names if is_message_of(name, queue))

    def _take(self, name: str) -> dict | None:
        """Claim ``name`` and decode it; ``None`` if another consumer won it or it was quarantined."""
        claimed = self._claim(name)
        if claimed is None:
            return None
        try:
            data = claimed.read_bytes()
        except OSError as exc:
            self._quarantine(claimed, name, f"unreadable: {exc}")
            return None
        payload, problem = decode_message(data)
        if problem:
            self._quarantine(claimed, name, problem)
            return None
        self._dispose(claimed, name)
        return payload

    def _claim(self, name: str) -> Path | None:
        # rename(2) within one folder is atomic and has exactly one winner among racing consumers.
        claimed = self.data_folder_in / f".{name}.{os.getpid()}{CLAIMED_SUFFIX}"
        try:
            os.rename(self.data_folder_in / name, claimed)
        except FileNotFoundError:
            return None  # another consumer claimed it first, or it was purged
        except OSError as exc:
            logger.warning("Cannot claim broker message %s: %s", name, exc)
            return None
        return claimed

    def _dispose(self, claimed: Path, name: str) -> None:
        """Drop a consumed message, or keep it in the processed folder when ``store_processed`` is on."""
        try:
            if self.store_processed:
                move(claimed, self.processed_folder / name)
            else:
                claimed.unlink()
        except OSError as exc:
            # The payload is already in hand; a leftover hidden ".claimed" file is never consumed again.
            logger.warning("Cannot dispose of consumed broker message %s: %s", claimed, exc)

    def _quarantine(self, claimed: Path, name: str, problem: str) -> None:
        target = self.bad_folder / name
        try:
            move(claimed, target)
        except OSError as exc:
            logger.error("Skipping broker message %s (%s); cannot quarantine it: %s", claimed, problem, exc)
            return
        logger.error("Quarantined broker message %s: %s", target, problem)

    # --- exchange tables (fanout, pidbox) ------------------------------------------------------------

    def _exchange_table(self, exchange: str) -> ExchangeTable:
        return ExchangeTable(self._exchange_file(exchange))

    def get_table(self, exchange: str) -> list[filesystem.exchange_queue_t]:
        return self._exchange_table(exchange).read()

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self.control_folder.mkdir(parents=True, exist_ok=True)
        self._exchange_table(exchange).update(lambda rows: rows if binding in rows else [binding, *rows])

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any) -> None:
        virtual.Channel._delete(self, queue)  # purges the queue, as kombu does
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._exchange_table(exchange).update(lambda rows: [row for row in rows if row != binding], create=False)


def decode_message(data: bytes) -> tuple[dict | None, str | None]:
    """Parse a message file into a kombu payload; returns ``(payload, None)`` or ``(None, problem)``."""
    if not data.strip():
        return None, "empty file"
    try:
        payload = loads(bytes_to_str(data))
    except Exception as exc:  # JSONDecodeError, UnicodeDecodeError, kombu's object hooks: all mean "unusable"
        return None, f"not valid JSON: {exc}"
    # kombu's virtual Message needs these; anything else would fail later, inside drain_events.
    properties = payload.get("properties") if isinstance(payload, dict) else None
    if not isinstance(properties, dict) or "delivery_tag" not in properties:
        return None, "not a kombu message (no properties.delivery_tag)"
    return payload, None


def move(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, copying when they live on different filesystems."""
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(source, target)


class Transport(filesystem.Transport):
    """``fsq://<folder>``: kombu's filesystem transport with the fixes described in the module docstring."""

    Channel = Channel
    #: The whole URL reaches us as ``client.hostname``; kombu's host/vhost split would mangle the path.
    can_parse_url = True
    polling_interval = DEFAULT_POLLING_INTERVAL
    # Celery keys mingle/gossip support on driver_type; "filesystem" keeps them off, as for stock.
    driver_type = "filesystem"
    driver_name = "fsq"

    #: Declared exchanges/bindings, shared by every connection of this process to the same folder.
    #: kombu shares one state per process across all folders, so binding the same queue in a second
    #: folder (tests, two brokers) was skipped as "already bound" and fanout there went nowhere.
    _states: ClassVar[dict[Path, virtual.BrokerState]] = {}

    def __init__(self, client: Any, **kwargs: Any) -> None:
        self.layout = BrokerLayout.from_url(client.hostname)
        super().__init__(client, **kwargs)
        self.state = self._states.setdefault(self.layout.root, virtual.BrokerState())
