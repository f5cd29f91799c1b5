"""Unit tests of the intricate small rules: wire date/times, names, reserved words, record validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ucs_graphql.kit import jsonio
from ucs_graphql.kit.errors import BadParameter, MalformedRequest, MissingParameter, ReservedWord
from ucs_graphql.kit.names import check_name
from ucs_graphql.kit.timefmt import format_dt, format_ms, from_millis, parse_date, parse_dt
from ucs_graphql.metadata.model import parse_extension_schema
from ucs_graphql.metadata.records import validate_record


@pytest.mark.parametrize("text, expected", [
    ("2009-05-07T12:05:20.157Z", "2009-05-07T12:05:20.157Z"),
    ("2009-05-07T12:05:20.157", "2009-05-07T12:05:20.157Z"),
    ("2009-05-07T12:05:20", "2009-05-07T12:05:20.000Z"),
    ("2009-05-07T12:05:20.1Z", "2009-05-07T12:05:20.100Z"),
    ("2009-05-07T14:05:20.000+02:00", "2009-05-07T12:05:20.000Z"),
    ("2009-05-07T12:05", "2009-05-07T12:05:00.000Z"),
])
def test_datetimes_on_the_wire(text, expected):
    assert format_dt(parse_dt(text)) == expected


@pytest.mark.parametrize("text", ["2009-13-07T12:05:20Z", "yesterday", "2009-05-07T25:00:00", ""])
def test_bad_datetimes_are_refused(text):
    with pytest.raises(ValueError):
        parse_dt(text)


def test_format_is_utc_with_millis():
    assert format_dt(datetime(2010, 2, 24, 15, 56, 46, 369999, tzinfo=UTC)) == "2010-02-24T15:56:46.369Z"
    assert parse_date("1981-03-17T02:00:00.000Z").isoformat() == "1981-03-17"


@pytest.mark.parametrize("ms", [
    0, -1, -999, -1000, -1001, 999, 1000, 1001, 1_577_836_799_999, 1_577_836_800_000, 1_266_940_606_369,
    -2_208_988_800_000, -2_208_988_800_001, 7_258_118_399_999, 7_258_118_400_000, 253_402_300_799_999,
])
def test_milliseconds_format_as_their_datetime(ms):
    # The text up to the milliseconds is kept per second: formatting a neighbour first must not leak into it.
    for neighbour in (ms - 1, ms + 1, ms - 1000, ms):
        if -62_135_596_800_000 <= neighbour <= 253_402_300_799_999:
            format_ms(neighbour)
    assert format_ms(ms) == format_dt(from_millis(ms))


def test_names():
    assert check_name("name", "a_1", 26) == "a_1"
    with pytest.raises(MissingParameter):
        check_name("name", "", 26)
    with pytest.raises(BadParameter, match="26"):
        check_name("name", "a" * 27, 26)
    with pytest.raises(BadParameter, match="must start"):
        check_name("name", "_a", 26)
    with pytest.raises(ReservedWord) as err:
        check_name("name", "Select", 26)
    assert err.value.description == "bad parameter 'name' reason : 'Select' keyword is not authorized."


SCHEMA = parse_extension_schema({
    "name": "Phone", "type": "multi-valued",
    "attributes": [
        {"name": "PhoneType", "type": "integer", "default": 0},
        {"name": "PhoneNumber", "type": "string", "length": 15, "mandatory": True},
        {"name": "active", "type": "boolean"},
        {"name": "since", "type": "datetime"},
        {"name": "price", "type": "currency"},
        {"name": "big", "type": "long"},
    ],
    "unique": ["PhoneNumber"],
}, "profile")


def test_record_validation_applies_defaults_and_coerces():
    rec = validate_record(SCHEMA, {"phonenumber": "555", "active": "true", "since": "2010-06-03T08:48:18.257",
                                   "price": "12.5", "big": 2**40}, check_reserved_values=True)
    assert rec == {"PhoneNumber": "555", "active": True, "since": "2010-06-03T08:48:18.257Z", "price": 12.5,
                   "big": 2**40, "PhoneType": 0}


@pytest.mark.parametrize("record, fragment", [
    ({}, "Phone.PhoneNumber"),
    ({"PhoneNumber": "1" * 16}, "15"),
    ({"PhoneNumber": 5}, "not a string"),
    ({"PhoneNumber": "1", "PhoneType": 2**31}, "out of range"),
    ({"PhoneNumber": "1", "active": "maybe"}, "boolean"),
    ({"PhoneNumber": "1", "since": "soon"}, "date/time"),
    ({"PhoneNumber": "1", "nope": 1}, "'nope' is not an attribute"),
    ({"PhoneNumber": "select"}, "keyword is not authorized"),
])
def test_record_validation_errors(record, fragment):
    with pytest.raises(BadParameter, match=fragment):
        validate_record(SCHEMA, record, check_reserved_values=True)


def test_reserved_value_check_can_be_switched_off():
    assert validate_record(SCHEMA, {"PhoneNumber": "select"}, check_reserved_values=False)["PhoneNumber"] == "select"


def test_partial_records_skip_mandatory_and_defaults():
    assert validate_record(SCHEMA, {"active": False}, check_reserved_values=True, partial=True) == {"active": False}


@pytest.mark.parametrize("text, expected", [
    (b'{"a": 18446744073709551616}', {"a": 2**64}),
    (b'[-9223372036854775809, 1.5, "12345678901234567890"]', [-(2**63) - 1, 1.5, "12345678901234567890"]),
    (b'{"a": 12}', {"a": 12}),
])
def test_client_json_keeps_integers_exact(text, expected):
    got = jsonio.loads_request(text)
    assert got == expected and [type(v) for v in (got.values() if isinstance(got, dict) else got)] == [
        type(v) for v in (expected.values() if isinstance(expected, dict) else expected)]


@pytest.mark.parametrize("text", [b'{"a": 1', b'[NaN, 12345678901234567890]', b'{"a": 1e400}'])
def test_client_json_refuses_what_is_not_json(text):
    with pytest.raises(MalformedRequest):
        jsonio.loads_request(text)
