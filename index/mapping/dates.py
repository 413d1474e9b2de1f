"""Dates: parsing and formatting with OpenSearch date formats, and date math.

Owns `parse_date`, `format_date` and `parse_date_math` (docs/contracts.md §2): named formats
(strict_date_optional_time, epoch_millis, basic_date, ...), Java-style patterns
("yyyy-MM-dd HH:mm:ss"), "||" alternatives, time zones (offsets and IANA names), and date math
with rounding (`now-1d/d`, `2020-01-01||+1M/M`). Every instant is an int of epoch milliseconds
UTC. It must never know about fields or documents beyond naming the value in an error.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from index.errors import MapperParsingError

DEFAULT_DATE_FORMAT = "strict_date_optional_time||epoch_millis"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MILLISECOND = timedelta(milliseconds=1)
_MONTH_NAMES_SHORT = [name.lower() for name in calendar.month_abbr]
_MONTH_NAMES_FULL = [name.lower() for name in calendar.month_name]


class DateParseFailure(Exception):
    """Internal: one alternative did not match (the caller tries the next one)."""


# -- time zones -------------------------------------------------------------------------------
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$")


@lru_cache(maxsize=256)
def parse_time_zone(name: str) -> tzinfo:
    """`Z`, `UTC`, `+01:00`, `-0530`, `Europe/Paris`, ... as a tzinfo; MapperParsingError if unknown."""
    if name in ("Z", "z", "UTC", "GMT", "UT", "Etc/UTC"):
        return timezone.utc
    match = _OFFSET.match(name)
    if match:
        sign, hours, minutes, seconds = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes or 0), seconds=int(seconds or 0))
        if offset > timedelta(hours=18):
            raise MapperParsingError(f"time zone offset [{name}] is out of range: must be within +/-18:00")
        return timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise MapperParsingError(f"unknown time zone id [{name}]") from None


# -- parsed components -----------------------------------------------------------------------
@dataclass(slots=True)
class _Components:
    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_of_year: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    nanosecond: int | None = None
    pm: bool | None = None
    zone: tzinfo | None = None


def _to_millis(components: _Components, default_zone: tzinfo, round_up: bool) -> int:
    """Epoch ms of the components; missing fields are the period's start, or its end if round_up."""
    year = components.year if components.year is not None else 1970
    if components.day_of_year is not None:
        base = datetime(year, 1, 1) + timedelta(days=components.day_of_year - 1)
        month, day = base.month, base.day
        if base.year != year:
            raise DateParseFailure("day of year out of range")
    else:
        month = components.month if components.month is not None else (12 if round_up else 1)
        if components.day is not None:
            day = components.day
        elif round_up:
            day = calendar.monthrange(year, month)[1] if 1 <= month <= 12 else 0
        else:
            day = 1
    hour = components.hour
    if hour is not None and components.pm is not None:
        hour = hour % 12 + (12 if components.pm else 0)
    hour = hour if hour is not None else (23 if round_up else 0)
    minute = components.minute if components.minute is not None else (59 if round_up else 0)
    second = components.second if components.second is not None else (59 if round_up else 0)
    nanosecond = components.nanosecond if components.nanosecond is not None else (
        999_999_999 if round_up else 0)
    try:
        local = datetime(year, month, day, hour, minute, second, nanosecond // 1000)
    except ValueError as error:
        raise DateParseFailure(str(error)) from None
    zone = components.zone or default_zone
    aware = local.replace(tzinfo=zone)
    return (aware - _EPOCH) // _ONE_MILLISECOND


# -- the ISO parser behind strict_date_optional_time -----------------------------------------
_ZONE = r"(?P<zone>Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)"  # seconds: historical zones (LMT) have them


def _iso_pattern(strict: bool) -> re.Pattern[str]:
    two = r"\d{2}" if strict else r"\d{1,2}"
    year = r"\d{4}" if strict else r"[+-]?\d{1,9}"  # strict: exactly four digits, as OpenSearch
    return re.compile(
        rf"(?P<year>{year})(?:-(?P<month>{two})(?:-(?P<day>{two})"
        rf"(?:T(?P<hour>{two})(?::(?P<minute>{two})(?::(?P<second>{two})(?:[.,](?P<fraction>\d{{1,9}}))?)?)?"
        rf"{_ZONE}?)?)?)?"
    )


_ISO_STRICT = _iso_pattern(True)
_ISO_LENIENT = _iso_pattern(False)


def _components_from_match(match: re.Match[str]) -> _Components:
    groups = match.groupdict()
    components = _Components()
    for name in ("year", "month", "day", "hour", "minute", "second", "day_of_year"):
        if groups.get(name) is not None:
            setattr(components, name, int(groups[name]))
    if groups.get("two_digit_year") is not None:
        components.year = 2000 + int(groups["two_digit_year"])
    if groups.get("fraction") is not None:
        components.nanosecond = int(groups["fraction"].ljust(9, "0")[:9])
    for name in ("month_short", "month_full"):
        if groups.get(name) is not None:
            names = _MONTH_NAMES_SHORT if name == "month_short" else _MONTH_NAMES_FULL
            components.month = names.index(groups[name].lower())
    if groups.get("ampm") is not None:
        components.pm = groups["ampm"].upper() == "PM"
    if groups.get("zone") is not None:
        components.zone = parse_time_zone(groups["zone"])
    if groups.get("zone_id") is not None:
        components.zone = parse_time_zone(groups["zone_id"])
    if components.month is not None and not 1 <= components.month <= 12:
        raise DateParseFailure("month out of range")
    return components


# -- Java-style patterns ---------------------------------------------------------------------
_PATTERN_TOKEN = re.compile(r"'(?:[^']|'')*'|\[|\]|([A-Za-z])\1*|.", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _CompiledPattern:
    regex: re.Pattern[str]
    formatter: Callable[[datetime], str]


def _compile_java_pattern(pattern: str) -> _CompiledPattern:
    regex_parts: list[str] = []
    format_parts: list[Callable[[datetime], str]] = []
    optional_depth = 0
    used_groups: set[str] = set()

    def group(name: str, body: str) -> str:
        if name in used_groups:
            return f"(?:{body})"
        used_groups.add(name)
        return f"(?P<{name}>{body})"

    for match in _PATTERN_TOKEN.finditer(pattern):
        token = match.group()
        if token == "[":
            regex_parts.append("(?:")
            optional_depth += 1
            continue
        if token == "]":
            if optional_depth == 0:
                raise MapperParsingError(f"Invalid format: [{pattern}]: unbalanced ']'")
            regex_parts.append(")?")
            optional_depth -= 1
            continue
        if token.startswith("'"):
            literal = token[1:-1].replace("''", "'") if len(token) > 2 else "'"
            regex_parts.append(re.escape(literal))
            if optional_depth == 0:
                format_parts.append(lambda _moment, text=literal: text)
            continue
        letter, count = token[0], len(token)
        if not letter.isalpha():
            regex_parts.append(re.escape(token))
            if optional_depth == 0:
                format_parts.append(lambda _moment, text=token: text)
            continue
        at_top = optional_depth == 0

        def number(name: str, width_if_padded: int, attribute: Callable[[datetime], int]) -> None:
            body = rf"\d{{{count}}}" if count >= 2 else rf"\d{{1,{width_if_padded}}}"
            regex_parts.append(group(name, body))
            if at_top:
                format_parts.append(lambda moment, attribute=attribute, count=count: str(attribute(moment)).zfill(count))

        if letter in "yuY":
            if count == 2:
                regex_parts.append(group("two_digit_year", r"\d{2}"))
                if at_top:
                    format_parts.append(lambda moment: str(moment.year % 100).zfill(2))
            else:
                regex_parts.append(group("year", r"[+-]?\d{4}" if count == 4 else rf"[+-]?\d{{{count},9}}"))
                if at_top:
                    format_parts.append(lambda moment, count=count: str(moment.year).zfill(count))
        elif letter in "ML":
            if count >= 4:
                regex_parts.append(group("month_full", "|".join(name for name in calendar.month_name if name)))
                if at_top:
                    format_parts.append(lambda moment: calendar.month_name[moment.month])
            elif count == 3:
                regex_parts.append(group("month_short", "|".join(name for name in calendar.month_abbr if name)))
                if at_top:
                    format_parts.append(lambda moment: calendar.month_abbr[moment.month])
            else:
                number("month", 2, lambda moment: moment.month)
        elif letter == "d":
            number("day", 2, lambda moment: moment.day)
        elif letter == "D":
            number("day_of_year", 3, lambda moment: moment.timetuple().tm_yday)
        elif letter in "Hk":
            number("hour", 2, lambda moment: moment.hour)
        elif letter in "hK":
            number("hour", 2, lambda moment: (moment.hour % 12) or 12)
        elif letter == "m":
            number("minute", 2, lambda moment: moment.minute)
        elif letter == "s":
            number("second", 2, lambda moment: moment.second)
        elif letter in "Sn":
            regex_parts.append(group("fraction", rf"\d{{1,{max(count, 3) if letter == 'n' else count}}}"
                                     if letter == "n" else rf"\d{{{count}}}"))
            if at_top:
                format_parts.append(lambda moment, count=count: str(
                    getattr(moment, "nanosecond", moment.microsecond * 1000)).zfill(9)[:count])
        elif letter == "a":
            regex_parts.append(group("ampm", "AM|PM|am|pm"))
            if at_top:
                format_parts.append(lambda moment: "PM" if moment.hour >= 12 else "AM")
        elif letter == "E":
            names = calendar.day_name if count >= 4 else calendar.day_abbr
            regex_parts.append(f"(?:{'|'.join(names)})")
            if at_top:
                format_parts.append(lambda moment, names=names: names[moment.weekday()])
        elif letter in "ZXx":
            regex_parts.append(group("zone", r"Z|[+-]\d{2}(?::?\d{2})?"))
            if at_top:
                # java.time: X/x×1 "+01" (minutes only if non-zero), ×2 "+0100", ×3 "+01:00"; Z×1-3
                # "+0100", Z×5 "+01:00". X and Z×5 print "Z" for a zero offset, x and Z×1-3 do not.
                colon = letter in "Xx" and count >= 3 or letter == "Z" and count >= 5
                zero_as_z = letter == "X" or (letter == "Z" and count >= 5)
                hours_only = letter in "Xx" and count == 1

                def zone_text(moment: datetime, colon: bool = colon, zero_as_z: bool = zero_as_z,
                              hours_only: bool = hours_only) -> str:
                    offset = moment.utcoffset() or timedelta(0)
                    if offset == timedelta(0) and zero_as_z:
                        return "Z"
                    total = int(offset.total_seconds()) // 60
                    sign = "+" if total >= 0 else "-"
                    hours, minutes = divmod(abs(total), 60)
                    if hours_only and minutes == 0:
                        return f"{sign}{hours:02d}"
                    return f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
                format_parts.append(zone_text)
        elif letter in "zV":
            regex_parts.append(group("zone_id", r"[A-Za-z][A-Za-z0-9_/+\-]*"))
            if at_top:
                format_parts.append(lambda moment: str(moment.tzinfo) if moment.tzinfo else "UTC")
        else:
            raise MapperParsingError(f"Invalid format: [{pattern}]: Unknown pattern letter: {letter}")
    if optional_depth:
        raise MapperParsingError(f"Invalid format: [{pattern}]: unbalanced '['")
    compiled_regex = re.compile("".join(regex_parts), re.IGNORECASE)
    return _CompiledPattern(compiled_regex, lambda moment: "".join(part(moment) for part in format_parts))


# -- named formats -----------------------------------------------------------------------------
_NAMED_PATTERNS = {
    "basic_date": "yyyyMMdd",
    "basic_date_time": "yyyyMMdd'T'HHmmss.SSSZ",
    "basic_date_time_no_millis": "yyyyMMdd'T'HHmmssZ",
    "basic_ordinal_date": "yyyyDDD",
    "basic_time": "HHmmss.SSSZ",
    "basic_time_no_millis": "HHmmssZ",
    "date": "yyyy-MM-dd", "strict_date": "yyyy-MM-dd",
    "date_hour": "yyyy-MM-dd'T'HH", "strict_date_hour": "yyyy-MM-dd'T'HH",
    "date_hour_minute": "yyyy-MM-dd'T'HH:mm", "strict_date_hour_minute": "yyyy-MM-dd'T'HH:mm",
    "date_hour_minute_second": "yyyy-MM-dd'T'HH:mm:ss",
    "strict_date_hour_minute_second": "yyyy-MM-dd'T'HH:mm:ss",
    "date_hour_minute_second_millis": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "strict_date_hour_minute_second_millis": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "date_hour_minute_second_fraction": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "strict_date_hour_minute_second_fraction": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "date_time": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "strict_date_time": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "date_time_no_millis": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "strict_date_time_no_millis": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "hour": "HH", "strict_hour": "HH", "hour_minute": "HH:mm", "strict_hour_minute": "HH:mm",
    "hour_minute_second": "HH:mm:ss", "strict_hour_minute_second": "HH:mm:ss",
    "hour_minute_second_millis": "HH:mm:ss.SSS", "strict_hour_minute_second_millis": "HH:mm:ss.SSS",
    "ordinal_date": "yyyy-DDD", "strict_ordinal_date": "yyyy-DDD",
    "time": "HH:mm:ss.SSSXXX", "strict_time": "HH:mm:ss.SSSXXX",
    "time_no_millis": "HH:mm:ssXXX", "strict_time_no_millis": "HH:mm:ssXXX",
    "year": "yyyy", "strict_year": "yyyy", "year_month": "yyyy-MM", "strict_year_month": "yyyy-MM",
    "year_month_day": "yyyy-MM-dd", "strict_year_month_day": "yyyy-MM-dd",
}
_ISO_NAMES = {"strict_date_optional_time": True, "strict_date_optional_time_nanos": True,
              "date_optional_time": False, "iso8601": False}
_EPOCH_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class _Alternative:
    name: str
    kind: str  # "epoch_millis" | "epoch_second" | "iso" | "pattern"
    regex: re.Pattern[str] | None = None
    formatter: Callable[[datetime], str] | None = None


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z])([A-Z])", lambda match: "_" + match.group(1).lower(), name)


