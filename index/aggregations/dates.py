"""Date arithmetic for date aggregations: time zones, bucket rounding and key formatting.

Owns: turning epoch-millisecond doc values into bucket keys (calendar and fixed intervals, in a
time zone, DST included) without a Python loop per document, the "next bucket" step used to
fill empty buckets, and the formatting of keys (`key_as_string`, `from_as_string`).

Must never: read segments, know about partials, or loop per document in Python. Time zone
offsets come from `zoneinfo` once per transition, not once per value: the transitions in the
range of the values are found by sampling daily and bisecting, then every value is mapped to
its offset with one `np.searchsorted`.
"""

from __future__ import annotations

import datetime as _datetime
import functools
import re
import zoneinfo
from dataclasses import dataclass

import numpy as np

from index.errors import AggregationError

MILLIS_PER_SECOND = 1000
MILLIS_PER_MINUTE = 60 * MILLIS_PER_SECOND
MILLIS_PER_HOUR = 60 * MILLIS_PER_MINUTE
MILLIS_PER_DAY = 24 * MILLIS_PER_HOUR

# calendar_interval spellings OpenSearch accepts, mapped to our unit names.
CALENDAR_UNITS = {
    "minute": "minute", "1m": "minute",
    "hour": "hour", "1h": "hour",
    "day": "day", "1d": "day",
    "week": "week", "1w": "week",
    "month": "month", "1M": "month",
    "quarter": "quarter", "1q": "quarter",
    "year": "year", "1y": "year",
}

_FIXED_UNIT_MILLIS = {"ms": 1, "s": MILLIS_PER_SECOND, "m": MILLIS_PER_MINUTE,
                      "h": MILLIS_PER_HOUR, "d": MILLIS_PER_DAY}
_FIXED_INTERVAL_PATTERN = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")
_OFFSET_PATTERN = re.compile(r"^\s*([+-]?)\s*(\d+)\s*(ms|s|m|h|d)\s*$")
_FIXED_ZONE_PATTERN = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_fixed_interval(text: str, key: str) -> int:
    """`30m` → 1 800 000. Raises AggregationError naming `key` for anything else."""
    match = _FIXED_INTERVAL_PATTERN.match(str(text))
    if match is None or int(match.group(1)) <= 0:
        raise AggregationError(
            f"failed to parse setting [{key}] with value [{text}] as a time value: "
            f"expected a positive number with a unit of ms, s, m, h or d")
    return int(match.group(1)) * _FIXED_UNIT_MILLIS[match.group(2)]


def parse_offset_millis(value, key: str) -> int:
    """An `offset` of `+6h`, `-1d` or a plain number of milliseconds."""
    if isinstance(value, bool):
        raise AggregationError(f"[{key}] must be a time value like +6h, got [{value}]")
    if isinstance(value, (int, float)):
        return int(value)
    match = _OFFSET_PATTERN.match(str(value))
    if match is None:
        raise AggregationError(f"failed to parse [{key}] with value [{value}]: expected a time "
                               f"value like +6h or -1d")
    sign = -1 if match.group(1) == "-" else 1
    return sign * int(match.group(2)) * _FIXED_UNIT_MILLIS[match.group(3)]


# --------------------------------------------------------------------------- time zones


