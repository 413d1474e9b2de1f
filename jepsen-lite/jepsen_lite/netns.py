"""Network namespaces: each local node in its own namespace on a bridge, partitions as routes.

Owns: creating and removing the bridge, namespaces and veth pairs of one run, the command
prefix that starts a node inside its namespace, and directed-link drops implemented as
``blackhole`` routes inside the sending node's namespace (iproute2 only — the machine has no
nftables/iptables; a blackhole route silently drops what the node sends to that peer, as a cut
cable would). Must never touch an interface or namespace it did not create (every name carries
this run's tag) and must leave nothing behind: ``teardown`` removes it all.

Available only as root with a working ``ip netns``; ``available()`` says why not otherwise.
Delay and loss probability are not implemented here (they need tc netem): links asking for
them raise NotImplementedError rather than pretend.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field


def _ip(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    completed = subprocess.run(["ip", *arguments], capture_output=True, text=True, timeout=30, check=False)
    if check and completed.returncode != 0:
        raise RuntimeError(f"ip {' '.join(arguments)}: exit {completed.returncode}: {completed.stderr.strip()}")
    return completed


def available() -> tuple[bool, str]:
    """(usable, reason if not)."""
    if os.geteuid() != 0:
        return False, "network namespaces need root"
    probe = f"jlprobe{os.getpid() % 100000}"
    try:
        added = _ip("netns", "add", probe, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        return False, f"`ip netns` is unavailable: {error}"
    if added.returncode != 0:
        return False, f"`ip netns add` failed: {added.stderr.strip()}"
    _ip("netns", "delete", probe, check=False)
    return True, ""


def free_subnet_octet() -> int:
    """An X with no 10.213.X.0/24 address on this host yet (concurrent runs must not share)."""
    listing = _ip("-4", "-o", "addr", "show", check=False).stdout
    for octet in range(1 + os.getpid() % 200, 251):
        if f"10.213.{octet}." not in listing:
            return octet
    for octet in range(1, 251):
        if f"10.213.{octet}." not in listing:
            return octet
    raise RuntimeError("network namespaces: every 10.213.X.0/24 subnet is in use")


@dataclass
class NamespaceNetwork:
    """``tag`` (≤ 5 characters) keeps interface names unique and under Linux's 15-character
    limit; ``subnet_octet`` picks 10.213.<octet>.0/24."""

    tag: str
    node_names: list[str]
    subnet_octet: int
    addresses: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)
    blackholes: set[tuple[str, str]] = field(default_factory=set)
    bridge: str = ""

    def setup(self) -> None:
        self.bridge = f"jl{self.tag}br"
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"10.213.{self.subnet_octet}.1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for number, name in enumerate(self.node_names):
            namespace = f"jl{self.tag}-{name}"
            host_side = f"jl{self.tag}v{number}"
            address = f"10.213.{self.subnet_octet}.{11 + number}"
            _ip("netns", "add", namespace)
            self.namespaces[name] = namespace
            _ip("link", "add", host_side, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            _ip("link", "set", host_side, "master", self.bridge, "up")
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
            self.addresses[name] = address

    def command_prefix(self, name: str) -> list[str]:
        # `ip netns exec` execs the command in place, so the pid we get is the node's
        return ["ip", "netns", "exec", self.namespaces[name]]

    def apply_links(self, links) -> None:
        """Replace the current drops with ``links`` (LinkFault values)."""
        wanted = set()
        for link in links:
            if link.delay_ms or link.loss_probability:
                raise NotImplementedError("network namespaces: delay_ms and loss_probability need tc netem, "
                                          "which jepsen-lite does not drive yet")
            if link.drop:
                wanted.add((link.source, link.destination))
        for source, destination in sorted(self.blackholes - wanted):
            _ip("-n", self.namespaces[source], "route", "del", "blackhole", f"{self.addresses[destination]}/32",
                check=False)
        for source, destination in sorted(wanted - self.blackholes):
            _ip("-n", self.namespaces[source], "route", "replace", "blackhole", f"{self.addresses[destination]}/32")
        self.blackholes = wanted

    def teardown(self) -> None:
        for namespace in self.namespaces.values():
            _ip("netns", "delete", namespace, check=False)   # removes its veth pair too
        if self.bridge:
            _ip("link", "delete", self.bridge, check=False)
        self.namespaces.clear()
