"""Which server rows a server-resident type stands for, as field filters the server can apply."""

from __future__ import annotations

from contracts.types.model import TYPE_CLASSES, LiteralType, LiteralValue, NamedType, Type


def row_filters(type_: Type) -> dict[str, LiteralValue]:
    """Field filters selecting the rows of a row type, with ``.`` between nested fields.

    ``Dataset<Domain<'Image Classification'>>`` gives ``{"domain.description": "Image Classification"}``;
    ``PK<X>`` and ``Name<X>`` give the filters of ``X``; unconstrained arguments (``str``) add nothing.
    ``JobOutput`` gives none: its rule is a subtype check on the stored output's type, not a filter.
    """
    if type(type_) is LiteralType:
        return {}
    assert isinstance(type_, NamedType)  # a type value that is not a literal is named
    if type_.type_class in (TYPE_CLASSES["PK"], TYPE_CLASSES["Name"]):
        return row_filters(type_.args[0])
    filters: dict[str, LiteralValue] = {}
    for parameter, argument in zip(type_.type_class.parameters, type_.args, strict=True):
        field = parameter.row_field
        if field is None:
            continue
        if type(argument) is LiteralType:
            filters[field] = argument.value
        elif isinstance(argument, NamedType):
            for nested_field, value in row_filters(argument).items():
                filters[f"{field}.{nested_field}"] = value
    return filters
