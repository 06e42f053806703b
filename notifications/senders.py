"""Sending an email or a webhook from a delivery's rendered content (the remote side of delivery).

A :class:`PermanentFailure` will not get better by retrying (no recipient, a 4xx answer); any other
exception is worth another attempt.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage


class PermanentFailure(Exception):
    """The delivery cannot succeed as it is: retrying would only repeat the failure."""


def send_email(content: dict[str, Any]) -> None:
    if not (content["to"] or content["cc"] or content["bcc"]):
        raise PermanentFailure("no recipient: the notification has no `to` and the job's creator no email address")
    message = EmailMessage(
        subject=content["subject"],
        body=content["body"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=content["to"],
        cc=content["cc"],
        bcc=content["bcc"],
    )
    message.send(fail_silently=False)


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
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise PermanentFailure(
                f"webhook host {host!r} resolves to the internal address {ip}; list it in "
                "NOTIFICATION_WEBHOOK_ALLOWED_HOSTS to allow it"
            )


def send_webhook(content: dict[str, Any]) -> None:
    """POST the notification data as JSON; any 2xx answer is success. The timeout bounds connecting
    and each read; the task's time limit bounds the whole."""
    check_webhook_target(content["url"])
    request = urllib.request.Request(
        content["url"],
        data=json.dumps(content["payload"]).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "jobtemplate-service-notifications"},
    )
    try:
        with _opener.open(request, timeout=settings.NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(65536)  # drain a little so the server sees the exchange through; never kept
    except urllib.error.HTTPError as error:
        error.close()
        if 400 <= error.code < 500 and error.code not in RETRYABLE_CLIENT_ERRORS:
            raise PermanentFailure(f"HTTP {error.code} {error.reason}") from error
        raise


SENDERS = {"email": send_email, "webhook": send_webhook}
