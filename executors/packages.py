"""Which of a template's ``required_packages`` this worker lacks (by its installed distributions)."""

from __future__ import annotations

import re
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement

EGG_NAME = re.compile(r"[#&]egg=([A-Za-z0-9_.\-]+)")


def missing_packages(required: str) -> list[str]:
    """Requirements not satisfied here, each as written (with the installed version when it differs).

    A URL is checked by the name it gives: a PEP 508 direct reference (``name@url``) or a ``#egg=name``;
    a bare URL names nothing that can be checked and is skipped.
    """
    missing = []
    for item in required.split():
        if "://" in item:
            name = _url_name(item)
            if name and not _installed(name):
                missing.append(item)
            continue
        try:
            requirement = Requirement(item)
        except InvalidRequirement:
            missing.append(f"{item} (not a valid requirement)")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = _installed(requirement.name)
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
