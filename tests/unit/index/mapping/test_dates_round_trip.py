"""Property: formatting an instant and parsing the text back gives the same instant."""

from hypothesis import given, strategies as st

from index.mapping import format_date, parse_date, parse_date_math

INSTANTS = st.integers(min_value=-62_000_000_000_000, max_value=253_000_000_000_000)  # years ~1 .. ~9999
FORMATS = st.sampled_from(["strict_date_optional_time", "yyyy-MM-dd HH:mm:ss.SSS", "epoch_millis",
                           "strict_date_time", "basic_date_time", "yyyy/MM/dd'T'HH:mm:ss.SSSXXX"])
ZONES = st.sampled_from([None, "+05:30", "-08:00", "Europe/Paris", "America/New_York", "Asia/Kolkata"])


@given(INSTANTS, FORMATS)
def test_format_then_parse_returns_the_same_instant(epoch_millis, date_format):
    assert parse_date(format_date(epoch_millis, date_format), date_format) == epoch_millis


@given(INSTANTS.filter(lambda value: value > -60_000_000_000_000), ZONES)
def test_an_offset_printed_with_the_zone_reads_back_to_the_same_instant(epoch_millis, time_zone):
    text = format_date(epoch_millis, "strict_date_optional_time", time_zone=time_zone)
    assert parse_date(text) == epoch_millis


@given(INSTANTS.filter(lambda value: 0 < value < 250_000_000_000_000),
       st.sampled_from(["y", "M", "w", "d", "h", "m", "s"]), ZONES)
def test_rounding_down_and_up_bracket_the_instant(now_millis, unit, time_zone):
    low = parse_date_math(f"now/{unit}", now_millis, time_zone=time_zone)
    high = parse_date_math(f"now/{unit}", now_millis, time_zone=time_zone, round_up=True)
    assert low <= now_millis <= high
    assert parse_date_math(f"now/{unit}", low, time_zone=time_zone) == low  # rounding is idempotent
