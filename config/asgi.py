"""ASGI entry point (daphne, ``python -m config.server``): websockets through Channels, and HTTP through Django
(the HTTP API is served by gunicorn, config/wsgi.py; this keeps answering it on the websockets' port)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models (as django.core.asgi.get_asgi_application does).
django.setup(set_prefix=False)

from config.interrupts import InterruptibleASGIHandler  # noqa: E402

# Django's handler, stopping a request's work when its client disconnects (config.interrupts).
django_asgi_app = InterruptibleASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from config.http_limits.server import harden_daphne  # noqa: E402
from config.websockets import websocket_application  # noqa: E402

# Under daphne: its own refusals (long request lines, bodies past the cap, malformed requests) as JSON.
harden_daphne()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # JWT (query or header) or session, then the routes (see config.websockets).
        "websocket": websocket_application(),
    }
)
