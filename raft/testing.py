"""Test support for the Raft adapter's own tests (and node/'s): loopback addresses for voters.
Never imported by production code."""

from __future__ import annotations

import socket


def free_addresses(count: int) -> list[str]:
    """``count`` distinct loopback ``host:port`` addresses free right now. The probes are bound
    together: bound and closed one after another, the kernel may hand the same port out twice in a
    row (CI once configured three voters with two equal addresses)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{probe.getsockname()[1]}" for probe in probes]
    finally:
        for probe in probes:
            probe.close()
