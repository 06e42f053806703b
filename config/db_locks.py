"""Exclusive runs across processes: a PostgreSQL advisory lock, or a lock file beside the SQLite database.

``exclusive(name)`` never waits: it yields whether this process got the lock, so a second beat (or a
manual call) skips its turn instead of doing the same work at the same time.

PostgreSQL: a session-level ``pg_try_advisory_lock`` (not a transaction-level one: that would need the
whole run inside one transaction, holding every row lock it takes until the end). The server drops it
with the session, so a process that dies mid-run never leaves it held. SQLite: ``flock`` on a file next
to the database (SQLite serves one machine).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def lock_file_path(name: str) -> Path:
    database = str(connection.settings_dict.get("NAME") or "")
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(f"{database}.{name}.lock")
    return Path(settings.VAR_DIR) / f"{name}.lock"


@contextmanager
def exclusive(name: str) -> Iterator[bool]:
    """Hold the lock ``name`` for the block if nobody does; yields False (and holds nothing) otherwise."""
    if connection.vendor == "postgresql":
        with _advisory_lock(name) as acquired:
            yield acquired
    else:
        with _file_lock(name) as acquired:
            yield acquired


@contextmanager
def _advisory_lock(name: str) -> Iterator[bool]:
    key = advisory_lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
    if not acquired:
        yield False
        return
    try:
        yield True
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        except DatabaseError:
            # The session is broken (or in a failed transaction): ending it releases the lock.
            logger.warning("could not release lock %s; closing the connection to release it", name)
            connection.close()


@contextmanager
def _file_lock(name: str) -> Iterator[bool]:
    path = lock_file_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
