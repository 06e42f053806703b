"""Production settings come from the environment: HTTPS cookies, redirect, HSTS and the proxy header;
a published development SECRET_KEY is refused when DEBUG is off; ``check --deploy`` is clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "jobs.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://jobs.example.org",
    "SECURE_HTTPS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def run(args: list[str], tmp_path: Path, **environment: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION and key != "SECRET_KEY"}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path / "var"), **environment})
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_is_clean_in_a_production_like_environment(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_https_settings_check_deploy_warns(tmp_path):
    plain = {**PRODUCTION, "SECURE_HTTPS": "false"}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **plain)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout, warning


def test_https_settings_follow_the_environment(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER)"
    )
    on = run(["-c", script], tmp_path, **PRODUCTION)
    assert on.stdout.split() == ["True", "True", "True", "31536000", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
    partial = run(
        ["-c", script], tmp_path, **{**PRODUCTION, "SECURE_HSTS_SECONDS": "60", "SECURE_PROXY_SSL_HEADER": "0"}
    )
    assert partial.stdout.split() == ["True", "True", "True", "60", "True", "None"], partial.stderr
    off = run(["-c", script.replace(", s.SECURE_PROXY_SSL_HEADER", "")], tmp_path, SECRET_KEY="k" * 50)
    assert off.stdout.split() == ["False", "False", "False", "0", "False"]


def test_a_development_secret_key_is_refused_when_debug_is_off(tmp_path):
    for key in ("change-me-in-production", "django-insecure-development-only-key-change-me"):
        refused = run(["manage.py", "check"], tmp_path, SECRET_KEY=key, DEBUG="false")
        assert refused.returncode != 0
        assert "SECRET_KEY is a published development key" in refused.stderr
        allowed = run(["manage.py", "check"], tmp_path, SECRET_KEY=key, DEBUG="true")
        assert allowed.returncode == 0, allowed.stderr


def test_without_a_secret_key_an_installation_keeps_its_own(tmp_path):
    script = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    first = run(["-c", script], tmp_path).stdout.strip()
    again = run(["-c", script], tmp_path).stdout.strip()
    elsewhere = run(["-c", script], tmp_path / "other").stdout.strip()
    assert len(first) >= 50 and first == again and elsewhere != first
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
