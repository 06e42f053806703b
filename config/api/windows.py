"""Opt-in windows over the array lists (``?limit=&offset=``): ``POST …/list`` and template matching.

UFDL clients read these lists as one bare JSON array, so without ``limit`` or ``offset`` the whole array
is answered, as before. A client that wants pages asks for ``?limit=N`` (and ``?offset=M``); the answer is
still a bare array (the rows ``M`` to ``M+N-1`` in the list's order, which always ends with the pk, so
pages are stable), and the headers say where it sits: ``X-Total-Count`` (rows in the whole list) and a
``Link`` header with ``rel="next"`` / ``rel="prev"`` URLs (RFC 8288), as GitHub's and GitLab's APIs give.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponseBase, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.renderers import JSON_MEDIA_TYPE, bytes_response, is_json_answer
from config.errors import MalformedRequest, Problem

TOTAL_HEADER = "X-Total-Count"

LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    int,
    description="answer at most this many rows (opt-in paging; without limit and offset: the whole array). "
    "The answer stays a bare array; X-Total-Count gives the rows of the whole list, Link the next/prev pages.",
)
OFFSET_PARAMETER = OpenApiParameter("offset", int, description="skip this many rows first (default 0)")
WINDOW_PARAMETERS = [LIMIT_PARAMETER, OFFSET_PARAMETER]


def max_limit() -> int:
    return int(getattr(settings, "API_LIST_LIMIT_MAX", 1000))


@dataclass(frozen=True)
class Window:
    """Rows ``offset`` to ``offset + limit - 1`` (``limit`` None: to the end)."""

    offset: int
    limit: int | None

    def slice(self, rows: Sequence | QuerySet) -> Any:
        return rows[self.offset :] if self.limit is None else rows[self.offset : self.offset + self.limit]


def _non_negative(raw: str, name: str, *, least: int, most: int | None, problems: list[Problem]) -> int | None:
    path = f"query.{name}"
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        problems.append(Problem(path, "wrong_type", f"{name} must be a whole number, not {raw[:40]!r}"))
        return None
    value = int(text)
    if value < least:
        problems.append(Problem(path, "out_of_range", f"{name} must be at least {least}"))
        return None
    if most is not None and value > most:
        problems.append(Problem(path, "out_of_range", f"{name} must be at most {most} (API_LIST_LIMIT_MAX)"))
        return None
    return value


def window_from(request: Request) -> Window | None:
    """The window asked for, or None (the whole array). Every problem of both parameters is reported."""
    params = request.query_params
    raw_limit, raw_offset = params.get("limit"), params.get("offset")
    if raw_limit is None and raw_offset is None:
        return None
    problems: list[Problem] = []
    limit = None
    if raw_limit is not None:
        limit = _non_negative(raw_limit, "limit", least=1, most=max_limit(), problems=problems)
    offset = 0
    if raw_offset is not None:
        offset = _non_negative(raw_offset, "offset", least=0, most=None, problems=problems) or 0
    if problems:
        raise MalformedRequest(problems=problems)
    return Window(offset=offset, limit=limit)


def windowed_response(request: Request, body: list, *, window: Window | None, total: int) -> Response:
    """``body`` (the window's rows) as a bare array, with ``X-Total-Count`` and ``Link`` when windowed."""
    return window_headers(request, Response(body), window=window, total=total)


def array_response(
    request: Request, chunks: Iterator[bytes], *, window: Window | None = None, total: int | None = None
) -> HttpResponseBase:
    """A bare array from ``chunks`` of JSON items (each chunk items joined by commas), windowed as
    ``windowed_response``. The first two chunks are made now (errors answer as usual); an array of one chunk
    is answered whole (with its length), a longer one streamed a chunk at a time, so a large answer
    costs the memory of a chunk, not of the whole. The browsable API gets the array as data."""
    return window_headers(request, bytes_stream_response(request, chunks, b"[", b"]"), window=window, total=total)


def bytes_stream_response(
    request: Request, chunks: Iterator[bytes], opening: bytes, closing: bytes
) -> HttpResponseBase:
    """``opening``, the chunks joined by commas, ``closing``: whole when one chunk, else streamed."""
    first = next(chunks, None)
    second = next(chunks, None) if first is not None else None
    if second is None:
        return bytes_response(request, b"".join((opening, first or b"", closing)))
    assert first is not None  # a second chunk comes after a first
    if not is_json_answer(request):
        return bytes_response(request, b"".join((opening, b",".join([first, second, *chunks]), closing)))

    def stream() -> Iterator[bytes]:
        yield opening + first
        yield b"," + second
        for chunk in chunks:
            yield b"," + chunk
        yield closing

    return StreamingHttpResponse(stream(), content_type=JSON_MEDIA_TYPE)


def window_headers(request: Request, response: HttpResponseBase, *, window: Window | None, total: int | None):
    """``X-Total-Count`` and ``Link`` (next/prev) on the answer of a window."""
    if window is None:
        return response
    assert total is not None
    response[TOTAL_HEADER] = str(total)
    links = []
    if window.limit is not None and window.offset + window.limit < total:
        links.append(f'<{_page_url(request, window.offset + window.limit, window.limit)}>; rel="next"')
    if window.offset > 0:
        step = window.limit if window.limit is not None else window.offset
        links.append(f'<{_page_url(request, max(window.offset - step, 0), window.limit)}>; rel="prev"')
    if links:
        response["Link"] = ", ".join(links)
    return response


def _page_url(request: Request, offset: int, limit: int | None) -> str:
    query = request.query_params.copy()
    query["offset"] = str(offset)
    if limit is not None:
        query["limit"] = str(limit)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
