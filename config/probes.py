"""``python config/probes.py URL``: the container health probe of the HTTP servers (docker-compose.yml, Dockerfile).

It exits 0 when ``URL`` (``/healthz``: database and broker reachable) answers 200, 1 otherwise, and says why on
stderr (Docker keeps the last lines in ``docker inspect``). The standard library only, and run as a file rather
than ``-m config.probes`` (the ``config`` package imports the Celery app): a probe runs every few seconds in every
web container, ~0.1 s of CPU this way against ~0.4 s.

The request carries a ``Host`` that the server accepts: a production ``ALLOWED_HOSTS`` (``jobs.example.org``)
refuses ``127.0.0.1`` with a 400, which would mark a healthy server unhealthy. So the probe sends the first
host of ``ALLOWED_HOSTS`` (the same environment as the server's) unless it is a wildcard or the variable is
unset (then the server's defaults accept the address in ``URL``). ``/healthz`` is exempt from the HTTPS
redirect (``SECURE_REDIRECT_EXEMPT``), so plain HTTP inside the network is enough.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request


def probe_host(allowed_hosts: str) -> str | None:
    """The ``Host`` to send, from an ``ALLOWED_HOSTS`` value (comma separated, as config/settings.py reads it);
    None to keep the URL's own."""
    for entry in (item.strip() for item in allowed_hosts.split(",")):
        if not entry or entry == "*":
            continue
        # ".example.org" allows example.org and its subdomains.
        return entry.removeprefix(".")
    return None


def check(url: str, *, host: str | None, timeout: float) -> tuple[bool, str]:
    """Whether ``url`` answers 200, and a line saying what it answered."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:  # 503 (database or broker down), 400 (host refused), …
        body = error.read(300).decode("utf-8", "replace")
        return False, f"{url} answered {error.code}: {body}"
    except (OSError, ValueError) as error:  # refused, timed out, malformed URL
        return False, f"{url} did not answer: {error}"
    return status == 200, f"{url} answered {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python config/probes.py", description=__doc__.splitlines()[0])
    parser.add_argument("url", help="e.g. http://127.0.0.1:8000/healthz")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer (default 10)")
    arguments = parser.parse_args(argv)
    healthy, line = check(
        arguments.url, host=probe_host(os.environ.get("ALLOWED_HOSTS", "")), timeout=arguments.timeout
    )
    print(line, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
