"""Sending an email or a webhook from a delivery's rendered content (the remote side of delivery).

A :class:`PermanentFailure` will not get better by retrying (no recipient, a 4xx answer); any other
exception is worth another attempt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.crypto import salted_hmac


class PermanentFailure(Exception):
    """The delivery cannot succeed as it is: retrying would only repeat the failure."""


def send_email(content: dict[str, Any], **_: Any) -> None:
    if not (content["to"] or content["cc"] or content["bcc"]):
        raise PermanentFailure("no recipient: the notification has no `to` and the job's creator no email address")
    message = EmailMessage(
        subject=content["subject"],
        body=content["body"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=content["to"],
        cc=content["cc"],
        bcc=content["bcc"],
        connection=_email_connection(),
    )
    message.send(fail_silently=False)


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def _email_connection():
    """The configured backend; Django's SMTP one with a timeout where EMAIL_TIMEOUT sets none (a mail
    server that never answers would hold a notifier thread for ever)."""
    if settings.EMAIL_BACKEND == SMTP_BACKEND and getattr(settings, "EMAIL_TIMEOUT", None) is None:
        return get_connection(timeout=settings.NOTIFICATION_EMAIL_TIMEOUT_SECONDS)
    return get_connection()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook answers; it does not send the payload elsewhere (nor to another scheme)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)
# Retrying helps with these client errors; any other 4xx answer will not change.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


def check_webhook_target(url: str) -> None:
    """Refuse a webhook whose host is (or resolves to) a loopback, private, link-local or otherwise
    internal address, so that a job's notification cannot probe the service's own network (SSRF).
    Hosts in NOTIFICATION_WEBHOOK_ALLOWED_HOSTS are always allowed (an intranet receiver, tests)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in settings.NOTIFICATION_WEBHOOK_ALLOWED_HOSTS or settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError as error:
        raise PermanentFailure(f"webhook host {host!r} does not resolve: {error}") from error
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])  # (an IP family's address is text)
        if not ip.is_global or ip.is_multicast:
            raise PermanentFailure(
                f"webhook host {host!r} resolves to the internal address {ip}; list it in "
                "NOTIFICATION_WEBHOOK_ALLOWED_HOSTS to allow it"
            )


def webhook_secret(notification: dict[str, Any] | None = None) -> bytes:
    """The key a webhook is signed with: the notification's own ``secret`` when it gave one, else the
    deployment's NOTIFICATION_WEBHOOK_SECRET, else one derived from SECRET_KEY (``manage.py
    webhook_secret`` prints it). A ``whsec_`` secret is base64 (Standard Webhooks' form)."""
    secret = (notification or {}).get("secret") or settings.NOTIFICATION_WEBHOOK_SECRET
    if not secret:
        return salted_hmac("notifications.webhook-secret", "v1", algorithm="sha256").hexdigest().encode()
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def webhook_signature_headers(*, message_id: str, body: bytes, key: bytes, timestamp: int) -> dict[str, str]:
    """Standard Webhooks' headers (standardwebhooks.com): ``webhook-signature`` is ``v1,`` and the
    base64 HMAC-SHA256, under ``key``, of ``{webhook-id}.{webhook-timestamp}.{body}``. A receiver
    recomputes it, compares in constant time and refuses timestamps far from its clock (replays)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{signature}"}


def send_webhook(content: dict[str, Any], *, message_id: str, notification: dict[str, Any] | None = None) -> None:
    """POST the notification data as JSON, signed; any 2xx answer is success. ``message_id`` is the
    same on every attempt of one delivery, so a receiver can drop repeats. The timeout bounds connecting
    and each read; the task's time limit bounds the whole."""
    check_webhook_target(content["url"])
    body = json.dumps(content["payload"]).encode()
    signature = webhook_signature_headers(
        message_id=message_id, body=body, key=webhook_secret(notification), timestamp=int(time.time())
    )
    request = urllib.request.Request(
        content["url"],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "jobtemplate-service-notifications",
            **signature,
        },
    )
    try:
        with _opener.open(request, timeout=settings.NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(65536)  # drain a little so the server sees the exchange through; never kept
    except urllib.error.HTTPError as error:
        error.close()
        if 400 <= error.code < 500 and error.code not in RETRYABLE_CLIENT_ERRORS:
            raise PermanentFailure(f"HTTP {error.code} {error.reason}") from error
        raise


# kind → sender(content, *, message_id, notification): what the delivery stored, its stable id, and
# the notification object as given (a webhook's own secret lives there, never in the content).
SENDERS = {"email": send_email, "webhook": send_webhook}
