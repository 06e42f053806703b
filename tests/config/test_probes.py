"""``python -m config.probes``, the HTTP servers' container healthcheck, against a real server's ``/healthz``:
healthy when the database and the broker answer, unhealthy when the broker does not or the host is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import probes
from config.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]
# The live server answers from another thread: it sees the test database only outside a test transaction.
on_a_live_server = pytest.mark.django_db(transaction=True)


def test_the_host_sent_is_the_first_one_the_server_allows():
    assert probes.probe_host("jobs.example.org,api.example.org") == "jobs.example.org"
    assert probes.probe_host(" .example.org ") == "example.org"  # the domain and its subdomains
    assert probes.probe_host("*,jobs.example.org") == "jobs.example.org"
    assert probes.probe_host("*") is None and probes.probe_host("") is None  # the URL's own host will do


@on_a_live_server
def test_a_healthy_server_passes(live_server, capsys):
    assert probes.main([f"{live_server.url}/healthz"]) == 0
    assert "answered 200" in capsys.readouterr().out


@on_a_live_server
def test_a_production_allowed_hosts_is_sent_as_the_host(live_server, settings, monkeypatch, capsys):
    settings.ALLOWED_HOSTS = ["jobs.example.org"]
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    # What a probe sending the URL's own host gets from a production server: refused, though healthy.
    assert probes.main([f"{live_server.url}/healthz"]) == 1
    assert "answered 400" in capsys.readouterr().err
    monkeypatch.setenv("ALLOWED_HOSTS", "jobs.example.org")
    assert probes.main([f"{live_server.url}/healthz"]) == 0


@on_a_live_server
def test_an_unreachable_broker_fails_the_probe(live_server, capsys):
    previous = celery_app.conf.broker_write_url
    celery_app.conf.broker_write_url = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    try:
        assert probes.main([f"{live_server.url}/healthz"]) == 1
    finally:
        celery_app.conf.broker_write_url = previous
    err = capsys.readouterr().err
    assert "answered 503" in err and "broker_unavailable" in err


def test_no_server_fails_the_probe_within_its_timeout(capsys):
    assert probes.main(["http://127.0.0.1:9/healthz", "--timeout", "2"]) == 1
    assert "did not answer" in capsys.readouterr().err


@on_a_live_server
def test_the_probe_runs_as_the_image_runs_it_without_django(live_server):
    """As docker's HEALTHCHECK runs it (a file, not ``-m config.probes``): it imports neither Django nor Celery."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "config/probes.py", f"{live_server.url}/healthz"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answered 200" in result.stdout
    timings = [line for line in result.stderr.splitlines() if line.startswith("import time")]
    imported = {line.rsplit("|", 1)[-1].strip() for line in timings}
    assert "urllib.request" in imported
    assert not {name for name in imported if name.split(".")[0] in {"django", "celery", "config"}}
