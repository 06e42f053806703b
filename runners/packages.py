"""Which of a template's ``required_packages`` a worker lacks, by its installed distributions: this
process's (``missing_packages``) or a registered worker's (``missing_from``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement

EGG_NAME = re.compile(r"[#&]egg=([A-Za-z0-9_.\-]+)")


def missing_packages(required: str) -> list[str]:
    """Requirements not satisfied in this process (see ``missing_from``)."""
    return missing_from(required, _installed)


def missing_from(required: str, installed: Callable[[str], str | None]) -> list[str]:
    """Requirements ``installed`` (name → version or None) does not satisfy, each as written (with the
    installed version when it differs).

    A URL is checked by the name it gives: a PEP 508 direct reference (``name@url``) or a ``#egg=name``;
    a bare URL names nothing that can be checked and is skipped.
    """
    missing = []
    for item in required.split():
        if "://" in item:
            name = _url_name(item)
            if name and not installed(name):
                missing.append(item)
            continue
        try:
            requirement = Requirement(item)
        except InvalidRequirement:
            missing.append(f"{item} (not a valid requirement)")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = installed(requirement.name)
        if version is None:
            missing.append(item)
        elif requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{item} (installed: {version})")
    return missing


def _url_name(item: str) -> str | None:
    try:
        return Requirement(item).name  # name@url
    except InvalidRequirement:
        match = EGG_NAME.search(item)  # a bare URL: its #egg=, if any
        return match.group(1) if match else None


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def canonical_name(name: str) -> str:
    """PEP 503's normalised distribution name (``Scikit_Learn`` → ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions_lookup(distributions: dict[str, str]) -> Callable[[str], str | None]:
    """A ``missing_from`` lookup over a reported ``{name: version}`` map."""
    by_name = {canonical_name(name): version for name, version in distributions.items()}
    return lambda name: by_name.get(canonical_name(name))
