"""Bounded, well-formed requests: size, URL length, JSON depth and text limits, enforced before a view runs.

* ``middleware.RequestLimitsMiddleware``: URL length (414), NUL characters in the path and query (400),
  the overall body cap by ``Content-Length`` (413), and bodies sent without a length (measured).
* ``config.api.parsers``: JSON and form bodies within ``REQUEST_JSON_MAX_BYTES`` (413), JSON nesting within
  ``REQUEST_JSON_MAX_DEPTH`` (400) and text PostgreSQL can store (no NUL, no lone surrogates: 400).
* ``server.harden_daphne`` (daphne, websockets) and ``gunicorn.JSONErrorThreadWorker`` (the worker of
  gunicorn, HTTP): the same envelope from the HTTP server itself, for what never reaches Django.
"""

from config.http_limits.errors import BodyTooLarge, InvalidText, JSONTooDeep, TooManyFields, URLTooLong
from config.http_limits.text import json_depth_exceeds, text_problems

__all__ = [
    "BodyTooLarge",
    "InvalidText",
    "JSONTooDeep",
    "TooManyFields",
    "URLTooLong",
    "json_depth_exceeds",
    "text_problems",
]
