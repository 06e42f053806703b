"""gunicorn's HTTP layer with our limits and JSON answers (the worker class config/gunicorn_conf.py names).

Out of the box gunicorn caps the request line at 8,190 bytes (below ``REQUEST_MAX_URL_BYTES``, so URLs
Django accepts would be refused), answers its own refusals (request line or headers too long, a
malformed request) with an HTML page, sends ``100 Continue`` before the application can refuse a body,
and gives a chunked body to Django, which reads a body without ``Content-Length`` as empty.
:class:`JSONErrorThreadWorker` (gthread) makes it:

* read request lines up to :func:`config.http_limits.early.line_limit` (as daphne does: above
  ``REQUEST_MAX_URL_BYTES``, so that Django's 414 answers the URLs in between), header lines up to the
  same, and all headers up to daphne's total;
* answer 414 past the request line, 431 past the headers, 413 for a declared ``Content-Length`` past
  ``REQUEST_BODY_MAX_BYTES`` (before inviting the body), 400 for a malformed request, all as JSON
  (the envelope of config.http_limits.early.early_response), then close gently;
* on SIGTERM, stop the requests still running just before the graceful timeout (as config.server does
  for daphne), instead of being killed with them.

:func:`bounded_chunked_bodies` (config/wsgi.py) reads a chunked body, up to ``REQUEST_BODY_MAX_BYTES``
(413 past it), into a spooled file and gives it its length, so that Django and its parsers read it and
bound it like any other.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Callable, Iterable

from django.conf import settings
from gunicorn import http as gunicorn_http
from gunicorn import util
from gunicorn.http import errors
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import ThreadWorker

from config.http_limits.early import HEADERS_FLOOR, early_response, line_limit

_CHUNK = 64 * 1024
logger = logging.getLogger("config.server")


class BodyTooLargeDeclared(errors.ParseException):  # noqa: N818 - gunicorn's naming of parse errors
    """A request whose ``Content-Length`` is past ``REQUEST_BODY_MAX_BYTES``: refused before its body."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(size, limit)
        self.size, self.limit = size, limit


class LimitedRequest(Request):
    """gunicorn's request with the request-line, header and body limits of config.http_limits."""

    line_limit = 16_384
    headers_limit = 32_768
    body_limit = 0  # set by the worker from REQUEST_BODY_MAX_BYTES; 0: no check here

    def parse(self, unreader):
        # gunicorn clamps its own limit to 8,190 in __init__, before parse(); lifted here.
        self.limit_request_line = self._fast_limit_request_line = self.line_limit
        self.max_buffer_headers = self.headers_limit
        rest = super().parse(unreader)
        self._refuse_a_declared_body_past_the_cap()
        return rest

    def _refuse_a_declared_body_past_the_cap(self) -> None:
        if not self.body_limit:
            return
        for name, value in self.headers:
            if name == "CONTENT-LENGTH" and value.isdigit() and int(value) > self.body_limit:
                self._expected_100_continue = False
                raise BodyTooLargeDeclared(int(value), self.body_limit)


class LimitedRequestParser(RequestParser):
    mesg_class = LimitedRequest


def _headers_answer(exc: errors.LimitRequestHeaders, cfg) -> bytes:
    message = str(exc)
    if message.endswith("fields size"):
        limit = cfg.limit_request_field_size
        detail = f"A header line is longer than {limit} bytes."
    elif message.endswith("fields"):
        limit = cfg.limit_request_fields
        detail = f"The request has more than {limit} headers."
    else:
        limit = LimitedRequest.headers_limit
        detail = f"The request's headers are larger than {limit} bytes."
    return early_response(431, detail, "headers_too_large", limit=limit)


def error_answer(exc: errors.ParseException, cfg) -> bytes:
    """The JSON answer to a request gunicorn refuses by itself."""
    if isinstance(exc, errors.LimitRequestLine):
        limit = LimitedRequest.line_limit
        detail = f"The request line is longer than {limit} bytes."
        return early_response(414, detail, "url_too_long", limit=limit)
    if isinstance(exc, errors.LimitRequestHeaders):
        return _headers_answer(exc, cfg)
    if isinstance(exc, BodyTooLargeDeclared):
        detail = (
            f"The request body ({exc.size} bytes) is larger than the limit of {exc.limit} bytes "
            "(REQUEST_BODY_MAX_BYTES)."
        )
        return early_response(413, detail, "body_too_large", limit=exc.limit)
    # Both arrived in later gunicorn versions than the oldest we accept.
    if isinstance(exc, getattr(errors, "UnsupportedTransferCoding", ())):
        return early_response(501, f"{exc}", "unsupported_transfer_coding")
    if isinstance(exc, getattr(errors, "ExpectationFailed", ())):
        return early_response(417, f"{exc}", "expectation_failed")
    if isinstance(exc, errors.ForbiddenProxyRequest):
        return early_response(403, "The request is forbidden.", "forbidden")
    return early_response(400, f"The HTTP request is malformed: {str(exc)[:200]}", "malformed_request")


