"""Fixtures of the data-layer tests: stored files in a temporary folder, UFDL-client sessions."""

from __future__ import annotations

import pytest

from tests.factories import DomainFactory, LicenceFactory, UserFactory
from tests.workspaces.ufdl_client import UFDLClient

PASSWORD = "secret-password"  # UserFactory's
# The keys of a dataset's representation on /v1/datasets (domain routes add their annotations).
DATASET_KEYS = {
    "pk",
    "name",
    "version",
    "previous_version",
    "description",
    "domain",
    "licence",
    "project",
    "is_public",
    "tags",
    "creator",
    "creation_time",
    "deletion_time",
    "files",
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every stored file goes to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def domains(db):
    """UFDL's five domains, as the catalogue seeds them."""
    return {name: DomainFactory(name=name) for name in ("ic", "is", "od", "sc", "sp")}


@pytest.fixture
def licence(db):
    return LicenceFactory(name="CC-BY-4.0")


@pytest.fixture
def ufdl(db):
    """``ufdl("alice")``: a UFDL-client session of that user (made when missing; ``staff=True`` for an
    admin)."""

    def session(username: str, *, staff: bool = False) -> UFDLClient:
        UserFactory(username=username, is_staff=staff, is_superuser=staff)
        return UFDLClient(username, PASSWORD)

    return session
