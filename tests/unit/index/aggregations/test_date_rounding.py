"""Date rounding and formatting against zoneinfo computed one value at a time."""

import datetime
import zoneinfo

import numpy as np
import pytest

from index.aggregations.dates import (
    MILLIS_PER_HOUR, DateRounding, format_epoch_millis, parse_time_zone)

UTC = datetime.timezone.utc
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Sao_Paulo", "Asia/Beirut", "+05:30", "-08:00"]
UNITS = ["day", "week", "month", "quarter", "year"]


def zone_of(name):
    if name[0] in "+-":
        sign = -1 if name[0] == "-" else 1
        hours, minutes = map(int, name[1:].split(":"))
        return datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))
    return zoneinfo.ZoneInfo(name)


def brute_round(epoch_millis: int, unit: str, zone_name: str) -> int:
    zone = zone_of(zone_name)
    local = datetime.datetime.fromtimestamp(epoch_millis / 1000, tz=UTC).astimezone(zone).replace(tzinfo=None)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        midnight -= datetime.timedelta(days=local.weekday())
    elif unit == "month":
        midnight = midnight.replace(day=1)
    elif unit == "quarter":
        midnight = midnight.replace(month=(local.month - 1) // 3 * 3 + 1, day=1)
    elif unit == "year":
        midnight = midnight.replace(month=1, day=1)
    # fold=0: the earlier instant in an overlap, the pre-gap offset in a gap (as java.time)
    return int(midnight.replace(tzinfo=zone, fold=0).timestamp() * 1000)


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("unit", UNITS)
def test_calendar_rounding_matches_zoneinfo_one_value_at_a_time(zone_name, unit):
    values = np.random.default_rng(hash((zone_name, unit)) % 2**32).integers(
        1_200_000_000_000, 1_700_000_000_000, 400)
    rounding = DateRounding(unit, None, parse_time_zone(zone_name), 0)
    expected = [brute_round(int(value), unit, zone_name) for value in values]
    assert rounding.round(values).tolist() == expected


@pytest.mark.parametrize("zone_name", ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize("unit", ["hour", "day", "month"])
def test_next_key_and_keys_between_give_exactly_the_buckets_that_rounding_produces(zone_name, unit):
    rounding = DateRounding(unit, None, parse_time_zone(zone_name), 0)
    if unit == "hour":   # windows around the spring and autumn changes of these zones in 2020
        windows = [(1_585_000_000_000, 1_586_500_000_000), (1_603_000_000_000, 1_604_500_000_000)]
    else:
        windows = [(1_584_000_000_000, 1_604_000_000_000)]
    for start, end in windows:
        every_key = sorted(set(rounding.round(np.arange(start, end, MILLIS_PER_HOUR // 2)).tolist()))
        walked = [every_key[0]]
        while walked[-1] < every_key[-1]:
            walked.append(rounding.next_key(walked[-1]))
        assert walked == every_key
        assert rounding.keys_between(every_key[0], every_key[-1], 100_000).tolist() == every_key


def test_day_buckets_across_a_dst_change_start_at_local_midnight():
    rounding = DateRounding("day", None, parse_time_zone("Europe/Paris"), 0)
    keys = rounding.round(np.asarray([1_585_470_000_000, 1_585_540_000_000])).tolist()
    assert keys == [1_585_436_400_000, 1_585_519_200_000]      # 23 hours apart
    assert format_epoch_millis(keys[1], None, parse_time_zone("Europe/Paris")) == \
        "2020-03-30T00:00:00.000+02:00"


def test_fixed_intervals_with_an_offset_shift_the_bucket_boundaries():
    rounding = DateRounding(None, 30 * 60_000, parse_time_zone("UTC"), 10 * 60_000)
    assert rounding.round(np.asarray([0, 9 * 60_000, 10 * 60_000, 45 * 60_000])).tolist() == [
        -20 * 60_000, -20 * 60_000, 10 * 60_000, 40 * 60_000]


def test_formats_print_like_opensearch():
    utc = parse_time_zone("UTC")
    moment = 1_577_934_245_123     # 2020-01-02T03:04:05.123Z
    assert format_epoch_millis(moment, None, utc) == "2020-01-02T03:04:05.123Z"
    assert format_epoch_millis(moment, "yyyy-MM-dd", utc) == "2020-01-02"
    assert format_epoch_millis(moment, "epoch_millis", utc) == str(moment)
    assert format_epoch_millis(moment, "epoch_second", utc) == "1577934245.123"
    assert format_epoch_millis(1_577_934_245_000, "epoch_second", utc) == "1577934245"
    assert format_epoch_millis(moment, "yyyy/MM/dd HH:mm:ss||epoch_millis", utc) == "2020/01/02 03:04:05"
    assert format_epoch_millis(moment, "MMM dd, yyyy 'at' hh a", utc) == "Jan 02, 2020 at 03 AM"
    assert format_epoch_millis(moment, "basic_date", parse_time_zone("-05:00")) == "20200101"


@pytest.mark.parametrize("zone_name", ["UTC", "Europe/Paris", "Australia/Lord_Howe"])
@pytest.mark.parametrize("fixed_interval", [15 * 60_000, 3 * MILLIS_PER_HOUR, 24 * MILLIS_PER_HOUR])
def test_keys_between_for_fixed_intervals_match_rounding_every_instant(zone_name, fixed_interval):
    rounding = DateRounding(None, fixed_interval, parse_time_zone(zone_name), 0)
    for start, end in [(1_585_000_000_000, 1_586_500_000_000), (1_603_000_000_000, 1_604_500_000_000)]:
        every_key = sorted(set(rounding.round(np.arange(start, end, 5 * 60_000)).tolist()))
        assert rounding.keys_between(every_key[0], every_key[-1], 100_000).tolist() == every_key


def test_keys_between_refuses_more_than_the_limit():
    rounding = DateRounding("minute", None, parse_time_zone("Europe/Paris"), 0)
    with pytest.raises(OverflowError):
        rounding.keys_between(0, 10**12, 1000)
