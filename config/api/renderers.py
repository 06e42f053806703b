"""The JSON renderer of the API: orjson, writing what DRF's ``JSONRenderer`` writes for our answers.

Byte for byte as DRF (``config.jsonbytes``: compact separators, UTF-8 unescaped, ``\\u2028``/``\\u2029``
escaped, datetimes ISO 8601 with ``Z`` for a zero UTC offset, dates and times ISO, ``Decimal`` as a
number, UUIDs and lazy translation strings as strings, non-string dict keys as strings, non-finite
floats refused with a ``ValueError``). What orjson cannot write (an integer past 64 bits) and indented
answers (the browsable API, ``Accept: application/json; indent=4``) are DRF's own renderer's.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from config.jsonbytes import NonFiniteFloat, dumps, plain_default

JSON_MEDIA_TYPE = "application/json"
_DRF_ENCODER = JSONEncoder()

__all__ = ["JSON_MEDIA_TYPE", "FastJSONRenderer", "NonFiniteFloat", "bytes_response", "is_json_answer"]


def _drf_default(value: Any) -> Any:
    try:
        return plain_default(value)
    except TypeError:
        # The rest as DRF's encoder has it (lazy strings, timedelta, sets, querysets, numpy, …).
        return _DRF_ENCODER.default(value)


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, rendering with orjson; indented answers stay DRF's."""

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        return dumps(data, default=_drf_default, fallback=JSONRenderer().render)


def is_json_answer(request: Request) -> bool:
    """Whether the answer is JSON (not the browsable API's page): content negotiation has chosen."""
    renderer = getattr(request, "accepted_renderer", None)
    return renderer is None or renderer.format == "json"


def bytes_response(request: Request, body: bytes) -> HttpResponse | Response:
    """An answer whose JSON is written already (kept bytes): sent as it is, or as data to the browsable API."""
    if is_json_answer(request):
        return HttpResponse(body, content_type=JSON_MEDIA_TYPE)
    return Response(orjson.loads(body))
