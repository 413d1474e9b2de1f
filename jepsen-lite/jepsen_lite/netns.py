"""Network namespaces: each local node in its own namespace on a bridge; link faults as
nftables rules (drop, loss probability), or ``blackhole`` routes where nftables is missing.

Owns: creating and removing the bridge, namespaces and veth pairs of one run, the command
prefix that starts a node inside its namespace, probing what the kernel offers (nftables inside
a namespace, the ``netem`` queueing discipline), and enforcing directed-link faults:

- with nftables (preferred): one table ``inet jepsen_lite`` per namespace whose ``input`` chain
  drops what arrives from a peer — ``ip saddr <A> drop`` in B's namespace cuts the link A → B;
  ``ip saddr <A> numgen random mod 10000 < P drop`` loses each packet with probability P/10000.
  Dropping on arrival (as Jepsen does with iptables INPUT rules) is what a bad cable does: the
  sender gets no error, TCP retransmits, connections stall — a dropped packet in the sender's
  own output hook would instead fail its ``connect`` at once with EPERM, which no real network
  does.
- without nftables: a ``blackhole`` route to B inside A's namespace (iproute2 only) cuts A → B;
  new connections then fail at once and established ones stall. Loss is not possible this way.

Delay needs ``tc ... netem``; the kernel of the machine this was built on has neither sch_netem
nor sch_prio (probed: "Specified qdisc kind is unknown"), so per-link delay through netem is not
implemented: ``supports`` says no, and the nemesis puts delays in the node-side faults file.

Must never touch an interface or namespace it did not create (every name carries this run's
tag) and must leave nothing behind: ``teardown`` removes it all (the rules die with their
namespaces). Available only as root with a working ``ip netns``; ``available()`` says why not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

NFT_TABLE = "jepsen_lite"
LOSS_RESOLUTION = 10000   # numgen modulus: loss probabilities are applied in steps of 0.01 %


def _ip(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    completed = subprocess.run(["ip", *arguments], capture_output=True, text=True, timeout=30, check=False)
    if check and completed.returncode != 0:
        raise RuntimeError(f"ip {' '.join(arguments)}: exit {completed.returncode}: {completed.stderr.strip()}")
    return completed


def _in_namespace(namespace: str, command: list[str], stdin: str | None = None,
                  check: bool = True) -> subprocess.CompletedProcess:
    completed = subprocess.run(["ip", "netns", "exec", namespace, *command], input=stdin, capture_output=True,
                               text=True, timeout=30, check=False)
    if check and completed.returncode != 0:
        raise RuntimeError(f"in namespace {namespace}: {' '.join(command)}: exit {completed.returncode}: "
                           f"{completed.stderr.strip()}")
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


def nftables_ruleset(drops: dict[str, float]) -> str:
    """The whole ``inet jepsen_lite`` table of one namespace, for ``nft -f -``: ``drops`` maps a
    source address to the probability that a packet from it is dropped (1.0 = every packet).
    Starting with add + delete makes the load idempotent and atomic (nft applies a file as one
    transaction), so the table never holds half of the old and half of the new rules."""
    lines = [f"add table inet {NFT_TABLE}", f"delete table inet {NFT_TABLE}", f"table inet {NFT_TABLE} {{",
             "  chain input {", "    type filter hook input priority 0; policy accept;"]
    for source_address, probability in sorted(drops.items()):
        if probability >= 1.0:
            lines.append(f"    ip saddr {source_address} drop")
        elif probability > 0.0:
            threshold = max(1, round(probability * LOSS_RESOLUTION))
            lines.append(f"    ip saddr {source_address} numgen random mod {LOSS_RESOLUTION} < {threshold} drop")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _probe_in_fresh_namespace(command: list[str], stdin: str | None = None) -> tuple[bool, str]:
    probe = f"jlprobe{os.getpid() % 100000}"
    added = _ip("netns", "add", probe, check=False)
    if added.returncode != 0:
        return False, f"`ip netns add` failed: {added.stderr.strip()}"
    try:
        _ip("-n", probe, "link", "set", "lo", "up", check=False)
        completed = _in_namespace(probe, command, stdin=stdin, check=False)
        if completed.returncode != 0:
            last_line = (completed.stderr.strip().splitlines() or ["no message"])[-1]
            return False, f"`{' '.join(command)}` in a namespace failed: {last_line}"
        return True, ""
    finally:
        _ip("netns", "delete", probe, check=False)


def nftables_available() -> tuple[bool, str]:
    """(usable, reason if not): ``nft`` is installed and loads a loss rule inside a namespace."""
    if shutil.which("nft") is None:
        return False, "nft is not installed (apt-get install nftables)"
    return _probe_in_fresh_namespace(["nft", "-f", "-"], stdin=nftables_ruleset({"10.213.255.254": 0.25}))


def netem_available() -> tuple[bool, str]:
    """(usable, reason if not): the kernel accepts a ``netem`` queueing discipline in a namespace."""
    if shutil.which("tc") is None:
        return False, "tc is not installed (apt-get install iproute2)"
    return _probe_in_fresh_namespace(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"])


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
    limit; ``subnet_octet`` picks 10.213.<octet>.0/24. ``use_nftables`` picks the link-fault
    mechanism (``mechanism`` names it for the run summary)."""

    tag: str
    node_names: list[str]
    subnet_octet: int
    use_nftables: bool = False
    addresses: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)
    blackholes: set[tuple[str, str]] = field(default_factory=set)
    # destination name → {source name: drop probability}, as last loaded into nftables
    nft_drops: dict[str, dict[str, float]] = field(default_factory=dict)
    bridge: str = ""
    host_links: list[str] = field(default_factory=list)

    @property
    def mechanism(self) -> str:
        return "nftables" if self.use_nftables else "blackhole-routes"

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
            self.host_links.append(host_side)
            _ip("link", "set", host_side, "master", self.bridge, "up")
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
            self.addresses[name] = address
        if self.use_nftables:
            for name in self.node_names:
                self._load_nftables(name, {})

    def command_prefix(self, name: str) -> list[str]:
        # `ip netns exec` execs the command in place, so the pid we get is the node's
        return ["ip", "netns", "exec", self.namespaces[name]]

    def supports(self, link) -> bool:
        """Whether this network can enforce ``link`` (a LinkFault) itself."""
        if link.delay_ms:
            return False   # needs tc netem: see the module docstring
        if link.loss_probability and not link.drop:
            return self.use_nftables
        return True

    def apply_links(self, links) -> None:
        """Replace the current link faults with ``links`` (LinkFault values)."""
        unsupported = [link for link in links if not self.supports(link)]
        if unsupported:
            raise NotImplementedError(
                f"network namespaces ({self.mechanism}): cannot enforce {unsupported[0]} (delay needs tc netem; "
                f"loss needs nftables)")
        if self.use_nftables:
            self._apply_nftables(links)
        else:
            self._apply_blackholes(links)

    def _apply_nftables(self, links) -> None:
        wanted: dict[str, dict[str, float]] = {name: {} for name in self.node_names}
        for link in links:
            probability = 1.0 if link.drop else float(link.loss_probability)
            if probability > 0.0:
                wanted[link.destination][link.source] = probability
        for destination in self.node_names:
            if wanted[destination] != self.nft_drops.get(destination, {}):
                self._load_nftables(destination, wanted[destination])

    def _load_nftables(self, destination: str, drops_by_source: dict[str, float]) -> None:
        ruleset = nftables_ruleset({self.addresses[source]: probability
                                    for source, probability in drops_by_source.items()})
        _in_namespace(self.namespaces[destination], ["nft", "-f", "-"], stdin=ruleset)
        self.nft_drops[destination] = dict(drops_by_source)

    def _apply_blackholes(self, links) -> None:
        wanted = {(link.source, link.destination) for link in links if link.drop}
        for source, destination in sorted(self.blackholes - wanted):
            _ip("-n", self.namespaces[source], "route", "del", "blackhole", f"{self.addresses[destination]}/32",
                check=False)
        for source, destination in sorted(wanted - self.blackholes):
            _ip("-n", self.namespaces[source], "route", "replace", "blackhole", f"{self.addresses[destination]}/32")
        self.blackholes = wanted

    def teardown(self) -> None:
        # Deleting a namespace frees its veth pair only when the kernel's asynchronous namespace
        # cleanup runs, so a network set up right after with the same tag could find the old
        # host-side name still taken ("File exists"). Deleting the host side first is synchronous
        # and removes both ends.
        for host_side in self.host_links:
            _ip("link", "delete", host_side, check=False)
        self.host_links.clear()
        for namespace in self.namespaces.values():
            _ip("netns", "delete", namespace, check=False)   # also drops its nft table
        if self.bridge:
            _ip("link", "delete", self.bridge, check=False)
        self.namespaces.clear()
