"""Reproducible tooling: the dev tools pinned exactly, one lock (requirements/constraints.txt) that the installs
and the image use and that agrees with pyproject.toml, and `make test` linting first and running in parallel."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "requirements" / "constraints.txt"


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def locked() -> dict[str, str]:
    """The lock as {canonical name: version}; every line is a comment or ``name==version``."""
    versions: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"not a name==version constraint: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in versions, f"{name} is locked twice"
        versions[name] = match[2]
    return versions


def test_the_dev_tools_are_pinned_exactly_at_their_locked_versions():
    lock = locked()
    dev = [Requirement(line) for line in project()["optional-dependencies"]["dev"]]
    names = {canonicalize_name(requirement.name) for requirement in dev}
    assert {"ruff", "mypy", "pytest", "pytest-django", "pytest-xdist", "django-stubs"} <= names
    for requirement in dev:
        [specifier] = requirement.specifier
        assert specifier.operator == "==", f"{requirement} is not an exact pin"
        assert lock[canonicalize_name(requirement.name)] == specifier.version, requirement


def test_the_lock_satisfies_the_runtime_ranges_and_leaves_the_project_out():
    lock = locked()
    assert canonicalize_name(project()["name"]) not in lock
    for line in project()["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{name} is not locked"
        assert requirement.specifier.contains(lock[name], prereleases=True), (requirement, lock[name])
        # A runtime dependency keeps a range (an exact pin belongs in the lock, not in what installs us).
        assert all(specifier.operator != "==" for specifier in requirement.specifier), requirement


def test_this_environment_is_the_locked_one():
    """The suite runs on the versions the lock names (else the lock no longer says what was tested)."""
    drift = {}
    for name, version in locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. a lock made with an extra this environment does not install
        if installed != version:
            drift[name] = (version, installed)
    assert not drift, f"locked vs installed (run `make constraints` after a deliberate upgrade): {drift}"


def test_the_installs_and_the_image_use_the_lock():
    makefile = (REPO / "Makefile").read_text()
    assert "CONSTRAINTS := requirements/constraints.txt" in makefile
    installs = [line.strip() for line in makefile.splitlines() if "pip install" in line and "-e " in line]
    assert len(installs) == 2 and all("--constraint $(CONSTRAINTS)" in line for line in installs), installs
    # A changed lock reinstalls.
    assert re.search(r"^\$\(VENV\)/\.installed-dev: pyproject\.toml \$\(CONSTRAINTS\)", makefile, re.M)
    assert "--constraint requirements/constraints.txt" in (REPO / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def make_test_dry_run() -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # -n prints what `make test` would run; -o keeps the install stamps as they are (nothing is installed).
    result = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed-dev", "-o", ".venv/.installed", "test"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.splitlines()


def test_make_test_lints_before_it_tests_and_runs_the_suite_in_parallel(make_test_dry_run):
    lines = make_test_dry_run

    def first(fragment: str) -> int:
        return next(index for index, line in enumerate(lines) if fragment in line)

    assert first("ruff check .") < first("ruff format --check .") < first("-m pytest")
    [pytest_line] = [line for line in lines if "-m pytest" in line]
    assert re.search(r"(^|\s)-n (auto|2)(\s|$)", pytest_line), pytest_line
    assert first("manage.py makemigrations --check") < first("-m pytest")
