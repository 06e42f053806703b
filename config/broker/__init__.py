"""Broker transports of ours, registered with kombu under their own URL schemes."""

from kombu.transport import TRANSPORT_ALIASES

FILESYSTEM_SCHEME = "fsq"


def register_transports() -> None:
    """Make ``fsq://<absolute folder>`` resolve to our atomic filesystem transport."""
    TRANSPORT_ALIASES.setdefault(FILESYSTEM_SCHEME, "config.broker.filesystem:Transport")