# The application's bad response headers (gunicorn ≥ 24) are its fault, not the client's: a 500.
_RESPONSE_ERRORS = tuple(
    getattr(errors, name) for name in ("InvalidResponseHeader", "InvalidResponseHeaderName") if hasattr(errors, name)
)


class JSONErrorThreadWorker(ThreadWorker):
    """gunicorn's gthread worker with our request limits, answering its own refusals in the error envelope."""

    def init_process(self) -> None:
        LimitedRequest.line_limit = line_limit()
        LimitedRequest.headers_limit = max(HEADERS_FLOOR, LimitedRequest.line_limit + HEADERS_FLOOR)
        LimitedRequest.body_limit = int(settings.REQUEST_BODY_MAX_BYTES)
        # The HTTP/1 parser gunicorn's connections build (gunicorn.http.get_parser looks the name up).
        gunicorn_http.RequestParser = LimitedRequestParser
        super().init_process()

    def handle_exit(self, sig, frame) -> None:
        if self.alive:
            stop_requests_before(self.cfg.graceful_timeout)
        super().handle_exit(sig, frame)

    def handle_error(self, req, client, addr, exc) -> None:
        # Errors of the response itself (a bad header from the application) and TLS errors: gunicorn's.
        if isinstance(exc, _RESPONSE_ERRORS) or not isinstance(exc, errors.ParseException):
            super().handle_error(req, client, addr, exc)
            return
        answer = error_answer(exc, self.cfg)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, answer)
        except Exception:  # the client has gone: nothing to tell it
            self.log.debug("Failed to send error message.")


def stop_requests_before(graceful_timeout: float) -> None:
    """From SIGTERM on, give running requests nearly ``graceful_timeout`` seconds, then stop them (config.interrupts).

    gunicorn's arbiter kills a worker still busy after its graceful timeout; a killed worker's statements
    run on in PostgreSQL (until they end or time out), holding their locks, and its clients get no answer.
    Stopped a moment before, they are cancelled, their transactions roll back and their clients get a 503."""

    def grace() -> None:
        from config.interrupts import ServerStopping, interrupt_all
        from config.server import wait_for_requests

        if wait_for_requests(max(graceful_timeout / 2, graceful_timeout - 1)):
            stopped = interrupt_all(ServerStopping)
            logger.warning(
                "stopped %d request(s) still running at the %g s graceful timeout", stopped, graceful_timeout
            )

    threading.Thread(target=grace, name="graceful-timeout", daemon=True).start()


def _body_too_large(limit: int) -> tuple[str, list[tuple[str, str]], bytes]:
    from config.api.exception_handler import error_body
    from config.http_limits.errors import BodyTooLarge

    error = BodyTooLarge(limit=limit, setting="REQUEST_BODY_MAX_BYTES")
    body = json.dumps(error_body(detail=error.detail, code=error.code, problems=error.problems, **error.extra)).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
    return "413 Content Too Large", headers, body


WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def bounded_chunked_bodies(app: WSGIApp) -> WSGIApp:
    """``app`` given chunked bodies as a file of known length, and a 413 for one past ``REQUEST_BODY_MAX_BYTES``."""

    def bounded(environ: dict, start_response: Callable) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or environ.get("CONTENT_LENGTH"):
            return app(environ, start_response)
        limit = int(settings.REQUEST_BODY_MAX_BYTES)
        spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        size, stream = 0, environ["wsgi.input"]
        while piece := stream.read(_CHUNK):
            size += len(piece)
            if size > limit:
                spool.close()
                status, headers, body = _body_too_large(limit)
                start_response(status, headers)
                return [body]
            spool.write(piece)
        spool.seek(0)
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = spool, str(size)
        return _ClosingWith(app(environ, start_response), spool)

    return bounded


class _ClosingWith:
    """A WSGI answer that also closes ``resource`` when the server closes it."""

    def __init__(self, answer: Iterable[bytes], resource) -> None:
        self.answer, self.resource = answer, resource

    def __iter__(self):
        return iter(self.answer)

    def close(self) -> None:
        try:
            close = getattr(self.answer, "close", None)
            if close is not None:
                close()
        finally:
            self.resource.close()