@lru_cache(maxsize=512)
def _compile_format(date_format: str) -> tuple[_Alternative, ...]:
    alternatives: list[_Alternative] = []
    for raw_name in date_format.split("||"):
        name = raw_name.strip()
        if name.startswith("8") and len(name) > 1:
            name = name[1:]  # Elasticsearch 6.8/7 marked java-time patterns with a leading "8"
        snake = _snake_case(name)
        if snake != name and (snake in _NAMED_PATTERNS or snake in _ISO_NAMES or snake.startswith("epoch_")):
            name = snake  # the camelCase (Joda) spelling of a named format, e.g. strictDateOptionalTime
        if not name:
            raise MapperParsingError(f"Invalid format: [{date_format}]: empty alternative")
        if name in ("epoch_millis", "epoch_second"):
            alternatives.append(_Alternative(name, name))
        elif name in _ISO_NAMES:
            alternatives.append(_Alternative(name, "iso", _ISO_STRICT if _ISO_NAMES[name] else _ISO_LENIENT))
        else:
            compiled = _compile_java_pattern(_NAMED_PATTERNS.get(name, name))
            alternatives.append(_Alternative(name, "pattern", compiled.regex, compiled.formatter))
    return tuple(alternatives)


def validate_date_format(date_format: str) -> None:
    """MapperParsingError if the format string does not compile (used by mapping parsing)."""
    _compile_format(date_format)


