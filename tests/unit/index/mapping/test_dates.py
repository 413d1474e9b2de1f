"""parse_date, format_date and parse_date_math against OpenSearch's date semantics."""

import pytest

from index.errors import MapperParsingError
from index.mapping import format_date, parse_date, parse_date_math

JAN_1_2020 = 1577836800000


@pytest.mark.parametrize("value, expected", [
    ("2020-01-01", JAN_1_2020),
    ("2020-01-01T00:00:00Z", JAN_1_2020),
    ("2020-01-01T01:00:00+01:00", JAN_1_2020),
    ("2020-01-01T00:00:00.123Z", JAN_1_2020 + 123),
    ("2020-01-01T00:00:00.123456789Z", JAN_1_2020 + 123),
    ("2020", JAN_1_2020),
    ("2020-01-01T00", JAN_1_2020),
    (JAN_1_2020, JAN_1_2020),
    (str(JAN_1_2020), JAN_1_2020),
    (-1000, -1000),
])
def test_the_default_format_reads_iso_dates_and_epoch_millis(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["2020-1-1", "2020-13-01", "2020-02-30", "01/01/2020", "2020-01-01 10:00:00", "x"])
def test_the_default_format_refuses_what_strict_date_optional_time_refuses(value):
    with pytest.raises(MapperParsingError, match=r"failed to parse date field"):
        parse_date(value)


def test_date_optional_time_accepts_single_digit_months_and_days():
    assert parse_date("2020-1-1", "date_optional_time") == JAN_1_2020


@pytest.mark.parametrize("value, date_format, expected", [
    ("2020-01-02 03:04:05", "yyyy-MM-dd HH:mm:ss", JAN_1_2020 + 86400000 + 3 * 3600000 + 4 * 60000 + 5000),
    ("20200101", "basic_date", JAN_1_2020),
    ("20200101T000000.000Z", "basic_date_time", JAN_1_2020),
    ("1577836800", "epoch_second", JAN_1_2020),
    ("02/01/2020", "dd/MM/yyyy", JAN_1_2020 + 86400000),
    ("2020/01/01", "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd", JAN_1_2020),
    ("Jan 01 2020", "MMM dd yyyy", JAN_1_2020),
    ("2020-01-01T12:00:00", "yyyy-MM-dd'T'HH:mm:ss", JAN_1_2020 + 12 * 3600000),
    ("2020-01-01 09:00 PM", "yyyy-MM-dd hh:mm a", JAN_1_2020 + 21 * 3600000),
    ("2020-01-01T00:00:00+0100", "yyyy-MM-dd'T'HH:mm:ssZ", JAN_1_2020 - 3600000),
    ("2020-01-01[10]", "yyyy-MM-dd['['HH']']", JAN_1_2020 + 10 * 3600000),
    ("2020-01-01", "yyyy-MM-dd['T'HH]", JAN_1_2020),
])
def test_custom_and_named_formats_parse_to_epoch_millis(value, date_format, expected):
    assert parse_date(value, date_format) == expected


def test_format_date_prints_with_the_first_alternative():
    assert format_date(JAN_1_2020 + 5) == "2020-01-01T00:00:00.005Z"
    assert format_date(JAN_1_2020, "epoch_millis||strict_date_optional_time") == str(JAN_1_2020)
    assert format_date(JAN_1_2020 + 3723000, "yyyy/MM/dd HH:mm:ss") == "2020/01/01 01:02:03"
    assert format_date(JAN_1_2020, "strict_date_optional_time", time_zone="+01:00") == "2020-01-01T01:00:00.000+01:00"


NOW = parse_date("2020-03-15T10:20:30.400Z")


