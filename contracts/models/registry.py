"""Listings of the registered types and contracts (``/v1/job-types``, ``/v1/job-contracts``).

The registries in code are the source of truth; these rows mirror them (synced after every migrate)
so they have stable primary keys and can be referenced and filtered like any other resource.
"""

from django.db import models


class RegistryMirror(models.Model):
    """One entry of a registry in code: its name, and the package and class that define it."""

    name = models.CharField(max_length=64, unique=True)
    pkg = models.CharField(max_length=200)
    cls = models.CharField(max_length=200)

    class Meta:
        abstract = True
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class JobType(RegistryMirror):
    """A registered type name of the type language."""


class JobContract(RegistryMirror):
    """A registered contract (``Train``, ``Predict``, ``Export``)."""