def _parse_with(value: Any, date_format: str, default_zone: tzinfo, round_up: bool) -> int:
    alternatives = _compile_format(date_format)
    if isinstance(value, bool):
        raise MapperParsingError(f"failed to parse date field [{value}] with format [{date_format}]")
    text = value if isinstance(value, str) else (
        repr(value) if isinstance(value, float) else str(value))
    for alternative in alternatives:
        try:
            if alternative.kind in ("epoch_millis", "epoch_second"):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    number = value
                elif _EPOCH_NUMBER.fullmatch(text):
                    number = float(text) if "." in text else int(text)
                else:
                    continue
                if alternative.kind == "epoch_second":
                    number = number * 1000
                return int(number // 1) if isinstance(number, float) else int(number)
            match = alternative.regex.fullmatch(text)  # type: ignore[union-attr]
            if match is None:
                continue
            return _to_millis(_components_from_match(match), default_zone, round_up)
        except (DateParseFailure, OverflowError, ValueError):
            continue
    raise MapperParsingError(f"failed to parse date field [{text}] with format [{date_format}]")


DEFAULT_DATE_NANOS_FORMAT = "strict_date_optional_time_nanos||epoch_millis"
MAX_NANOS = 2 ** 63 - 1   # 2262-04-11T23:47:16.854775807Z: the last instant a long of nanoseconds holds
_NANOS_PER_MILLI = 1_000_000


def _sub_millisecond_nanos(value: Any, date_format: str) -> int:
    """The nanoseconds below the millisecond that ``value`` names (0 when it names none): the
    fraction of an ISO/pattern date past its third digit, or of an epoch_millis decimal."""
    if isinstance(value, bool):
        return 0
    text = value if isinstance(value, str) else (repr(value) if isinstance(value, float) else str(value))
    for alternative in _compile_format(date_format):
        try:
            if alternative.kind in ("epoch_millis", "epoch_second"):
                if not _EPOCH_NUMBER.fullmatch(text):
                    continue
                whole, _, fraction = text.partition(".")
                if alternative.kind == "epoch_millis":
                    return int(fraction[:6].ljust(6, "0")) if fraction else 0
                nanos_of_second = int(fraction[:9].ljust(9, "0")) if fraction else 0
                return nanos_of_second % _NANOS_PER_MILLI
            match = alternative.regex.fullmatch(text)  # type: ignore[union-attr]
            if match is None:
                continue
            nanosecond = _components_from_match(match).nanosecond
            return 0 if nanosecond is None else nanosecond % _NANOS_PER_MILLI
        except (DateParseFailure, ValueError):
            continue
    return 0


def parse_date_nanos(value: Any, date_format: str = DEFAULT_DATE_NANOS_FORMAT) -> int:
    """Epoch nanoseconds UTC of a ``date_nanos`` value; MapperParsingError outside 1970..2262 with
    OpenSearch's wording (a long of nanoseconds since the epoch holds nothing else)."""
    millis = parse_date(value, date_format)
    text = value if isinstance(value, str) else str(value)
    if millis < 0:
        raise MapperParsingError(f"date[{text}] is before the epoch in 1970 and cannot be stored in nanosecond"
                                 f" resolution")
    nanos = millis * _NANOS_PER_MILLI + _sub_millisecond_nanos(value, date_format)
    if nanos > MAX_NANOS:
        raise MapperParsingError(f"date[{text}] is after 2262-04-11T23:47:16.854775807 and cannot be stored in"
                                 f" nanosecond resolution")
    return nanos


class _NanoMoment(datetime):
    """A datetime that also carries its nanosecond of the second, for `S` fields past six digits."""

    nanosecond: int


def format_date_nanos(epoch_nanos: int, date_format: str = DEFAULT_DATE_NANOS_FORMAT) -> str:
    """A nanosecond value as the format's first alternative prints it: epoch_millis keeps the
    sub-millisecond digits as a decimal ("1540815132123.456789"), a `_nanos` ISO format all nine
    fraction digits, other formats print the millisecond."""
    millis, sub_millis = divmod(int(epoch_nanos), _NANOS_PER_MILLI)
    alternative = _compile_format(date_format)[0]
    if alternative.kind == "epoch_millis":
        return str(millis) if not sub_millis else f"{millis}.{sub_millis:06d}".rstrip("0")
    if alternative.kind not in ("iso", "epoch_second") and alternative.formatter is not None:
        try:
            moment = _EPOCH + timedelta(milliseconds=millis)
            nano_moment = _NanoMoment(moment.year, moment.month, moment.day, moment.hour, moment.minute,
                                      moment.second, moment.microsecond, tzinfo=moment.tzinfo)
            nano_moment.nanosecond = (millis % 1000) * _NANOS_PER_MILLI + sub_millis
            return alternative.formatter(nano_moment)
        except (OverflowError, ValueError):
            pass
    text = format_date(millis, date_format)
    first_name = date_format.split("||")[0].strip()
    if alternative.kind == "iso" and first_name.endswith("_nanos") and text.endswith("Z"):
        return f"{text[:-1]}{sub_millis:06d}".rstrip("0").rstrip(".") + "Z" if sub_millis else text
    return text


def parse_date(value: Any, date_format: str = DEFAULT_DATE_FORMAT) -> int:
    """Epoch milliseconds UTC of a date value (a string, or a number for epoch formats)."""
    return _parse_with(value, date_format, timezone.utc, False)


def format_date(epoch_millis: int, date_format: str = DEFAULT_DATE_FORMAT,
                time_zone: str | None = None) -> str:
    """The value as the first alternative of the format prints it (as OpenSearch's docvalue_fields
    and aggregation key_as_string do)."""
    alternative = _compile_format(date_format)[0]
    if alternative.kind == "epoch_millis":
        return str(int(epoch_millis))
    if alternative.kind == "epoch_second":
        return str(int(epoch_millis) // 1000)
    zone = parse_time_zone(time_zone) if time_zone else timezone.utc
    try:
        moment = (_EPOCH + timedelta(milliseconds=int(epoch_millis))).astimezone(zone)
    except (OverflowError, ValueError):
        # beyond Python's years 1..9999: print the number rather than fail a whole response
        return str(int(epoch_millis))
    if alternative.kind == "iso":
        text = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}"
                f":{moment.second:02d}.{moment.microsecond // 1000:03d}")  # strftime does not pad years < 1000
        offset = moment.utcoffset() or timedelta(0)
        if offset == timedelta(0):
            return text + "Z"
        total_seconds = int(offset.total_seconds())
        sign = "+" if total_seconds >= 0 else "-"
        hours, remainder = divmod(abs(total_seconds), 3600)
        minutes, seconds = divmod(remainder, 60)
        return f"{text}{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")
    return alternative.formatter(moment)  # type: ignore[misc]


