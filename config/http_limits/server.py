"""The HTTP server's own answers (daphne on Twisted), for what never reaches Django, in the error envelope.

Out of the box Twisted closes the connection without a word on a request line past 16 KB, answers a bare
``400`` with no body on headers past 16 KB or a malformed request, parses every ``multipart/form-data`` POST
in memory a second time (an empty ``400`` when it has no boundary), and buffers any body, however large,
before Django sees it; daphne answers its own errors in HTML. ``harden_daphne()`` (called by config/asgi.py
when daphne serves it) makes the server:

* answer 414 past the request-line limit (above ``REQUEST_MAX_URL_BYTES``, so that Django's 414 answers
  the URLs in between), 431 past the header-size limit, 400 for a malformed request, all as JSON;
* refuse a body past ``REQUEST_BODY_MAX_BYTES`` with a 413 as soon as its ``Content-Length`` (or, chunked,
  its running size) says so, before buffering it;
* leave form parsing to Django (no second, in-memory parse of uploads);
* then close gently: the answer is sent, the rest of the request is read and dropped for a moment (a client
  still sending gets its answer instead of a reset).
"""

from __future__ import annotations

import sys
from typing import Any


def harden_daphne() -> bool:
    """Install the hardened HTTP factory into a running daphne (a no-op elsewhere); True when installed."""
    server: Any = sys.modules.get("daphne.server")  # daphne ships no types
    if server is None:
        return False
    # Only inside a running daphne: _daphne imports Twisted, whose reactor daphne installs first.
    from config.http_limits import _daphne

    server.HTTPFactory = _daphne.HardenedHTTPFactory
    return True
