"""Settings for tests/config/test_server.py's server processes: the service's, routing the slow views
of tests/config/interrupt_urls.py (which touch SLOW_VIEW_MARKER when they start)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.config.interrupt_urls"
