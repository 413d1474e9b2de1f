"""The namespace network really enforces directed-link faults in the kernel: a cut link delivers
nothing (and the sender sees no error: the packets vanish on arrival), a lossy link delivers some,
the reverse direction is untouched, and healing restores everything. Needs root, `ip netns` and
nftables (skipped with the reason otherwise); it uses UDP so that what arrives is countable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from jepsen_lite import netns
from jepsen_lite.nemesis import LinkFault

PACKETS = 400

usable, reason = netns.available()
pytestmark = pytest.mark.skipif(not usable, reason=f"network namespaces unavailable: {reason}")

RECEIVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((sys.argv[1], 5599))
print("ready", flush=True)
s.settimeout(1.5)   # ends the count once the sender is done, not an assertion
received = 0
try:
    while True:
        if s.recv(64) == b"end":
            break
        received += 1
except OSError:
    pass
print(received, flush=True)
"""

SENDER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
errors = 0
for _ in range(int(sys.argv[2])):
    try:
        s.sendto(b"x", (sys.argv[1], 5599))
    except OSError:
        errors += 1
print(errors, flush=True)
"""


@pytest.fixture
def network():
    ok, why = netns.nftables_available()
    if not ok:
        pytest.skip(f"nftables unusable in a namespace: {why}")
    names = ["n0", "n1"]
    network = netns.NamespaceNetwork(f"t{os.getpid() % 1000:03d}", names, netns.free_subnet_octet(), use_nftables=True)
    try:
        network.setup()
        yield network
    finally:
        network.teardown()


def count_delivered(network, source: str, destination: str) -> tuple[int, int]:
    """(packets received by ``destination``, send errors seen by ``source``) of PACKETS sent."""
    receiver = subprocess.Popen([*network.command_prefix(destination), sys.executable, "-c", RECEIVER,
                                 network.addresses[destination]], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        sent = subprocess.run([*network.command_prefix(source), sys.executable, "-c", SENDER,
                               network.addresses[destination], str(PACKETS)], capture_output=True, text=True,
                              check=True, timeout=60)
        # the end marker may itself be dropped on a cut link: the receiver's idle timeout ends it then
        subprocess.run([*network.command_prefix(source), sys.executable, "-c", SENDER.replace('b"x"', 'b"end"'),
                        network.addresses[destination], "3"], capture_output=True, text=True, timeout=60)
        received = int(receiver.stdout.readline().strip())
        return received, int(sent.stdout.strip())
    finally:
        receiver.kill()
        receiver.wait()


def test_a_cut_link_delivers_nothing_one_way_and_healing_restores_it(network):
    assert network.mechanism == "nftables"
    network.apply_links([LinkFault("n0", "n1")])
    assert count_delivered(network, "n0", "n1") == (0, 0)   # dropped on arrival: no send error
    assert count_delivered(network, "n1", "n0") == (PACKETS, 0)
    network.apply_links([])
    assert count_delivered(network, "n0", "n1") == (PACKETS, 0)


def test_a_lossy_link_delivers_part_of_the_packets(network):
    network.apply_links([LinkFault("n0", "n1", drop=False, loss_probability=0.5)])
    received, errors = count_delivered(network, "n0", "n1")
    # binomial(400, 0.5): outside [120, 280] has probability below 1e-15
    assert 120 <= received <= 280 and errors == 0
    assert network.nft_drops["n1"] == {"n0": 0.5}


def test_teardown_leaves_no_namespace_behind(network):
    namespaces = list(network.namespaces.values())
    host_links = list(network.host_links)
    network.teardown()
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(namespace in listing for namespace in namespaces)
    # the host-side veth names are free at once (namespace deletion alone frees them later, so
    # the next network with the same tag failed with "File exists")
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert host_links and not any(f" {name}@" in links or f" {name}:" in links for name in host_links)
    network.setup()   # the same tag again, immediately
    assert sorted(network.namespaces) == ["n0", "n1"]
