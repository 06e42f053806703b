"""``python -m config.server [daphne's arguments]``: daphne for the websockets, which stops within its graceful timeout.

The HTTP API is gunicorn's (config/gunicorn_conf.py: processes × threads, persistent database
connections); gunicorn speaks WSGI, which cannot upgrade a connection to a websocket, so ``manage.py
serve`` and docker-compose's ``ws`` service run this beside it, on its own port (``WS_PORT``, default
the HTTP port + 1), for ``ws://…/v1/jobs/{pk}`` (config/websockets.py). It serves config.asgi, which
still answers HTTP too (the same Django), one sync view at a time per process.

Daphne stops its reactor on SIGTERM (or SIGINT), but its shutdown then waits for every request's
application, and Django's for the thread running the request's sync view: a request still computing
keeps a stopped server alive, holding its memory, for as long as it takes. Here, once the shutdown
begins, the requests being worked on (``config.interrupts`` counts them) get
``SERVER_GRACEFUL_TIMEOUT_SECONDS`` (default 10) to finish; then they are stopped as a request whose
client has gone is (their transactions roll back), and the process exits (status 0 when daphne
stopped cleanly), as gunicorn's ``--graceful-timeout`` does for its workers. With no request
running it exits at once.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

logger = logging.getLogger("config.server")


def graceful_timeout() -> float:
    raw = os.environ.get("SERVER_GRACEFUL_TIMEOUT_SECONDS")
    return float(raw) if raw else 10.0


def stop_requests_after(timeout: float) -> None:
    """From the reactor's shutdown on, give running requests ``timeout`` seconds, then stop them (their
    transactions roll back; see config.interrupts), and end the process if even that does not free it.

    Needed because daphne's shutdown waits for its applications, and Django's, on its way out, for the
    thread running the request's sync view: a computing view would hold the shutdown for ever."""

    def grace() -> None:
        from config.interrupts import ServerStopping, interrupt_all

        if wait_for_requests(timeout):
            stopped = interrupt_all(ServerStopping)
            logger.warning("stopped %d request(s) still running after the %g s graceful timeout", stopped, timeout)
        time.sleep(5)
        logger.error("the server did not stop 5 s after its requests were stopped; exiting")
        _exit(1)

    threading.Thread(target=grace, name="graceful-timeout", daemon=True).start()


def _exit(status: int) -> None:
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def wait_for_requests(timeout: float) -> int:
    """Wait, at most ``timeout`` seconds, until no request is being worked on; how many still are."""
    from config.interrupts import running_requests

    deadline = time.monotonic() + timeout
    while running_requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    return running_requests()


def main(argv: list[str] | None = None) -> None:
    from daphne.cli import CommandLineInterface  # installs daphne's asyncio reactor
    from twisted.internet import reactor as installed_reactor

    # A zope.interface provider (IReactorCore), which mypy reads only with the mypy-zope plugin.
    reactor: Any = installed_reactor
    timeout = graceful_timeout()
    reactor.addSystemEventTrigger("before", "shutdown", stop_requests_after, timeout)
    status: int | str | None = 0
    try:
        CommandLineInterface().run(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        status = exit_.code
    # Not sys.exit: at interpreter exit Python joins the pool's threads, without a limit.
    _exit(status if isinstance(status, int) else 1)


if __name__ == "__main__":
    main()
