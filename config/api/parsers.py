"""Request parsing within limits: strict JSON (no NaN/Infinity, no overflowing floats), JSON and form bodies
at most ``REQUEST_JSON_MAX_BYTES``, JSON nesting at most ``REQUEST_JSON_MAX_DEPTH``, and no text a
database cannot store (NUL characters, lone surrogates) anywhere, keys included: each located by path."""

from __future__ import annotations

import codecs
import json
import math

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from config.errors import problems_summary
from config.http_limits import BodyTooLarge, InvalidText, JSONTooDeep, TooManyFields, json_depth_exceeds, text_problems
from config.http_limits.text import json_text_suspect, query_problems


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _reject_constant(text: str):
    raise ValueError(f"{text} is not valid JSON")


def _declared_length(parser_context: dict) -> int | None:
    request = parser_context.get("request")
    meta = getattr(request, "META", {})
    try:
        return int(meta.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def read_limited(stream, parser_context: dict, *, limit: int, setting: str) -> bytes:
    """The body, at most ``limit`` bytes: a declared length past it is refused before reading, and a body
    without one is read up to ``limit + 1`` bytes (a 413 either way)."""
    declared = _declared_length(parser_context)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit=limit, setting=setting, size=declared)
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise BodyTooLarge(limit=limit, setting=setting)
    return raw


def raise_for_text(problems) -> None:
    """A 400 naming every path (up to a hundred) holding a NUL character or a lone surrogate."""
    if problems:
        raise InvalidText(problems_summary(problems, InvalidText.default_detail), problems=problems)


def _encoding(parser_context: dict) -> str:
    encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise ParseError(f"Unknown charset {str(encoding)[:40]!r}.") from exc


class StrictJSONParser(parsers.BaseParser):
    """JSON bodies; numbers that do not fit a finite double or a 4,300-digit integer are a 400."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        raw = read_limited(
            stream, parser_context, limit=int(settings.REQUEST_JSON_MAX_BYTES), setting="REQUEST_JSON_MAX_BYTES"
        )
        encoding = _encoding(parser_context)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        utf8 = raw if encoding == "utf-8" else text.encode("utf-8", "surrogatepass")
        depth = int(settings.REQUEST_JSON_MAX_DEPTH)
        if json_depth_exceeds(utf8, depth):
            raise JSONTooDeep(limit=depth)
        try:
            data = json.loads(text, parse_float=_finite_float, parse_constant=_reject_constant)
        except RecursionError as exc:  # a limit above the interpreter's recursion limit
            raise JSONTooDeep(limit=depth) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_text_suspect(utf8):
            raise_for_text(text_problems(data))
        return data


class FormParser(parsers.FormParser):
    """URL-encoded forms, within ``REQUEST_JSON_MAX_BYTES`` and ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, without
    NUL characters in names or values."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        raw = read_limited(
            stream, parser_context, limit=int(settings.REQUEST_JSON_MAX_BYTES), setting="REQUEST_JSON_MAX_BYTES"
        )
        try:
            data = QueryDict(raw, encoding=_encoding(parser_context))
        except TooManyFieldsSent as exc:
            raise TooManyFields(
                limit=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, setting="DATA_UPLOAD_MAX_NUMBER_FIELDS"
            ) from exc
        raise_for_text(query_problems(data.lists(), ""))
        return data


class MultiPartParser(parsers.MultiPartParser):
    """Multipart forms; Django's limits (fields' size, fields, files) answer 413/400 with the envelope, and
    field names and values (file names too) hold no NUL character."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            result = super().parse(stream, media_type, parser_context)
        except RequestDataTooBig as exc:
            limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            raise BodyTooLarge(limit=limit, setting="DATA_UPLOAD_MAX_MEMORY_SIZE (the form's fields)") from exc
        except TooManyFieldsSent as exc:
            raise TooManyFields(
                limit=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, setting="DATA_UPLOAD_MAX_NUMBER_FIELDS"
            ) from exc
        except TooManyFilesSent as exc:
            raise TooManyFields(
                limit=settings.DATA_UPLOAD_MAX_NUMBER_FILES, setting="DATA_UPLOAD_MAX_NUMBER_FILES", what="files"
            ) from exc
        names = [(name, [upload.name or "" for upload in result.files.getlist(name)]) for name in result.files]
        raise_for_text(query_problems(result.data.lists(), "") + query_problems(names, ""))
        return result