@pytest.mark.parametrize("expression, round_up, expected", [
    ("now", False, "2020-03-15T10:20:30.400Z"),
    ("now-1d", False, "2020-03-14T10:20:30.400Z"),
    ("now+1M", False, "2020-04-15T10:20:30.400Z"),
    ("now-1d/d", False, "2020-03-14T00:00:00.000Z"),
    ("now-1d/d", True, "2020-03-14T23:59:59.999Z"),
    ("now/M", True, "2020-03-31T23:59:59.999Z"),
    ("now/y", False, "2020-01-01T00:00:00.000Z"),
    ("now/w", False, "2020-03-09T00:00:00.000Z"),
    ("now/h", True, "2020-03-15T10:59:59.999Z"),
    ("now-2h/m", False, "2020-03-15T08:20:00.000Z"),
    ("2020-01-31||+1M", False, "2020-02-29T00:00:00.000Z"),
    ("2020-01-01||+1M/M", True, "2020-02-29T23:59:59.999Z"),
    ("2020-02", True, "2020-02-29T23:59:59.999Z"),
    ("2020-02-03", True, "2020-02-03T23:59:59.999Z"),
    ("2020-02-03", False, "2020-02-03T00:00:00.000Z"),
])
def test_date_math_adds_subtracts_and_rounds_down_or_up(expression, round_up, expected):
    assert format_date(parse_date_math(expression, NOW, round_up=round_up)) == expected


def test_date_math_rounds_in_the_given_time_zone():
    assert format_date(parse_date_math("now/d", NOW, time_zone="Europe/Paris")) == "2020-03-14T23:00:00.000Z"
    assert format_date(parse_date_math("now/d", NOW, time_zone="-05:00")) == "2020-03-15T05:00:00.000Z"


def test_a_date_without_an_offset_is_read_in_the_given_time_zone():
    assert parse_date_math("2020-01-01T00:00:00", NOW, time_zone="+02:00") == JAN_1_2020 - 7200000


def test_date_math_uses_the_field_format_for_the_anchor_date():
    assert parse_date_math("01/01/2020||+1d", NOW, date_format="dd/MM/yyyy") == JAN_1_2020 + 86400000


def test_bad_date_math_is_a_mapper_parsing_error():
    with pytest.raises(MapperParsingError):
        parse_date_math("now+1x", NOW)
    with pytest.raises(MapperParsingError):
        parse_date_math("now", NOW, time_zone="Mars/Olympus")


def test_camel_case_and_eight_prefixed_format_names_are_accepted():
    assert parse_date("2020-01-01", "strictDateOptionalTime") == JAN_1_2020
    assert parse_date("2020-01-01", "8yyyy-MM-dd") == JAN_1_2020
    assert parse_date("1577836800", "epochSecond") == JAN_1_2020


@pytest.mark.parametrize("pattern, time_zone, expected", [
    ("HH:mmZ", None, "00:00+0000"),
    ("HH:mmXXX", None, "00:00Z"),
    ("HH:mmXXX", "+05:30", "05:30+05:30"),
    ("HH:mmxx", None, "00:00+0000"),
    ("HH:mmX", "+02:00", "02:00+02"),
    ("HH:mmZZZZZ", "-01:00", "23:00-01:00"),
])
def test_zone_letters_print_as_java_time_prints_them(pattern, time_zone, expected):
    assert format_date(JAN_1_2020, pattern, time_zone=time_zone) == expected


def test_each_pattern_letter_keeps_its_own_width_when_formatting():
    assert format_date(JAN_1_2020 + 5 * 3600000 + 3 * 60000 + 7, "d/M/yyyy H:mm:ss.SSS") == "1/1/2020 5:03:00.007"
    assert format_date(JAN_1_2020, "yyyy-MM-dd'T'HH") == "2020-01-01T00"


def test_formatting_an_instant_beyond_year_9999_prints_the_number_instead_of_failing():
    assert format_date(10**16) == str(10**16)
    assert format_date(-(10**16), "yyyy-MM-dd") == str(-(10**16))


def test_date_math_beyond_the_supported_years_is_a_mapper_parsing_error():
    with pytest.raises(MapperParsingError, match="out of range"):
        parse_date_math("now+9000y", NOW)
