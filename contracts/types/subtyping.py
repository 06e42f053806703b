"""Subtyping (spec §3) and the slot rule built on it."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.types.model import LiteralType, NamedType, Type


def is_subtype(sub: Type, sup: Type) -> bool:
    """Whether ``sub <: sup``.

    A literal is a subtype only of itself and of whatever its base type is a subtype of. A named type
    is a subtype of ``sup`` when its class is ``sup``'s class or derives from it and each argument is a
    subtype of ``sup``'s argument at the same position (covariant), over the arguments both have.
    """
    if sub is sup:
        return True
    # A type value is a NamedType or a LiteralType. Asking "named?" rather than "literal?" lets mypy narrow
    # both at no cost on the common path (both named); anything else is not a type value and raises.
    if type(sup) is not NamedType:
        if type(sup) is not LiteralType:
            raise _not_a_type(sup)
        return sub == sup
    if type(sub) is not NamedType:
        if type(sub) is not LiteralType:
            raise _not_a_type(sub)
        sub = sub.base
        if sub is sup:
            return True
    if sup.type_class.name not in sub.type_class.ancestors:
        return False
    for sub_argument, sup_argument in zip(sub.args, sup.args, strict=False):
        if not is_subtype(sub_argument, sup_argument):
            return False
    return True


def _not_a_type(value: object) -> TypeError:
    return TypeError(f"is_subtype compares type values, not {type(value).__name__} {value!r}")


def accepts(allowed: Iterable[Type], declared: Type) -> bool:
    """The slot rule: a slot allowing ``[T1 ... Tn]`` accepts ``declared`` iff ``declared <: Ti`` for some i."""
    return any(is_subtype(declared, allowed_type) for allowed_type in allowed)
