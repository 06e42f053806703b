"""Property tests (hypothesis): round trips, subtyping laws, value soundness, cache identity, fuzzing.

Types are generated from the registry itself: ``subtypes_of(bound)`` picks a literal or a registered
class that can be a subtype of ``bound`` and fills each parameter with a generated subtype of what
that position allows, so every generated type is well-formed by construction.
"""

from __future__ import annotations

import math
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.contracts import ContractParseError, parse_contract
from contracts.types import (
    TYPE_CLASSES,
    LiteralType,
    Type,
    TypeParseError,
    accepts,
    bare_type,
    is_json_type,
    is_subtype,
    make_literal,
    make_type,
    parameter_bounds,
    parse_type,
    validate_value,
)
from contracts.types.schemas import INT_MAX, INT_MIN

# Applied per test (not as a profile) so other test modules keep their own hypothesis settings.
type_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

TRICKY_TEXT = st.text(alphabet=st.sampled_from("ab '\\<>,@1.\"é\n") | st.characters(), max_size=10)
FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False)


def _literal_values(base: str, *, for_values: bool) -> st.SearchStrategy:
    """Literal constants; ``for_values`` keeps them usable in value tests (small sizes, no nan)."""
    if base == "str":
        return TRICKY_TEXT
    if base == "int":
        return st.integers(min_value=-2, max_value=4) if for_values else st.integers(-(10**20), 10**20)
    if base == "float":
        # nan is a fine literal type, but no JSON value equals it.
        return FINITE_FLOATS if for_values else st.floats()
    return st.booleans()


def _try_make(name: str, arguments: tuple[Type, ...]) -> Type | None:
    try:
        return make_type(name, *arguments)
    except TypeParseError:
        return None  # e.g. a negative Array size or a literal JobOutput content


@cache
def subtypes_of(bound: Type, depth: int = 3, for_values: bool = False) -> st.SearchStrategy:
    """Well-formed types ``T`` with ``T <: bound``, nested at most ``depth`` levels."""
    if isinstance(bound, LiteralType):
        return st.just(bound)
    options = [st.just(bound)]
    for base in ("str", "int", "float", "bool"):
        if is_subtype(bare_type(TYPE_CLASSES[base]), bound):
            options.append(_literal_values(base, for_values=for_values).map(make_literal))
    for type_class in TYPE_CLASSES.values():
        if not type_class.derives_from(bound.type_class):
            continue
        if not type_class.parameters:
            options.append(st.just(bare_type(type_class)))
            continue
        if depth == 0:
            continue
        targets = []
        for index, parameter_bound in enumerate(parameter_bounds(type_class)):
            target = bound.args[index] if index < len(bound.args) else parameter_bound
            if not is_subtype(target, parameter_bound):
                break
            targets.append(target)
        else:
            arguments = st.tuples(*(subtypes_of(target, depth - 1, for_values) for target in targets))
            options.append(
                arguments.map(lambda args, name=type_class.name: _try_make(name, args)).filter(lambda t: t is not None)
            )
    return st.one_of(options)


ROOT = bare_type(TYPE_CLASSES["UFDLType"])
JSON_ROOT = bare_type(TYPE_CLASSES["UFDLJSONType"])
TYPES = subtypes_of(ROOT)
JSON_TYPES = subtypes_of(JSON_ROOT, 3, True)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | FINITE_FLOATS | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8,
)
_ANY_JSON_CLASSES = {"JSON", "UFDLJSONType", "FiniteJSONType", "ServerResidentType", "NamedServerType"}


def values_of(type_: Type) -> st.SearchStrategy:
    """JSON values of a JSON type, built from its meaning (not from its schema)."""
    if isinstance(type_, LiteralType):
        return st.just(type_.value)
    name = type_.name
    if name in _ANY_JSON_CLASSES:
        return JSON_VALUES
    simple = {
        "str": st.text(max_size=5),
        "int": st.integers(min_value=INT_MIN, max_value=INT_MAX),
        "float": FINITE_FLOATS | st.integers(),
        "bool": st.booleans(),
        "Nothing": st.none(),
        "ValueType": st.text(max_size=5) | st.integers() | FINITE_FLOATS | st.booleans(),
        "PK": st.integers(min_value=1, max_value=INT_MAX),
        "JobOutput": st.integers(min_value=1, max_value=INT_MAX),
        "Name": st.text(max_size=5),
    }
    if name in simple:
        return simple[name]
    if name == "Array":
        element, size = type_.args
        if isinstance(size, LiteralType):
            return st.lists(values_of(element), min_size=size.value, max_size=size.value)
        return st.lists(values_of(element), max_size=3)
    if name == "Map":
        return st.dictionaries(st.text(max_size=3), values_of(type_.args[0]), max_size=3)
    return row_values_of(type_)


