"""Mirror the type and contract registries of code into the JobType / JobContract listing rows."""

from __future__ import annotations

from django.db import transaction


def registries_sync() -> tuple[int, int]:
    """Create or update a row per registered type and contract; returns (types, contracts) counts."""
    from contracts.contracts import CONTRACTS
    from contracts.models import JobContract, JobType
    from contracts.types import TYPE_CLASSES

    with transaction.atomic():
        for name, type_class in TYPE_CLASSES.items():
            JobType.objects.update_or_create(name=name, defaults={"pkg": type_class.pkg, "cls": type_class.cls})
        for name, contract in CONTRACTS.items():
            JobContract.objects.update_or_create(name=name, defaults={"pkg": contract.pkg, "cls": contract.cls})
    return len(TYPE_CLASSES), len(CONTRACTS)


def sync_registries_after_migrate(sender, **kwargs) -> None:
    """post_migrate hook: keep the listing rows equal to the registries after every migrate."""
    using = kwargs.get("using", "default")
    if using != "default":
        return
    registries_sync()
