"""Which of a template's ``required_packages`` this worker lacks (by its installed distributions)."""

from __future__ import annotations

import re
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement

EGG_NAME = re.compile(r"[#&]egg=([A-Za-z0-9_.\-]+)")


def missing_packages(required: str) -> list[str]:
    """Requirements not satisfied here, each as written (with the installed version when it differs).

    A URL requirement is checked by its ``#egg=name`` when it has one; without a name it cannot be
    checked and is skipped.
    """
    missing = []
    for item in required.split():
        if "://" in item:
            match = EGG_NAME.search(item)
            if match and not _installed(match.group(1)):
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


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
