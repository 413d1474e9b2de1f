"""The `ip` field type's values: parsing, the sortable stored form, and rendering back.

Owns the one encoding every part of index/ uses for ip values: the address as the 16 bytes of
its IPv6 form (an IPv4 address as IPv4-mapped ``::ffff:a.b.c.d``, as Lucene's InetAddressPoint
stores it), written as 32 lowercase hex digits. Hex digits sort like the bytes they stand for,
so the keyword machinery (postings, sorted-set doc values, term ranges, sort by ordinal) gives
term, range, CIDR and sort semantics without a new column kind. ``format_ip`` turns the stored
form back into the string OpenSearch shows (dotted quad for IPv4, RFC 5952 text for IPv6).

Must never: accept a value Java's InetAddresses would reject as an IP literal silently (callers
turn ``IpValueError`` into their own error type), or depend on anything outside the stdlib.
"""

from __future__ import annotations

import ipaddress

STORED_LENGTH = 32   # hex digits of the 16-byte form
_IPV4_MAPPED_PREFIX = "0" * 20 + "ffff"
LOWEST_STORED = "0" * STORED_LENGTH
HIGHEST_STORED = "f" * STORED_LENGTH


class IpValueError(ValueError):
    """A value that is not an IP address (or CIDR block) literal."""


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise IpValueError(f"'{text}' is not an IP string literal.") from None


def _stored_of_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.version == 4:
        return _IPV4_MAPPED_PREFIX + address.packed.hex()
    return address.packed.hex()


def parse_ip(value: object) -> str:
    """An IP literal (IPv4 or IPv6, as a JSON string) → its stored form; IpValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise IpValueError(f"'{value}' is not an IP string literal.")
    text = value.strip()
    if "%" in text:   # a scope id (fe80::1%eth0) names no address of its own
        raise IpValueError(f"'{value}' is not an IP string literal.")
    return _stored_of_address(_address(text))


def is_stored_ip(value: object) -> bool:
    """True for a value already in the stored form (32 hex digits, as sort values travel)."""
    return (isinstance(value, str) and len(value) == STORED_LENGTH
            and all(character in "0123456789abcdef" for character in value))


def format_ip(stored: str) -> str:
    """The stored form → the address as OpenSearch renders it."""
    if stored.startswith(_IPV4_MAPPED_PREFIX):
        return str(ipaddress.IPv4Address(bytes.fromhex(stored[24:])))
    return str(ipaddress.IPv6Address(bytes.fromhex(stored)))


def parse_cidr(value: str) -> tuple[str, str]:
    """``10.0.0.0/8`` or ``2001:db8::/32`` → (lowest, highest) stored forms, both inclusive.

    As OpenSearch, host bits set below the prefix are ignored (``192.168.1.7/24`` is the /24)."""
    address_text, _, prefix_text = value.partition("/")
    address = _address(address_text.strip())
    if not prefix_text.strip().isdigit():
        raise IpValueError(f"Expected [ip/prefix] but was [{value}]")
    prefix_length = int(prefix_text)
    total_bits = 32 if address.version == 4 else 128
    if prefix_length > total_bits:
        raise IpValueError(f"Illegal prefix length [{prefix_length}] in [{value}]. Must be 0-{total_bits} for"
                           f" IPv{address.version} ranges")
    network = ipaddress.ip_network(f"{address}/{prefix_length}", strict=False)
    return _stored_of_address(network.network_address), _stored_of_address(network.broadcast_address)


def stored_successor(stored: str) -> str | None:
    """The next address after ``stored`` (None past the last one): exclusive bounds made inclusive."""
    number = int(stored, 16) + 1
    return None if number >= 1 << 128 else f"{number:032x}"


def stored_predecessor(stored: str) -> str | None:
    number = int(stored, 16) - 1
    return None if number < 0 else f"{number:032x}"
