"""Websocket routes: a job's live notifications (``ws://…/v1/jobs/{pk}``), for the jobs the caller may see.

Gathered with the other apps' routes by config.websockets, which puts the authentication in front.
"""

from __future__ import annotations

from django.urls import URLPattern, re_path

from jobtemplates.selectors import job_visible_to
from notifications.consumers import JobConsumer

websocket_urlpatterns: list[URLPattern] = [
    re_path(r"^v1/jobs/(?P<pk>[0-9]{1,18})/?$", JobConsumer.as_asgi(visible_jobs=job_visible_to)),
]
