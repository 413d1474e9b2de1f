"""The `ip` field type: mapping, document values in their stored form, errors, rendering back."""

import ipaddress

import pytest
from hypothesis import given, strategies as strategies

from index.errors import MapperParsingError
from index.mapping import Mapping
from index.mapping.ip import (
    IpValueError, format_ip, is_stored_ip, parse_cidr, parse_ip, stored_predecessor, stored_successor,
)

MAPPING = Mapping.from_json({"properties": {"address": {"type": "ip"}}})


def test_an_ip_mapping_round_trips_through_get_mapping():
    assert MAPPING.to_json() == {"properties": {"address": {"type": "ip"}}}
    assert MAPPING.field("address").type == "ip"


def test_ipv4_and_ipv6_values_and_arrays_are_stored_as_sortable_hex():
    values = MAPPING.parse_document({"address": ["10.0.0.1", "::1", "2001:db8::1"]}).values["address"]
    assert values == ["00000000000000000000ffff0a000001", "0" * 31 + "1", "20010db8" + "0" * 23 + "1"]
    assert [format_ip(value) for value in values] == ["10.0.0.1", "::1", "2001:db8::1"]


def test_an_ipv4_mapped_ipv6_literal_renders_as_the_ipv4_address():
    assert format_ip(parse_ip("::ffff:192.168.0.1")) == "192.168.0.1"


def test_a_bad_value_fails_with_opensearch_wording():
    with pytest.raises(MapperParsingError) as raised:
        MAPPING.parse_document({"address": "not-an-ip"}, "7")
    assert raised.value.reason.startswith("failed to parse field [address] of type [ip] in document with id '7'")
    assert "'not-an-ip' is not an IP string literal." in raised.value.details["caused_by"]


def test_a_number_is_not_an_ip_address():
    with pytest.raises(MapperParsingError):
        MAPPING.parse_document({"address": 167772161}, "1")


def test_ignore_malformed_drops_a_bad_address_into_ignored():
    mapping = Mapping.from_json({"properties": {"address": {"type": "ip", "ignore_malformed": True}}})
    parsed = mapping.parse_document({"address": "x"}, "1")
    assert "address" not in parsed.values and parsed.ignored_fields == ("address",)


def test_null_value_is_converted_when_the_mapping_is_read():
    mapping = Mapping.from_json({"properties": {"address": {"type": "ip", "null_value": "127.0.0.1"}}})
    assert mapping.parse_document({"address": None}).values["address"] == [parse_ip("127.0.0.1")]
    with pytest.raises(MapperParsingError):
        Mapping.from_json({"properties": {"address": {"type": "ip", "null_value": "nope"}}})


def test_unknown_parameters_are_refused_on_ip_fields():
    with pytest.raises(MapperParsingError, match="unknown parameter \\[analyzer\\]"):
        Mapping.from_json({"properties": {"address": {"type": "ip", "analyzer": "standard"}}})


def test_dynamic_mapping_never_picks_ip():
    update = Mapping.from_json({}).required_update({"address": "10.0.0.1"})
    assert update["properties"]["address"]["type"] == "text"


def test_cidr_blocks_give_inclusive_bounds_and_ignore_host_bits():
    assert [format_ip(bound) for bound in parse_cidr("192.168.1.7/24")] == ["192.168.1.0", "192.168.1.255"]
    assert [format_ip(bound) for bound in parse_cidr("::/24")] == ["::", "0:ff:ffff:ffff:ffff:ffff:ffff:ffff"]
    with pytest.raises(IpValueError):
        parse_cidr("10.0.0.0/33")


def test_successor_and_predecessor_stop_at_the_ends_of_the_address_space():
    assert stored_successor("f" * 32) is None and stored_predecessor("0" * 32) is None
    assert format_ip(stored_successor(parse_ip("0:ff:ffff:ffff:ffff:ffff:ffff:ffff"))) == "0:100::"


@given(strategies.ip_addresses(), strategies.ip_addresses())
def test_stored_forms_sort_like_the_addresses_in_ipv6_space(first, second):
    def as_ipv6_number(address):
        return int(ipaddress.IPv6Address(f"::ffff:{address}")) if address.version == 4 else int(address)

    stored_first, stored_second = parse_ip(str(first)), parse_ip(str(second))
    assert is_stored_ip(stored_first)
    assert (stored_first < stored_second) == (as_ipv6_number(first) < as_ipv6_number(second))
    assert parse_ip(format_ip(stored_first)) == stored_first
