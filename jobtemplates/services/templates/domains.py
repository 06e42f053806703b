"""The data domains a type names (``Domain<'Image Classification'>``), checked against the catalogue."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.models import Domain
from contracts.types import LiteralType, NamedType, Type

DOMAIN_TYPE = "Domain"


def domain_literals(types: Iterable[Type]) -> list[str]:
    """The domain descriptions the types name, in order of appearance, each once.

    A ``Domain<'…'>`` anywhere inside (``Train<Domain<'…'>, …>``, ``PK<Dataset<Domain<'…'>>>``) names
    its row by ``description``, as ``row_filters`` reads it; an unconstrained ``Domain`` (``Domain<str>``)
    names none.
    """
    found: dict[str, None] = {}
    pending = list(types)
    while pending:
        type_ = pending.pop(0)
        if not isinstance(type_, NamedType):
            continue
        if DOMAIN_TYPE in type_.type_class.ancestors:
            argument = type_.args[0] if type_.args else None
            if isinstance(argument, LiteralType) and isinstance(argument.value, str):
                found.setdefault(argument.value)
        pending.extend(type_.args)
    return list(found)


def unknown_domains(descriptions: Iterable[str]) -> set[str]:
    """The descriptions no catalogue domain has (one query)."""
    wanted = set(descriptions)
    if not wanted:
        return set()
    return wanted - set(Domain.objects.filter(description__in=wanted).values_list("description", flat=True))
