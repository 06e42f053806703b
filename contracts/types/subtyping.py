"""Subtyping (spec §3) and the slot rule built on it."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.types.values import LiteralType, Type


def is_subtype(sub: Type, sup: Type) -> bool:
    """Whether ``sub <: sup``.

    A literal is a subtype only of itself and of whatever its base type is a subtype of. A named type
    is a subtype of ``sup`` when its class is ``sup``'s class or derives from it and each argument is a
    subtype of ``sup``'s argument at the same position (covariant), over the arguments both have.
    """
    if sub is sup:
        return True
    if type(sup) is LiteralType:
        return sub == sup
    if type(sub) is LiteralType:
        sub = sub.base
        if sub is sup:
            return True
    if sup.type_class.name not in sub.type_class.ancestors:
        return False
    for sub_argument, sup_argument in zip(sub.args, sup.args, strict=False):
        if not is_subtype(sub_argument, sup_argument):
            return False
    return True


def accepts(allowed: Iterable[Type], declared: Type) -> bool:
    """The slot rule: a slot allowing ``[T1 ... Tn]`` accepts ``declared`` iff ``declared <: Ti`` for some i."""
    return any(is_subtype(declared, allowed_type) for allowed_type in allowed)
