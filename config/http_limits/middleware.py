"""The request checks that come before any view: URL length, text of the path and query, the body's size."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, JsonResponse

from config.api.exception_handler import error_body
from config.errors import ApplicationError, MalformedRequest, Problem, problems_summary
from config.http_limits.errors import BodyTooLarge, InvalidText, TooManyFields, URLTooLong
from config.http_limits.text import has_unstorable, query_problems, unstorable_problem


def error_response(error: ApplicationError) -> JsonResponse:
    """The envelope of ``error``, outside DRF."""
    detail = error.detail
    if error.problems and detail == error.default_detail:
        detail = problems_summary(error.problems, detail)
    body = error_body(detail=detail, code=error.code, problems=error.problems, **error.extra)
    return JsonResponse(body, status=error.status_code)


def _url_bytes(request: HttpRequest) -> int:
    # The path as sent (percent-encoded) and the raw query string.
    return len(request.get_full_path().encode("utf-8", "surrogatepass"))


def _declared_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        length = int(raw)
    except ValueError:
        length = -1
    return length


def _measure_unannounced_body(request: HttpRequest) -> int | None:
    """The size of a body sent without ``Content-Length`` (chunked), when the server has already read it
    into a seekable file (ASGI); None when it cannot be known without reading it."""
    stream = getattr(request, "_stream", None)
    seekable = getattr(stream, "seekable", None)
    if stream is None or seekable is None or not seekable():
        return None
    position = stream.tell()
    end = stream.seek(0, 2)
    stream.seek(position)
    return end - position


class RequestLimitsMiddleware:
    """Answers 414 past ``REQUEST_MAX_URL_BYTES``, 400 for a NUL character (or lone surrogate) in the path
    or a query parameter (``query.<name>``) or too many parameters, and 413 for a body past
    ``REQUEST_BODY_MAX_BYTES``, all with the error envelope. A body sent without a length (chunked) is
    given its length, so that the parsers read it (and bound it) like any other."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        error = self.check(request)
        if error is not None:
            return error_response(error)
        return self.get_response(request)

    def check(self, request: HttpRequest) -> ApplicationError | None:
        limit = int(settings.REQUEST_MAX_URL_BYTES)
        size = _url_bytes(request)
        if size > limit:
            return URLTooLong(limit=limit, size=size)
        problems: list[Problem] = []
        if has_unstorable(request.path):
            problems.append(unstorable_problem("path", request.path))
        try:
            problems += query_problems(request.GET.lists(), "query")
        except TooManyFieldsSent:
            return TooManyFields(limit=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, setting="DATA_UPLOAD_MAX_NUMBER_FIELDS")
        if problems:
            return InvalidText(problems_summary(problems, InvalidText.default_detail), problems=problems)
        return self._check_body(request)

    def _check_body(self, request: HttpRequest) -> ApplicationError | None:
        limit = int(settings.REQUEST_BODY_MAX_BYTES)
        declared = _declared_length(request)
        if declared is not None and declared < 0:
            return MalformedRequest(
                "The Content-Length header is not a length.",
                code="bad_content_length",
                problems=[Problem(path="headers.Content-Length", code="invalid", message="not a non-negative integer")],
            )
        if declared is None:
            declared = _measure_unannounced_body(request)
            if declared:
                request.META["CONTENT_LENGTH"] = str(declared)
        if declared is not None and declared > limit:
            return BodyTooLarge(limit=limit, setting="REQUEST_BODY_MAX_BYTES", size=declared)
        return None
