"""Bearer-token authentication that keeps each token's user for a few seconds, not a query per request.

simplejwt's ``JWTAuthentication`` reads the user row on every request. This subclass keeps the row's
field values per user id for ``AUTH_USER_CACHE_SECONDS`` (0: read it every time) in this process, and
builds a fresh user from them per request (no state is shared between requests). The checks are
simplejwt's, made on the kept row each time: a bad or expired token is a 401 before any user is looked
up; an inactive user, a missing one, or (with ``CHECK_REVOKE_TOKEN``) a changed password is a 401.

Saving or deleting a user in this process drops its kept row at once and again when the transaction
commits (the signals are connected below, when this module and so the cache come into being), so a
revocation made here (``is_active``, ``is_staff``, ``is_superuser``, the password) holds from the next
request. One saved by another process (another server worker, the admin elsewhere) holds within
``AUTH_USER_CACHE_SECONDS``. Team memberships, groups and permissions are not part of the kept row:
every permission check reads them in its own query, so their changes hold at once everywhere.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.db import router, transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

# The most users kept at once; past it the oldest go first (a process serves few distinct users at a time).
AUTH_USER_CACHE_SIZE = 4096

_lock = threading.Lock()
# str(user id) (tokens carry it as a string) → (loaded at (monotonic), database alias, field names, values)
_kept: dict[str, tuple[float, str, tuple[str, ...], tuple]] = {}
# Bumped by every forget: a row loaded while a user was saved is used for its request only, never kept.
_generation = 0


def forget_authenticated_users(**_signal) -> None:
    """Drop every kept user row (connected to saves and deletes of users; tests call it between tests)."""
    global _generation
    with _lock:
        _kept.clear()
        _generation += 1


def forget_authenticated_user(user_id: Any) -> None:
    """Drop the kept row of one user (by its ``USER_ID_FIELD``, the token's user id claim)."""
    global _generation
    with _lock:
        _kept.pop(str(user_id), None)
        _generation += 1


def _user_changed(*, instance, using=None, **_signal) -> None:
    user_id = getattr(instance, api_settings.USER_ID_FIELD, None)
    forget_authenticated_user(user_id)
    # Again at commit: a request that read the old row before the commit must not keep it past it.
    transaction.on_commit(lambda: forget_authenticated_user(user_id), using=using)


for _signal, _name in ((post_save, "save"), (post_delete, "delete")):
    _signal.connect(_user_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid=f"auth-user-cache-{_name}", weak=False)


def _ttl() -> float:
    return float(getattr(settings, "AUTH_USER_CACHE_SECONDS", 0) or 0)


class CachedUserJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access token>``; the token's user is read at most every
    ``AUTH_USER_CACHE_SECONDS`` per process (changes made in the process hold at once)."""

    def get_user(self, validated_token: Token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as error:
            raise InvalidToken(_("Token contained no recognizable user identification")) from error  # type: ignore[arg-type]  # a lazy string: the stubs say str
        user = self._kept_user(user_id)
        if user is None:
            user = self._load_user(user_id)
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")  # type: ignore[arg-type]  # a lazy string: the stubs say str
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")  # type: ignore[arg-type]  # a lazy string: the stubs say str
        return user

    def _kept_user(self, user_id: Any):
        ttl = _ttl()
        if ttl <= 0:
            return None
        with _lock:
            kept = _kept.get(str(user_id))
        if kept is None:
            return None
        loaded_at, alias, names, values = kept
        if time.monotonic() - loaded_at >= ttl:
            return None
        # A new instance per request: nothing one request caches on its user reaches another.
        return self.user_model.from_db(alias, names, values)

    def _load_user(self, user_id: Any):
        with _lock:
            generation = _generation
        loaded_at = time.monotonic()
        try:
            user = self.user_model.objects.get(**{api_settings.USER_ID_FIELD: user_id})
        except self.user_model.DoesNotExist as error:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from error  # type: ignore[arg-type]  # a lazy string: the stubs say str
        if _ttl() > 0:
            names = tuple(field.attname for field in self.user_model._meta.concrete_fields)
            values = tuple(getattr(user, name) for name in names)
            alias = user._state.db or router.db_for_read(self.user_model)
            with _lock:
                # A user saved while it loaded may be stale already: use it for this request only.
                if _generation == generation:
                    if len(_kept) >= AUTH_USER_CACHE_SIZE:
                        _kept.pop(next(iter(_kept)))
                    _kept[str(user_id)] = (loaded_at, alias, names, values)
        return user


class CachedUserJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of ``CachedUserJWTAuthentication``: simplejwt's own (``jwtAuth``)."""

    target_class = "config.api.authentication.CachedUserJWTAuthentication"
