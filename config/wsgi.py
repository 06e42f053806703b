"""WSGI entry point: the HTTP API as gunicorn serves it (config/gunicorn_conf.py); websockets are ASGI's
(config/asgi.py, served by config.server)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.http_limits.gunicorn import bounded_chunked_bodies  # noqa: E402

# A chunked body read (within REQUEST_BODY_MAX_BYTES) and given its length: Django reads none without one.
application = bounded_chunked_bodies(get_wsgi_application())
