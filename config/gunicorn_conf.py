"""gunicorn's settings for the HTTP API: ``python -m gunicorn -c python:config.gunicorn_conf config.wsgi:application``.

* ``WEB_WORKERS`` processes (default: the CPUs this process may run on) × ``WEB_THREADS`` threads each (default 4), the
  gthread worker of config/http_limits/gunicorn.py (our request limits, refusals in the error envelope);
* ``SERVER_GRACEFUL_TIMEOUT_SECONDS`` (default 10): after SIGTERM, how long running requests may finish;
  just before it they are stopped (answered 503, their transactions rolled back) and the worker exits
  (gunicorn kills one still busy at the timeout);
* ``WEB_KEEPALIVE_SECONDS`` (default 5): how long an idle keep-alive connection stays open;
* persistent database connections: the threads are a fixed pool, so a connection per thread is
  bounded by workers × threads; ``DB_CONN_MAX_AGE`` defaults to 600 here (0, a connection per request,
  elsewhere: under ASGI each request may run on a new thread), with Django's health check before
  reuse (PostgreSQL). Set ``DB_CONN_MAX_AGE=0`` to go back to a connection per request. SQLite keeps
  its connections too (WAL, IMMEDIATE transactions: readers never block, writers queue within the
  30 s timeout): opening one and setting its pragmas cost ~1.5 ms a request;
* ``WEB_ACCESS_LOG``: where access lines go (``-``: stdout; default: none).

The bind address comes from the command line (``-b``), else ``$PORT`` (gunicorn's own default).
"""

from __future__ import annotations

import math
import os

# Before Django reads its settings (in this process only; daphne and the workers keep their defaults).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DB_CONN_MAX_AGE", "600")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _env_seconds(name: str, default: int) -> int:
    """Whole seconds, as gunicorn takes them (a fraction rounds up)."""
    raw = os.environ.get(name)
    return math.ceil(float(raw)) if raw else default


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (taskset, cpusets)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


workers = _env_int("WEB_WORKERS", _cpus())
threads = _env_int("WEB_THREADS", 4)
worker_class = "config.http_limits.gunicorn.JSONErrorThreadWorker"
graceful_timeout = _env_seconds("SERVER_GRACEFUL_TIMEOUT_SECONDS", 10)
keepalive = _env_seconds("WEB_KEEPALIVE_SECONDS", 5)
# Connections one worker holds open (busy and kept alive); past it new ones wait in the backlog.
worker_connections = _env_int("WEB_WORKER_CONNECTIONS", 1000)
# A worker's heartbeat (its main loop, not its requests: REQUEST_TIMEOUT_SECONDS bounds those).
timeout = 30
# What the worker reads (config/http_limits/gunicorn.py lifts gunicorn's 8,190-byte cap on the request
# line to config.http_limits.early.line_limit(), and bounds all headers as daphne does).
limit_request_line = 8190
limit_request_fields = 100


def _line_limit() -> int:
    from config.http_limits.early import line_limit

    return line_limit()


limit_request_field_size = _line_limit()
# Access lines go to stdout as gunicorn writes them; errors to stderr.
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
control_socket_disable = True  # gunicorn ≥ 25: no control socket (one path per user, shared by every instance)
