"""Websocket routes of every app, gathered for the ASGI router, and the authentication in front of them.

A websocket caller is who its JWT says (``?token=<access>`` or ``Authorization: Bearer <access>``; a
bad token makes it anonymous, never someone else) or, without a token, who its session cookie says —
but a session counts only from our own pages: a browser sends the cookie to any site's websocket, so
a cross-site ``Origin`` is anonymous.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.routing import URLRouter
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import URLPattern
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

# The apps' websocket routes, named as config/urls.py names their HTTP routes (``include("…urls")``):
# the apps build on config (its errors, API tools and settings), so config does not import them.
WEBSOCKET_ROUTE_MODULES = ("jobtemplates.api.websockets",)


def websocket_urlpatterns() -> list[URLPattern]:
    """Every app's ``websocket_urlpatterns``, in ``WEBSOCKET_ROUTE_MODULES`` order."""
    return [route for name in WEBSOCKET_ROUTE_MODULES for route in import_module(name).websocket_urlpatterns]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _token(scope) -> str | None:
    """The JWT the caller sent, if any: the ``token`` query parameter, else a Bearer header."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    authorization = _header(scope, b"authorization") or ""
    kind, _, token = authorization.partition(" ")
    if kind.lower() == "bearer" and token.strip():
        return token.strip()
    return None


@database_sync_to_async
def _user_for_token(token: str):
    authentication = JWTAuthentication()
    try:
        # simplejwt's stubs say bytes; it takes the header's text as well (str | bytes).
        return authentication.get_user(authentication.get_validated_token(token))  # type: ignore[arg-type]
    except (InvalidToken, TokenError, AuthenticationFailed):
        return AnonymousUser()


def _same_origin(scope) -> bool:
    """No ``Origin`` (not a browser), or our own host, or a trusted origin."""
    origin = _header(scope, b"origin")
    if not origin:
        return True
    host = _header(scope, b"host")
    return urlsplit(origin).netloc == host or origin in settings.CSRF_TRUSTED_ORIGINS


class TokenAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]`` from a JWT when one is sent; drops a cross-site session user."""

    async def __call__(self, scope, receive, send):
        token = _token(scope)
        if token is not None:
            scope = dict(scope, user=await _user_for_token(token))
        elif not _same_origin(scope):
            scope = dict(scope, user=AnonymousUser())
        return await super().__call__(scope, receive, send)


def websocket_application():
    """The websocket side of the ASGI app: sessions, then tokens, then the routes."""
    return AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns())))
