"""``python -m config.server [daphne's arguments]``: daphne, which stops within its graceful timeout.

Daphne stops its reactor on SIGTERM (or SIGINT), but the process then waits, at interpreter exit, for
every thread of the pool that runs Django's sync views: a request still computing keeps a stopped
server alive, holding its memory, for as long as it takes. Here the process waits for such requests
up to ``SERVER_GRACEFUL_TIMEOUT_SECONDS`` (default 10) after the reactor stops, then exits anyway
(status 0 when daphne stopped cleanly), as gunicorn's ``--graceful-timeout`` does for its workers.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

logger = logging.getLogger("config.server")


def graceful_timeout() -> float:
    raw = os.environ.get("SERVER_GRACEFUL_TIMEOUT_SECONDS")
    return float(raw) if raw else 10.0


def wait_for_threads(timeout: float) -> list[threading.Thread]:
    """Join the process's other non-daemon threads for at most ``timeout`` seconds in all; the ones
    still running after it."""
    deadline = time.monotonic() + timeout
    current = threading.current_thread()
    busy = [thread for thread in threading.enumerate() if thread is not current and not thread.daemon]
    for thread in busy:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread for thread in busy if thread.is_alive()]


def main(argv: list[str] | None = None) -> None:
    from daphne.cli import CommandLineInterface

    status: int | str | None = 0
    try:
        CommandLineInterface().run(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        status = exit_.code
    timeout = graceful_timeout()
    still_running = wait_for_threads(timeout)
    if still_running:
        logger.warning(
            "stopping with %d request(s) still running after the %.0f s graceful timeout",
            len(still_running),
            timeout,
        )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: that would wait for the threads again, without a limit.
    os._exit(status if isinstance(status, int) else 1)


if __name__ == "__main__":
    main()
