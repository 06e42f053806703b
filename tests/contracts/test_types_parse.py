"""Parsing and formatting type-strings: the spec's examples, literals, and every kind of error."""

from __future__ import annotations

import copy
import math
import pickle

import pytest

from contracts.types import (
    PARSE_CACHE_SIZE,
    LiteralType,
    NamedType,
    TypeParseError,
    format_type,
    literal_value,
    make_literal,
    make_type,
    parse_type,
)

# input -> canonical form
CANONICAL_CASES = [
    # spec §1: bare names take their bounds, Array<T> = Array<T, int>
    ("Dataset", "Dataset<Domain<str>>"),
    ("Array<str>", "Array<str, int>"),
    ("Array", "Array<UFDLJSONType, int>"),
    ("Map", "Map<UFDLJSONType>"),
    ("PK", "PK<ServerResidentType>"),
    ("Name", "Name<NamedServerType>"),
    ("JobOutput", "JobOutput<UFDLType>"),
    ("Model", "Model<Domain<str>, Framework<str, str>>"),
    ("Compressed", "Compressed<UFDLType, int>"),
    ("BLOB", "BLOB<str>"),
    ("str", "str"),
    ("UFDLType<>", "UFDLType"),
    ("Hardware<>", "Hardware"),
    # spec §1, §4 examples
    ("Domain<'Image Classification'>", "Domain<'Image Classification'>"),
    ("Framework<'dogs_dummy', '1'>", "Framework<'dogs_dummy', '1'>"),
    (
        "Model<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>",
        "Model<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>",
    ),
    ("PK<Dataset<Domain<'Image Classification'>>>", "PK<Dataset<Domain<'Image Classification'>>>"),
    ("Dataset<Domain<'Image Classification'>>", "Dataset<Domain<'Image Classification'>>"),
    ("JobOutput<Model<Domain<'D'>, Framework<'F', '1'>>>", "JobOutput<Model<Domain<'D'>, Framework<'F', '1'>>>"),
    ("Array<str, 3>", "Array<str, 3>"),
    ("Array<str, 0>", "Array<str, 0>"),
    # whitespace, trailing comma, separators
    ("  Array < str ,3 , >  ", "Array<str, 3>"),
    ("Framework<'tensorflow','1.14'>", "Framework<'tensorflow', '1.14'>"),
    ("PK<\n  Dataset<\tDomain<'x'>\n>\n>", "PK<Dataset<Domain<'x'>>>"),
    # quotes: commas and brackets inside them do not count; \' is a quote
    ("Domain<'a,b'>", "Domain<'a,b'>"),
    ("Domain<'a<b>c'>", "Domain<'a<b>c'>"),
    ("Domain<'it\\'s'>", "Domain<'it\\'s'>"),
    ("Domain<' spaced '>", "Domain<' spaced '>"),
    ("Domain<''>", "Domain<''>"),
    # literals: int() first, then float(), then @true/@false
    ("5", "5"),
    ("+7", "7"),
    ("007", "7"),
    ("1_000", "1000"),
    ("-3", "-3"),
    ("12345678901234567890", "12345678901234567890"),
    ("2.5", "2.5"),
    (".5", "0.5"),
    ("5.", "5.0"),
    ("1e3", "1000.0"),
    ("1E-2", "0.01"),
    ("1e16", "1e+16"),
    ("-0.0", "-0.0"),
    ("inf", "inf"),
    ("-Infinity", "-inf"),
    ("nan", "nan"),
    ("1e400", "inf"),
    ("@true", "@true"),
    ("@false", "@false"),
    ("'x'", "'x'"),
    ("Array<5>", "Array<5, int>"),
    ("Map<'x'>", "Map<'x'>"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL_CASES)
def test_canonical_form(text, canonical):
    parsed = parse_type(text)
    assert str(parsed) == canonical
    assert format_type(parsed) == canonical
    assert parse_type(canonical) == parsed


# (input, reason, text the cause must contain, position or None if not checked)
ERROR_CASES = [
    # unknown names (case-sensitive; contract names are not type names)
    ("Foo", "unknown_name", 'Unknown type-name "Foo"', 0),
    ("domain<'x'>", "unknown_name", 'Unknown type-name "domain"', 0),
    ("Domain<Foo>", "unknown_name", 'Unknown type-name "Foo"', 7),
    ("PK<Datasets<Domain>>", "unknown_name", 'Unknown type-name "Datasets"', 3),
    ("Train", "unknown_name", 'Unknown type-name "Train"', 0),
    ("true", "unknown_name", 'Unknown type-name "true"', 0),
    ("@True", "unknown_name", 'Unknown type-name "@True"', 0),
    ("null", "unknown_name", 'Unknown type-name "null"', 0),
    ("str|int", "unknown_name", 'Unknown type-name "str|int"', 0),
    ("Data set", "unknown_name", 'Unknown type-name "Data"', 0),
    # double quotes are not string quotes
    ('Domain<"x">', "syntax", "single quotes", 7),
    # arity
    ("Domain<'a', 'b'>", "arity", "generic type 'Domain': expected 1 but got 2", 0),
    ("Domain<>", "arity", "expected 1 but got 0", 0),
    ("Framework<'tensorflow'>", "arity", "expected 2 but got 1", 0),
    ("Array<str, 3, 4>", "arity", "generic type 'Array': expected 1 to 2 but got 3", 0),
    ("Array<>", "arity", "expected 1 to 2 but got 0", 0),
    ("int<5>", "arity", "generic type 'int': expected 0 but got 1", 0),
    ("PK<Dataset<Domain<'x'>, 2>>", "arity", "generic type 'Dataset': expected 1 but got 2", 3),
    # bounds
    ("Domain<5>", "bound", "5 is not a sub-type of str", 0),
    ("Domain<int>", "bound", "int is not a sub-type of str", 0),
    ("Array<str, 2.5>", "bound", "2.5 is not a sub-type of int", 0),
    ("Array<str, @true>", "bound", "@true is not a sub-type of int", 0),
    ("Array<Model>", "bound", "Model<Domain<str>, Framework<str, str>> is not a sub-type of UFDLJSONType", 0),
    ("PK<str>", "bound", "str is not a sub-type of ServerResidentType", 0),
    ("Name<Framework>", "bound", "Framework<str, str> is not a sub-type of NamedServerType", 0),
    ("Dataset<Framework>", "bound", "Framework<str, str> is not a sub-type of Domain<str>", 0),
    ("Map<Map<BLOB>>", "bound", "BLOB<str> is not a sub-type of UFDLJSONType", 4),
    # literal arguments (ours)
    ("Array<str, -1>", "literal_argument", "the size of Array must be at least 0, not -1", 0),
    ("JobOutput<5>", "literal_argument", "the content of JobOutput must be a type, not the literal 5", 0),
    ("Compressed<'x', 1>", "literal_argument", "the content of Compressed must be a type", 0),
    # unterminated strings
    ("Domain<'x>", "syntax", "unterminated string literal starting at position 7", 7),
    ("Domain<'a\\'>", "syntax", "unterminated string literal starting at position 7", 7),
    ("'", "syntax", "unterminated string literal starting at position 0", 0),
    ("'\\'", "syntax", "unterminated string literal starting at position 0", 0),
    ("abc'", "syntax", "unterminated string literal starting at position 3", 3),
    # unclosed and stray brackets
    ("PK<Dataset<Domain<'x'>>", "syntax", "unclosed '<' at position 2", 2),
    ("Domain<'x'", "syntax", "unclosed '<' at position 6", 6),
    ("Domain<<'x'>", "syntax", "expected a type at position 7, found '<'", 7),
    ("<str>", "syntax", "expected a type at position 0, found '<'", 0),
    (">", "syntax", "expected a type at position 0, found '>'", 0),
    # trailing garbage
    ("Domain<'x'>>", "syntax", "unexpected '>' at position 11 after a complete type", 11),
    ("Domain<'x'> extra", "syntax", "unexpected 'extra' at position 12", 12),
    ("Domain<'x'><'y'>", "syntax", "unexpected '<' at position 11", 11),
    ("Domain<'x'>'y'", "syntax", "unexpected string 'y' at position 11", 11),
    ("Domain<'x'>, str", "syntax", "unexpected ',' at position 11", 11),
    ("'a', 'b'", "syntax", "unexpected ',' at position 3", 3),
    ("5<int>", "syntax", "unexpected '<' at position 1", 1),
    ("str,", "syntax", "unexpected ',' at position 3", 3),
    # empty input and stray commas
    ("", "syntax", "empty type-string", 0),
    ("   ", "syntax", "empty type-string", 3),
    ("Domain<,'x'>", "syntax", "expected a type at position 7, found ','", 7),
    ("Domain<'x',,>", "syntax", "expected a type at position 11, found ','", 11),
    ("Domain<,>", "syntax", "expected a type at position 7, found ','", 7),
    ("Framework<'a' 'b'>", "syntax", "expected ',' or '>' at position 14, found string 'b'", 14),
    # errors nested deep inside arguments still name the whole input
    ("Array<Map<Array<Domain<5>>>>", "bound", "5 is not a sub-type of str", 16),
    ("Map<Array<Domain<'x>>>", "syntax", "unterminated string literal starting at position 17", 17),
]


@pytest.mark.parametrize(("text", "reason", "cause", "position"), ERROR_CASES, ids=lambda value: repr(value))
def test_parse_error(text, reason, cause, position):
    with pytest.raises(TypeParseError) as caught:
        parse_type(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.text == text
    assert cause in error.cause
    assert str(error) == f'Error parsing type-string "{text}": {error.cause}'
    assert error.reason == reason
    assert error.reason in TypeParseError.REASONS
    if position is not None:
        assert error.position == position


def test_spec_error_message_exactly():
    with pytest.raises(TypeParseError, match='^Error parsing type-string "Domain<5>": 5 is not a sub-type of str$'):
        parse_type("Domain<5>")


# literal value -> canonical text
LITERAL_FORMATS = [
    ("x", "'x'"),
    ("it's", "'it\\'s'"),
    ("", "''"),
    ("a\\b", "'a\\b'"),  # a backslash that cannot be misread stays single
    ("a\\", "'a\\\\'"),  # ... but one at the end is doubled,
    ("\\'", "'\\\\\\''"),  # ... and one before a quote,
    ("\\\\", "'\\\\\\\\'"),  # ... and one before another backslash.
    ("<,>", "'<,>'"),
    (5, "5"),
    (-3, "-3"),
    (0, "0"),
    (10**30, "1000000000000000000000000000000"),
    (2.5, "2.5"),
    (1.0, "1.0"),
    (0.1, "0.1"),
    (1e16, "1e+16"),
    (-0.0, "-0.0"),
    (math.inf, "inf"),
    (-math.inf, "-inf"),
    (math.nan, "nan"),
    (True, "@true"),
    (False, "@false"),
]


@pytest.mark.parametrize(("value", "text"), LITERAL_FORMATS, ids=lambda value: repr(value))
def test_literal_format_and_round_trip(value, text):
    literal = make_literal(value)
    assert str(literal) == text
    reparsed = parse_type(text)
    assert reparsed == literal
    assert type(reparsed.value) is type(value)
    assert reparsed.value == value or (math.isnan(value) and math.isnan(reparsed.value))


def test_literals_are_keyed_by_base_and_value():
    one, one_float, true, one_string = (parse_type(text) for text in ("1", "1.0", "@true", "'1'"))
    assert len({one, one_float, true, one_string}) == 4
    assert one != one_float and one != true and one != one_string
    assert [str(literal.base) for literal in (one, one_float, true, one_string)] == ["int", "float", "bool", "str"]
    assert parse_type("0.0") != parse_type("-0.0")
    assert parse_type("nan") == parse_type("nan")
    assert hash(parse_type("nan")) == hash(make_literal(math.nan))


def test_literal_value():
    assert literal_value(parse_type("'x'")) == "x"
    assert literal_value(parse_type("5")) == 5
    assert literal_value(parse_type("@false")) is False
    assert literal_value(parse_type("str")) is None
    assert parse_type("2.5").value == 2.5


def test_make_literal_rejects_other_values():
    with pytest.raises(TypeError):
        make_literal(None)  # type: ignore[arg-type]


def test_named_type_attributes():
    array = parse_type("Array<str>")
    assert isinstance(array, NamedType)
    assert array.name == "Array"
    assert array.args == (parse_type("str"), parse_type("int"))
    assert parse_type("str").args == ()
    assert isinstance(parse_type("5"), LiteralType)
    assert parse_type("5").is_literal and not array.is_literal


def test_make_type_applies_the_parser_rules():
    assert make_type("Array", parse_type("str")) == parse_type("Array<str>")
    assert make_type("Dataset", make_type("Domain", make_literal("x"))) == parse_type("Dataset<Domain<'x'>>")
    with pytest.raises(TypeParseError, match="5 is not a sub-type of str"):
        make_type("Domain", make_literal(5))
    with pytest.raises(TypeParseError, match="expected 1 but got 0"):
        make_type("Domain")
    with pytest.raises(TypeParseError, match='Unknown type-name "Nope"'):
        make_type("Nope")


def test_types_are_immutable():
    parsed = parse_type("Array<str>")
    with pytest.raises(AttributeError):
        parsed.args = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        parse_type("5").value = 6  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del parsed.args


def test_types_pickle_and_copy_to_equal_values():
    for text in ("Array<str>", "PK<Dataset<Domain<'it\\'s'>>>", "2.5", "@true", "nan"):
        parsed = parse_type(text)
        assert pickle.loads(pickle.dumps(parsed)) == parsed
        assert copy.deepcopy(parsed) == parsed


def test_errors_pickle():
    with pytest.raises(TypeParseError) as caught:
        parse_type("Domain<5>")
    restored = pickle.loads(pickle.dumps(caught.value))
    assert (restored.text, restored.cause, restored.reason, str(restored)) == (
        "Domain<5>",
        "5 is not a sub-type of str",
        "bound",
        str(caught.value),
    )


def test_parse_cache_returns_the_same_object():
    assert PARSE_CACHE_SIZE >= 1024
    text = "PK<Dataset<Domain<'cached'>>>"
    assert parse_type(text) is parse_type(text)
    parse_type.cache_clear()
    first = parse_type(text)
    assert parse_type(text) is first
    assert parse_type.cache_info().hits >= 1


def test_bare_names_share_one_value():
    assert parse_type("Dataset") is parse_type(" Dataset ")
    assert parse_type("Dataset") == parse_type("Dataset<Domain<str>>")


def test_repr_shows_the_canonical_form():
    assert repr(parse_type("Array<str>")) == "parse_type('Array<str, int>')"