@dataclass(frozen=True, slots=True)
class TimeZone:
    """A time zone as OpenSearch accepts it: `UTC`, `Z`, `+01:00`, `-0530` or an IANA name."""

    name: str
    fixed_offset_millis: int | None      # set for fixed-offset zones
    zone: zoneinfo.ZoneInfo | None       # set for IANA zones

    @property
    def is_utc(self) -> bool:
        return self.fixed_offset_millis == 0

    def offsets_for_utc(self, utc_millis: np.ndarray) -> np.ndarray:
        """UTC offset in ms (local = utc + offset) for each instant, vectorised."""
        utc_millis = np.asarray(utc_millis, dtype=np.int64)
        if self.fixed_offset_millis is not None or utc_millis.size == 0:
            return np.full(utc_millis.shape, self.fixed_offset_millis or 0, dtype=np.int64)
        low = int(utc_millis.min()) - 2 * MILLIS_PER_DAY
        high = int(utc_millis.max()) + 2 * MILLIS_PER_DAY
        # Whole 256-day blocks, so that nearby calls share one cache entry.
        transition_starts, offsets = _transitions(self.name, (low // MILLIS_PER_DAY) // 256 * 256,
                                                  (high // MILLIS_PER_DAY // 256 + 1) * 256)
        positions = np.searchsorted(transition_starts, utc_millis, side="right") - 1
        return offsets[positions]

    def offset_for_utc(self, utc_millis: int) -> int:
        if self.fixed_offset_millis is not None:
            return self.fixed_offset_millis
        return _zone_offset_millis(self.name, utc_millis)

    def local_to_utc(self, local_millis: np.ndarray) -> np.ndarray:
        """Local wall-clock ms → UTC ms, as java.time's ZonedDateTime.of does: in a DST overlap
        the earlier instant; in a gap the wall time is read with the offset before the gap
        (which lands as far past the transition as the wall time was)."""
        local_millis = np.asarray(local_millis, dtype=np.int64)
        if self.fixed_offset_millis is not None:
            return local_millis - self.fixed_offset_millis
        # Offsets change at most once a day, so the offsets a day before and a day after are
        # the only candidates for any wall time.
        offset_before = self.offsets_for_utc(local_millis - MILLIS_PER_DAY)
        offset_after = self.offsets_for_utc(local_millis + MILLIS_PER_DAY)
        candidate_before = local_millis - offset_before
        candidate_after = local_millis - offset_after
        valid_before = self.offsets_for_utc(candidate_before) == offset_before
        valid_after = self.offsets_for_utc(candidate_after) == offset_after
        return np.where(valid_before & valid_after, np.minimum(candidate_before, candidate_after),
                        np.where(valid_after & ~valid_before, candidate_after, candidate_before))


@functools.lru_cache(maxsize=256)
def parse_time_zone(name: str | None) -> TimeZone:
    if name is None or name in ("UTC", "Z", "GMT", "Etc/UTC", "+00:00", "-00:00"):
        return TimeZone("UTC", 0, None)
    text = str(name).strip()
    match = _FIXED_ZONE_PATTERN.match(text)
    if match:
        hours, minutes = int(match.group(2)), int(match.group(3) or 0)
        if hours > 18 or minutes > 59:
            raise AggregationError(f"invalid time_zone [{name}]: offset out of range")
        sign = -1 if match.group(1) == "-" else 1
        return TimeZone(text, sign * (hours * MILLIS_PER_HOUR + minutes * MILLIS_PER_MINUTE), None)
    try:
        zone = zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise AggregationError(f"Unknown time-zone ID: {name}") from None
    return TimeZone(text, None, zone)


def _zone_offset_millis(zone_name: str, utc_millis: int) -> int:
    zone = zoneinfo.ZoneInfo(zone_name)
    instant = _datetime.datetime.fromtimestamp(utc_millis / 1000, tz=_datetime.timezone.utc)
    return int(instant.astimezone(zone).utcoffset().total_seconds() * 1000)


@functools.lru_cache(maxsize=64)
def _transitions(zone_name: str, first_day: int, last_day: int) -> tuple[np.ndarray, np.ndarray]:
    """(start instants, offsets) of every constant-offset period between two epoch days.

    Sampled once a day and bisected to the millisecond where the offset changes: zones change
    offset at most once a day, and this costs one zoneinfo call per day of range instead of one
    per document. Cached per (zone, range)."""
    starts = [first_day * MILLIS_PER_DAY - 10**15]
    offsets = [_zone_offset_millis(zone_name, first_day * MILLIS_PER_DAY)]
    previous_instant = first_day * MILLIS_PER_DAY
    for day in range(first_day + 1, last_day + 1):
        instant = day * MILLIS_PER_DAY
        offset = _zone_offset_millis(zone_name, instant)
        if offset != offsets[-1]:
            low, high = previous_instant, instant   # offset(low) old, offset(high) new
            while high - low > 1:
                middle = (low + high) // 2
                if _zone_offset_millis(zone_name, middle) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            starts.append(high)
            offsets.append(offset)
        previous_instant = instant
    return np.asarray(starts, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


# --------------------------------------------------------------------------- rounding


@dataclass(frozen=True, slots=True)
class DateRounding:
    """How a date_histogram turns instants into bucket keys (UTC epoch ms)."""

    calendar_unit: str | None          # minute hour day week month quarter year
    fixed_interval_millis: int | None
    time_zone: TimeZone
    offset_millis: int = 0

    def round(self, utc_millis: np.ndarray) -> np.ndarray:
        values = np.asarray(utc_millis, dtype=np.int64) - self.offset_millis
        if values.size == 0:
            return values
        offsets = self.time_zone.offsets_for_utc(values)
        local = values + offsets
        if self.fixed_interval_millis is not None:
            local_keys = np.floor_divide(local, self.fixed_interval_millis) * self.fixed_interval_millis
            small = self.fixed_interval_millis <= MILLIS_PER_HOUR
        else:
            local_keys = _floor_local_to_unit(local, self.calendar_unit)
            small = self.calendar_unit in ("minute", "hour")
        if small:
            # Sub-hour buckets: keep each instant's own offset so both occurrences of a
            # repeated wall-clock hour (DST overlap) stay distinct buckets.
            keys = local_keys - offsets
        elif self.time_zone.fixed_offset_millis is not None:
            keys = local_keys - self.time_zone.fixed_offset_millis
        else:
            # Few distinct local keys among many values: convert each distinct key once.
            distinct_local_keys, inverse, _ = unique_inverse_counts(local_keys)
            keys = self.time_zone.local_to_utc(distinct_local_keys)[inverse]
        return keys + self.offset_millis

    def next_key(self, key_utc_millis: int) -> int:
        """The key of the bucket after the one starting at `key_utc_millis`."""
        # The next key is the key of the first instant after this bucket. Guess the bucket's
        # end from the nominal length; check it with two roundings; only around DST changes
        # (where the guess is off) search for the true end by bisection.
        key = key_utc_millis
        fixed_step = self.fixed_interval_millis or _FIXED_UNIT_STEPS.get(self.calendar_unit or "")
        if self.time_zone.fixed_offset_millis is not None and fixed_step is not None:
            return key + fixed_step        # no DST: every bucket has its nominal length
        base = key - self.offset_millis
        local = base + self.time_zone.offset_for_utc(base)
        if self.fixed_interval_millis is not None:
            step_local = local + self.fixed_interval_millis
        else:
            step_local = _add_one_unit(local, self.calendar_unit)
        high = max(key + (step_local - local), key + 1)
        if self._round_one(high - 1) == key and self._round_one(high) != key:
            return self._round_one(high)
        while self._round_one(high) == key:
            high = key + 2 * (high - key)
        low = key
        while high - low > 1:
            middle = (low + high) // 2
            if self._round_one(middle) == key:
                low = middle
            else:
                high = middle
        return self._round_one(high)

    def keys_between(self, first_key: int, last_key: int, limit: int) -> np.ndarray:
        """Every bucket key from first_key to last_key inclusive (both keys of this rounding),
        vectorised: candidate instants at the nominal step in local time (or a half-hour step
        for sub-hour buckets in zones with DST), rounded and deduplicated. Raises
        OverflowError when more than `limit` keys would be produced."""
        fixed_step = self.fixed_interval_millis or _FIXED_UNIT_STEPS.get(self.calendar_unit or "")
        if fixed_step is not None and self.time_zone.fixed_offset_millis is not None:
            if (last_key - first_key) // fixed_step + 1 > limit:
                raise OverflowError("too many buckets")
            return np.arange(first_key, last_key + 1, fixed_step, dtype=np.int64)
        base_first, base_last = first_key - self.offset_millis, last_key - self.offset_millis
        first_local = base_first + self.time_zone.offset_for_utc(base_first)
        last_local = base_last + self.time_zone.offset_for_utc(base_last)
        if self.calendar_unit in ("month", "quarter", "year"):
            months = {"month": 1, "quarter": 3, "year": 12}[self.calendar_unit]
            first_month = _month_index(first_local)
            last_month = _month_index(last_local)
            if (last_month - first_month) // months + 1 > limit:
                raise OverflowError("too many buckets")
            month_starts = np.arange(first_month, last_month + 1, months).astype("datetime64[M]")
            candidates_local = month_starts.astype("datetime64[D]").astype(np.int64) * MILLIS_PER_DAY
            candidates = self.time_zone.local_to_utc(candidates_local) + self.offset_millis
        elif fixed_step is not None and fixed_step > MILLIS_PER_HOUR:
            if (last_local - first_local) // fixed_step + 1 > limit:
                raise OverflowError("too many buckets")
            candidates_local = np.arange(first_local, last_local + fixed_step, fixed_step, dtype=np.int64)
            candidates = self.time_zone.local_to_utc(candidates_local) + self.offset_millis
        else:
            # Sub-hour and hourly buckets in a DST zone: bucket lengths vary by the DST shift,
            # so sample every min(step, 15 minutes) and keep the distinct keys.
            sample_step = min(fixed_step or MILLIS_PER_HOUR, 15 * MILLIS_PER_MINUTE)
            if (last_key - first_key) // (fixed_step or MILLIS_PER_HOUR) + 1 > limit:
                raise OverflowError("too many buckets")
            candidates = np.arange(first_key, last_key + 1, sample_step, dtype=np.int64)
        keys = np.unique(self.round(np.concatenate([candidates, [first_key, last_key]])))
        keys = keys[(keys >= first_key) & (keys <= last_key)]
        if keys.size > limit:
            raise OverflowError("too many buckets")
        return keys

    def _round_one(self, utc_millis: int) -> int:
        return int(self.round(np.asarray([utc_millis], dtype=np.int64))[0])


def unique_inverse_counts(values: np.ndarray):
    """np.unique(values, return_inverse=True, return_counts=True), in O(n) when the values are
    already non-decreasing (time-ordered segments make date keys so) instead of a sort."""
    values = np.asarray(values)
    if values.size and bool((values[1:] >= values[:-1]).all()):
        starts = np.ones(values.size, dtype=bool)
        starts[1:] = values[1:] != values[:-1]
        start_positions = np.flatnonzero(starts)
        counts = np.diff(np.append(start_positions, values.size))
        return values[start_positions], np.cumsum(starts) - 1, counts
    unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return unique, inverse.reshape(-1), counts


_FIXED_UNIT_STEPS = {"minute": MILLIS_PER_MINUTE, "hour": MILLIS_PER_HOUR, "day": MILLIS_PER_DAY,
                     "week": 7 * MILLIS_PER_DAY}


def _floor_local_to_unit(local_millis: np.ndarray, unit: str | None) -> np.ndarray:
    if unit == "minute":
        return np.floor_divide(local_millis, MILLIS_PER_MINUTE) * MILLIS_PER_MINUTE
    if unit == "hour":
        return np.floor_divide(local_millis, MILLIS_PER_HOUR) * MILLIS_PER_HOUR
    days = np.floor_divide(local_millis, MILLIS_PER_DAY)
    if unit == "day":
        return days * MILLIS_PER_DAY
    if unit == "week":
        # Day 0 (1970-01-01) was a Thursday; weeks start on Monday as in ISO 8601.
        return (days - np.mod(days + 3, 7)) * MILLIS_PER_DAY
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    if unit == "quarter":
        months = months - np.mod(months, 3)
    elif unit == "year":
        months = months - np.mod(months, 12)
    elif unit != "month":
        raise AggregationError(f"unknown calendar unit [{unit}]")
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) * MILLIS_PER_DAY


def _month_index(local_millis: int) -> int:
    return int(np.asarray([local_millis // MILLIS_PER_DAY]).astype("datetime64[D]")
               .astype("datetime64[M]").astype(np.int64)[0])


def _add_one_unit(local_millis: int, unit: str | None) -> int:
    step = {"minute": MILLIS_PER_MINUTE, "hour": MILLIS_PER_HOUR, "day": MILLIS_PER_DAY,
            "week": 7 * MILLIS_PER_DAY}.get(unit or "")
    if step is not None:
        return local_millis + step
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    month_index = int(np.asarray([local_millis // MILLIS_PER_DAY]).astype("datetime64[D]")
                      .astype("datetime64[M]").astype(np.int64)[0])
    start_of_next = np.asarray([month_index + months]).astype("datetime64[M]").astype("datetime64[D]")
    return int(start_of_next.astype(np.int64)[0]) * MILLIS_PER_DAY + (local_millis % MILLIS_PER_DAY)


# --------------------------------------------------------------------------- formatting

DEFAULT_DATE_FORMAT = "strict_date_optional_time||epoch_millis"

_NAMED_PATTERNS = {
    "strict_date_optional_time": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "iso8601": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "date_optional_time": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "strict_date_optional_time_nanos": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "strict_date_time": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "date_time": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "strict_date_time_no_millis": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "date_time_no_millis": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "strict_date": "yyyy-MM-dd", "date": "yyyy-MM-dd",
    "basic_date": "yyyyMMdd",
    "basic_date_time": "yyyyMMdd'T'HHmmss.SSSXX",
    "basic_date_time_no_millis": "yyyyMMdd'T'HHmmssXX",
    "strict_date_hour": "yyyy-MM-dd'T'HH", "date_hour": "yyyy-MM-dd'T'HH",
    "strict_date_hour_minute": "yyyy-MM-dd'T'HH:mm", "date_hour_minute": "yyyy-MM-dd'T'HH:mm",
    "strict_date_hour_minute_second": "yyyy-MM-dd'T'HH:mm:ss",
    "date_hour_minute_second": "yyyy-MM-dd'T'HH:mm:ss",
    "strict_date_hour_minute_second_millis": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "date_hour_minute_second_millis": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "strict_date_hour_minute_second_fraction": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "date_hour_minute_second_fraction": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "strict_hour_minute_second": "HH:mm:ss", "hour_minute_second": "HH:mm:ss",
    "strict_hour_minute": "HH:mm", "hour_minute": "HH:mm",
    "strict_hour": "HH", "hour": "HH",
    "strict_year_month_day": "yyyy-MM-dd", "year_month_day": "yyyy-MM-dd",
    "strict_year_month": "yyyy-MM", "year_month": "yyyy-MM",
    "strict_year": "yyyy", "year": "yyyy",
    "strict_time": "HH:mm:ss.SSSXXX", "time": "HH:mm:ss.SSSXXX",
    "strict_time_no_millis": "HH:mm:ssXXX", "time_no_millis": "HH:mm:ssXXX",
}

_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]
_DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_PATTERN_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", re.DOTALL)


def first_format(date_format: str | None) -> str:
    """The printer of a `a||b` format is its first alternative, as in OpenSearch."""
    return (date_format or DEFAULT_DATE_FORMAT).split("||")[0].strip()


@functools.lru_cache(maxsize=128)
def _compile_pattern(date_format: str) -> tuple:
    """Check a format once and return its tokens; AggregationError for unsupported letters."""
    name = date_format
    if name in ("epoch_millis", "epoch_second"):
        return (name,)
    pattern = _NAMED_PATTERNS.get(name, name)
    tokens = []
    for match in _PATTERN_TOKEN.finditer(pattern):
        token = match.group(0)
        if token.startswith("'"):
            tokens.append(("literal", token[1:-1].replace("''", "'") if token != "''" else "'"))
        elif match.group(1):
            letter = token[0]
            if letter not in "yuMLdHhmsSaEeZXxkKD":
                raise AggregationError(f"unsupported date format [{date_format}]: "
                                       f"unknown pattern letter [{letter}]")
            tokens.append(("field", token))
        else:
            tokens.append(("literal", token))
    return tuple(tokens)


def validate_date_format(date_format: str) -> None:
    _compile_pattern(first_format(date_format))


def format_epoch_millis(epoch_millis: int, date_format: str | None, time_zone: TimeZone) -> str:
    """Format an instant as OpenSearch prints dates (`2020-01-01T00:00:00.000Z` by default)."""
    name = first_format(date_format)
    try:
        tokens = _compile_pattern(name)
    except AggregationError:
        # A field mapping's format we cannot print: fall back to the default printer rather
        # than fail a search at render time (the agg's own `format` is checked at parse time).
        tokens = _compile_pattern("strict_date_optional_time")
    epoch_millis = int(epoch_millis)
    if tokens == ("epoch_millis",):
        return str(epoch_millis)
    if tokens == ("epoch_second",):
        sign = "-" if epoch_millis < 0 else ""
        seconds, millis = divmod(abs(epoch_millis), 1000)
        return f"{sign}{seconds}" if millis == 0 else f"{sign}{seconds}.{millis:03d}".rstrip("0")
    offset = time_zone.offset_for_utc(epoch_millis)
    local = _datetime.datetime(1970, 1, 1) + _datetime.timedelta(milliseconds=epoch_millis + offset)
    parts = []
    for kind, token in tokens:
        parts.append(token if kind == "literal" else _format_field(token, local, offset))
    return "".join(parts)


def _format_field(token: str, local: _datetime.datetime, offset_millis: int) -> str:
    letter, width = token[0], len(token)
    if letter in "yu":
        return f"{local.year % 100:02d}" if width == 2 else f"{local.year:0{max(width, 4)}d}"
    if letter in "ML":
        if width >= 4:
            return _MONTH_NAMES[local.month - 1]
        if width == 3:
            return _MONTH_NAMES[local.month - 1][:3]
        return f"{local.month:0{width}d}"
    if letter == "d":
        return f"{local.day:0{width}d}"
    if letter == "D":
        return f"{local.timetuple().tm_yday:0{width}d}"
    if letter == "H":
        return f"{local.hour:0{width}d}"
    if letter == "k":
        return f"{local.hour or 24:0{width}d}"
    if letter == "K":
        return f"{local.hour % 12:0{width}d}"
    if letter == "h":
        return f"{(local.hour % 12) or 12:0{width}d}"
    if letter == "m":
        return f"{local.minute:0{width}d}"
    if letter == "s":
        return f"{local.second:0{width}d}"
    if letter == "S":
        millis = f"{local.microsecond // 1000:03d}"
        return (millis + "0" * max(0, width - 3))[:width]
    if letter == "a":
        return "AM" if local.hour < 12 else "PM"
    if letter in "Ee":
        name = _DAY_NAMES[local.weekday()]
        return name if width >= 4 else name[:3]
    # Zone offsets: Z → +0100, ZZZZZ/XXX/xxx → +01:00, X/XX → +01/+0100; X prints "Z" at zero.
    if letter in "XZx":
        if letter == "X" and offset_millis == 0:
            return "Z"
        sign = "-" if offset_millis < 0 else "+"
        total_minutes = abs(offset_millis) // MILLIS_PER_MINUTE
        hours, minutes = divmod(total_minutes, 60)
        if letter == "Z":
            return f"{sign}{hours:02d}:{minutes:02d}" if width >= 5 else f"{sign}{hours:02d}{minutes:02d}"
        if width == 1:
            return f"{sign}{hours:02d}" + (f"{minutes:02d}" if minutes else "")
        if width == 2:
            return f"{sign}{hours:02d}{minutes:02d}"
        return f"{sign}{hours:02d}:{minutes:02d}"
    raise AggregationError(f"unsupported date pattern letter [{letter}]")


# --------------------------------------------------------------------------- parsing bounds

_ISO_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?$")


def parse_date_bound(value, *, now_millis: int | None, date_format: str | None,
                     time_zone: TimeZone, round_up: bool, key: str) -> int:
    """A date_range / extended_bounds value → epoch ms.

    Uses index.mapping.dates.parse_date_math when that module is present (it owns date math and
    custom formats); otherwise numbers, ISO 8601 dates and plain `now` are understood here."""
    if isinstance(value, bool):
        raise AggregationError(f"[{key}] expected a date, got [{value}]")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    try:
        from index.mapping import dates as mapping_dates   # owned by analysis+mapping
    except ImportError:
        mapping_dates = None
    if mapping_dates is not None and hasattr(mapping_dates, "parse_date_math"):
        try:
            return int(mapping_dates.parse_date_math(
                text, now_millis if now_millis is not None else _now_millis(),
                date_format=date_format, time_zone=None if time_zone.is_utc else time_zone.name,
                round_up=round_up))
        except Exception as error:   # their typed error: re-raise as ours, naming the key
            raise AggregationError(f"failed to parse date field [{text}] in [{key}]: "
                                   f"{getattr(error, 'reason', error)}") from None
    if text == "now":
        return now_millis if now_millis is not None else _now_millis()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    match = _ISO_DATE.match(text)
    if match is None:
        raise AggregationError(f"failed to parse date field [{text}] in [{key}]")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    local = _datetime.datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                               int(minute or 0), int(second or 0))
    millis = int((local - _datetime.datetime(1970, 1, 1)).total_seconds()) * 1000
    if fraction:
        millis += int((fraction + "000")[:3])
    if zone:
        zone_offset = parse_time_zone(zone).fixed_offset_millis or 0
        return millis - zone_offset
    return int(time_zone.local_to_utc(np.asarray([millis]))[0])


def parse_range_bound(value, *, now_millis: int | None, date_format: str | None, time_zone: TimeZone,
                      key: str) -> int:
    """A date_range ``from``/``to`` → epoch ms. A JSON number is read in the field's format as
    OpenSearch does: on an ``epoch_second`` field ``1000`` is second 1000, not millisecond 1000."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and date_format \
            and date_format.split("||")[0].strip() == "epoch_second":
        return int(value * 1000)
    return parse_date_bound(value, now_millis=now_millis, date_format=date_format, time_zone=time_zone,
                            round_up=False, key=key)


def _now_millis() -> int:
    return int(_datetime.datetime.now(tz=_datetime.timezone.utc).timestamp() * 1000)
