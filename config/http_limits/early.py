"""What the HTTP servers (daphne, gunicorn) answer themselves, and the line limits they read with.

Shared by ``_daphne`` and ``gunicorn``: a complete HTTP/1.1 response in the error envelope for what never
reaches Django, and how long a request line or header may be.
"""

from __future__ import annotations

import json

from django.conf import settings

# Twisted's defaults, kept as floors.
_LINE_FLOOR = 16_384
HEADERS_FLOOR = 16_384
# How long a connection we answered early keeps reading (and dropping) what its client still sends.
LINGER_SECONDS = 2.0

_REASONS = {
    400: b"Bad Request",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


def _envelope(status: int, detail: str, code: str, **extra) -> bytes:
    return json.dumps({"detail": detail, "code": code, "errors": [], **extra}).encode()


def early_response(status: int, detail: str, code: str, **extra) -> bytes:
    """A complete HTTP/1.1 response (JSON envelope, ``Connection: close``) for the server to write itself."""
    body = _envelope(status, detail, code, **extra)
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
        status,
        _REASONS.get(status, b"Error"),
        len(body),
    )
    return head + body


def line_limit() -> int:
    """The longest request line (or header line) the server reads; past it: 414 (431 for a header)."""
    return max(_LINE_FLOOR, int(settings.REQUEST_MAX_URL_BYTES) + 1024)