def row_values_of(type_: Type) -> st.SearchStrategy:
    """Row objects of a row type: its declared required fields (those its arguments fix included)."""
    arguments = {
        parameter.row_field: argument
        for parameter, argument in zip(type_.type_class.parameters, type_.args, strict=True)
        if parameter.row_field is not None
    }
    fields = {
        field.name: _row_field_values(field, arguments.get(field.name))
        for field in type_.type_class.row_fields
        if field.required
    }
    return st.fixed_dictionaries(fields)


def _row_field_values(field, argument: Type | None) -> st.SearchStrategy:
    if isinstance(argument, LiteralType):
        return st.just(argument.value)
    if field.type is None:  # a declared schema: a string (of at most maxLength) or a positive integer
        if field.schema["type"] == "integer":
            return st.integers(min_value=field.schema.get("minimum", 1))
        return st.text(max_size=min(5, field.schema.get("maxLength", 5)))
    field_type = argument if argument is not None else parse_type(field.type)
    if field.attribute is not None:
        attribute = field_type.type_class.row_field(field.attribute)
        attribute_argument = {
            parameter.row_field: value
            for parameter, value in zip(field_type.type_class.parameters, field_type.args, strict=True)
        }.get(field.attribute)
        values = _row_field_values(attribute, attribute_argument)
    else:
        values = values_of(field_type)
    return values | st.none() if field.nullable else values


@type_settings
@given(TYPES)
def test_format_then_parse_gives_an_equal_type(type_):
    text = str(type_)
    reparsed = parse_type(text)
    assert reparsed == type_
    assert hash(reparsed) == hash(type_)
    assert str(reparsed) == text


@type_settings
@given(TYPES)
def test_subtyping_is_reflexive(type_):
    assert is_subtype(type_, type_)


@type_settings
@given(st.data())
def test_generated_chains_are_subtypes_and_transitive(data):
    top = data.draw(TYPES)
    middle = data.draw(subtypes_of(top, 2))
    bottom = data.draw(subtypes_of(middle, 2))
    assert is_subtype(middle, top)
    assert is_subtype(bottom, middle)
    assert is_subtype(bottom, top)


@type_settings
@given(TYPES, TYPES, TYPES)
def test_subtyping_is_transitive_on_arbitrary_triples(a, b, c):
    if is_subtype(a, b) and is_subtype(b, c):
        assert is_subtype(a, c)


@type_settings
@given(st.data())
def test_subtyping_is_antisymmetric(data):
    sup = data.draw(TYPES)
    sub = data.draw(subtypes_of(sup, 2))
    if is_subtype(sup, sub):
        assert sub == sup


@type_settings
@given(st.data())
def test_values_of_an_accepted_type_are_valid_for_it_and_for_the_slot(data):
    allowed = data.draw(st.lists(JSON_TYPES, min_size=1, max_size=3))
    slot_type = data.draw(st.sampled_from(allowed))
    declared = data.draw(subtypes_of(slot_type, 2, True))
    assert accepts(allowed, declared)
    assert is_json_type(declared)
    value = data.draw(values_of(declared))
    assert validate_value(declared, value) == []
    assert validate_value(slot_type, value) == []


@type_settings
@given(TYPES)
def test_parse_cache_returns_identical_objects(type_):
    text = str(type_)
    assert parse_type(text) is parse_type(text)


@type_settings
@given(st.one_of(st.text(max_size=30), TRICKY_TEXT, TYPES.map(str).map(lambda text: text[: len(text) // 2])))
def test_arbitrary_text_parses_or_raises_a_type_parse_error(text):
    try:
        parsed = parse_type(text)
    except TypeParseError as error:
        assert error.text == text
        assert str(error).startswith(f'Error parsing type-string "{text}": ')
    else:
        assert parse_type(str(parsed)) == parsed


@type_settings
@given(st.one_of(st.text(max_size=30), TYPES.map(lambda type_: f"Train<{type_}, Framework>")))
def test_arbitrary_contract_text_parses_or_raises_a_contract_parse_error(text):
    try:
        instance = parse_contract(text)
    except ContractParseError as error:
        assert error.text == text
    else:
        assert parse_contract(str(instance)) == instance


@type_settings
@given(st.one_of(TRICKY_TEXT, st.integers(), st.floats(), st.booleans()))
def test_literals_round_trip(value):
    literal = make_literal(value)
    reparsed = parse_type(str(literal))
    assert reparsed == literal
    assert type(reparsed.value) is type(value)
    assert reparsed.value == value or (isinstance(value, float) and math.isnan(value))
