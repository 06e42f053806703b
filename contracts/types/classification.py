"""Questions about what kind of type a type is: abstract, JSON, binary, server-resident, reference."""

from __future__ import annotations

from contracts.types.model import TYPE_CLASSES, LiteralType, NamedType, Type
from contracts.types.parser import bare_type
from contracts.types.subtyping import is_subtype


def is_abstract(type_: Type) -> bool:
    """Whether values of the type cannot be listed or used directly.

    True for the abstract classes (``UFDLType``, ``UFDLJSONType``, ``FiniteJSONType``,
    ``ServerResidentType``, ``NamedServerType``, ``ValueType``) and, as in UFDL, for any type with an
    abstract argument (``PK<ServerResidentType>``, the bare ``Array`` = ``Array<UFDLJSONType, int>``).
    """
    if type(type_) is LiteralType:
        return False
    assert isinstance(type_, NamedType)  # a type value that is not a literal is named
    return type_.type_class.abstract or any(is_abstract(argument) for argument in type_.args)


def is_json_type(type_: Type) -> bool:
    """Whether values of the type are JSON (``type_ <: UFDLJSONType``)."""
    return is_subtype(type_, bare_type(TYPE_CLASSES["UFDLJSONType"]))


def is_binary_type(type_: Type) -> bool:
    """Whether values of the type are bytes (``Model``, ``BLOB``, ``Compressed``)."""
    if type(type_) is LiteralType:
        return False
    assert isinstance(type_, NamedType)  # a type value that is not a literal is named
    return type_.type_class.binary


def is_server_resident(type_: Type) -> bool:
    """Whether values of the type are rows on the server (``type_ <: ServerResidentType``)."""
    return is_subtype(type_, bare_type(TYPE_CLASSES["ServerResidentType"]))


def is_reference_type(type_: Type) -> bool:
    """Whether a value of the type points at a server row (``PK``, ``Name``, ``JobOutput``)."""
    if type(type_) is LiteralType:
        return False
    assert isinstance(type_, NamedType)  # a type value that is not a literal is named
    return type_.type_class.reference
