"""daphne's HTTP factory, channel and request with our limits and JSON answers (see config/http_limits/server.py).

Imported only inside a running daphne: it imports Twisted, whose reactor daphne installs first.
"""

from __future__ import annotations

import json
from typing import Any

from daphne.http_protocol import HTTPFactory, WebRequest
from django.conf import settings
from twisted.internet import reactor
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web import http

from config.http_limits.early import HEADERS_FLOOR, LINGER_SECONDS, early_response, line_limit

# The installed reactor provides IReactorTime; Twisted's interfaces are zope.interface declarations, which
# mypy reads only with the mypy-zope plugin (their methods have no self), so the reactor is left untyped.
_REACTOR: Any = reactor


class HardenedHTTPChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel answering its own refusals as JSON, then closing gently."""

    def __init__(self) -> None:
        super().__init__()
        self.MAX_LENGTH = line_limit()
        self.totalHeadersSize = max(HEADERS_FLOOR, self.MAX_LENGTH + HEADERS_FLOOR)
        self._answered_early = False
        self._linger: Any = None  # an IDelayedCall (see _REACTOR) while lingering

    def answer_and_close(self, response: bytes) -> None:
        """Write ``response``, stop reading requests, half-close, and drop what still comes for a moment."""
        if self._answered_early:
            return
        self._answered_early = True
        self.persistent = False
        # A TCP transport (ITCPTransport, which has them all) once connected; Twisted types it as the
        # general, optional one.
        transport: Any = self.transport
        transport.write(response)
        transport.resumeProducing()  # keep reading (and dropping) what the client still sends
        lose_write = getattr(transport, "loseWriteConnection", None)
        if lose_write is None:
            transport.loseConnection()
            return
        lose_write()
        self._linger = _REACTOR.callLater(LINGER_SECONDS, transport.abortConnection)

    def dataReceived(self, data: bytes) -> None:
        if self._answered_early:
            return  # the rest of a request we answered: read and dropped
        super().dataReceived(data)

    def lineReceived(self, line: bytes):
        if self._answered_early:
            return True  # stops LineReceiver's loop over what it has buffered
        return super().lineReceived(line)

    def rawDataReceived(self, data: bytes) -> None:
        if not self._answered_early:
            super().rawDataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)

    def lineLengthExceeded(self, line: bytes) -> None:
        # Past the request line (its first line), it is a header line that is too long.
        if getattr(self, "_HTTPChannel__first_line", 1):
            limit = self.MAX_LENGTH
            self.answer_and_close(
                early_response(414, f"The request line is longer than {limit} bytes.", "url_too_long", limit=limit)
            )
        else:
            self.answer_and_close(
                early_response(
                    431,
                    f"A header line is longer than {self.MAX_LENGTH} bytes.",
                    "headers_too_large",
                    limit=self.MAX_LENGTH,
                )
            )

    def _respondToBadRequestAndDisconnect(self) -> None:
        if self._receivedHeaderSize > self.totalHeadersSize:
            limit = self.totalHeadersSize
            response = early_response(
                431, f"The request's headers are larger than {limit} bytes.", "headers_too_large", limit=limit
            )
        else:
            response = early_response(400, "The HTTP request is malformed.", "malformed_request")
        self.answer_and_close(response)

    def _send100Continue(self) -> None:
        if not self._answered_early:  # a body we refused already: no invitation to send it
            super()._send100Continue()


class HardenedWebRequest(WebRequest):
    """daphne's request without Twisted's form parsing, refusing bodies past ``REQUEST_BODY_MAX_BYTES``
    before buffering them, answering daphne's own errors as JSON."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["parsePOSTFormSubmission"] = False  # Django parses forms (once, within its limits)
        super().__init__(*args, **kwargs)
        self._body_received = 0

    def _refuse_body(self, size: int | None) -> None:
        limit = int(settings.REQUEST_BODY_MAX_BYTES)
        got = f" ({size} bytes)" if size is not None else ""
        self.channel.answer_and_close(
            early_response(
                413,
                f"The request body{got} is larger than the limit of {limit} bytes (REQUEST_BODY_MAX_BYTES).",
                "body_too_large",
                limit=limit,
            )
        )

    def gotLength(self, length) -> None:
        if length is not None and length > int(settings.REQUEST_BODY_MAX_BYTES):
            self._refuse_body(length)
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.channel is not None and self.channel._answered_early:
            return
        self._body_received += len(data)
        if self._body_received > int(settings.REQUEST_BODY_MAX_BYTES):
            self._refuse_body(None)
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version) -> None:
        if self.channel is not None and self.channel._answered_early:
            return
        super().requestReceived(command, path, version)

    def basic_error(self, status, status_text, body):
        """daphne's own errors (bad header, bad path, a crash): the envelope, not an HTML page."""
        code = {400: "malformed_request", 500: "server_error", 503: "unavailable"}.get(status, "error")
        payload = json.dumps({"detail": str(body), "code": code, "errors": []}).encode()
        self.handle_reply(
            {"type": "http.response.start", "status": status, "headers": [(b"Content-Type", b"application/json")]}
        )
        self.handle_reply({"type": "http.response.body", "body": payload})


def _hardened_channel_protocol(factory) -> http._GenericHTTPChannelProtocol:
    return http._GenericHTTPChannelProtocol(HardenedHTTPChannel())


class HardenedHTTPFactory(HTTPFactory):
    """daphne's factory building the hardened channel and request."""

    protocol = _hardened_channel_protocol

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        if protocol is not None:
            protocol.requestFactory = HardenedWebRequest
        return protocol