# -- date math ---------------------------------------------------------------------------------
_MATH_STEP = re.compile(r"([+-])(\d*)([yMwdhHms])|/([yMwdhHms])")


def _add(moment: datetime, sign: int, amount: int, unit: str) -> datetime:
    if unit in ("y", "M"):
        months = amount * (12 if unit == "y" else 1) * sign
        month_index = moment.month - 1 + months
        year = moment.year + month_index // 12
        month = month_index % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    if unit in ("w", "d"):
        # calendar days in the zone (a day across a DST change is 23 or 25 hours), like java.time
        local = moment.replace(tzinfo=None) + timedelta(seconds=seconds * amount * sign)
        return local.replace(tzinfo=moment.tzinfo)
    return (moment.astimezone(timezone.utc) + timedelta(seconds=seconds * amount * sign)).astimezone(moment.tzinfo)


def _round_down(moment: datetime, unit: str) -> datetime:
    naive = moment.replace(tzinfo=None)
    if unit == "y":
        naive = naive.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "M":
        naive = naive.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "w":
        naive = (naive - timedelta(days=naive.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "d":
        naive = naive.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit in ("h", "H"):
        naive = naive.replace(minute=0, second=0, microsecond=0)
    elif unit == "m":
        naive = naive.replace(second=0, microsecond=0)
    elif unit == "s":
        naive = naive.replace(microsecond=0)
    return naive.replace(tzinfo=moment.tzinfo)


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_MILLISECOND


def parse_date_math(expression: Any, now_millis: int, date_format: str | None = None,
                    time_zone: str | None = None, round_up: bool = False) -> int:
    """Epoch ms of a date-math expression: `now`, `now-1d/d`, `2020-01-01||+1M/M`, or a date.

    round_up (for `lte` and `gt`) rounds to the last millisecond of the rounding unit, and fills
    fields a date leaves out with their maximum ("2020-01" ≤ → 2020-01-31T23:59:59.999).
    """
    date_format = date_format or DEFAULT_DATE_FORMAT
    zone = parse_time_zone(time_zone) if time_zone else timezone.utc
    if not isinstance(expression, str):
        return _parse_with(expression, date_format, zone, round_up)
    if expression.startswith("now"):
        base_millis = int(now_millis)
        math = expression[3:]
    else:
        date_part, separator, math = expression.partition("||")
        if not separator:
            return _parse_with(expression, date_format, zone, round_up)
        base_millis = _parse_with(date_part, date_format, zone, False)
    try:
        moment = (_EPOCH + timedelta(milliseconds=base_millis)).astimezone(zone)
        position = 0
        while position < len(math):
            step = _MATH_STEP.match(math, position)
            if step is None:
                raise MapperParsingError(f"failed to parse date field [{expression}] with format"
                                         f" [{date_format}]: invalid date math [{math[position:]}]")
            position = step.end()
            if step.group(4):
                unit = step.group(4)
                rounded = _round_down(moment, unit)
                if round_up:
                    rounded = (_add(rounded, 1, 1, unit).astimezone(timezone.utc) - _ONE_MILLISECOND).astimezone(zone)
                moment = rounded
            else:
                amount = int(step.group(2)) if step.group(2) else 1
                moment = _add(moment, 1 if step.group(1) == "+" else -1, amount, step.group(3))
        return _millis(moment)
    except (OverflowError, ValueError):
        raise MapperParsingError(f"failed to parse date field [{expression}]: the date is out of range") from None
