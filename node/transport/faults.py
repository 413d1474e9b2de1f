"""Test-only faults for node-to-node frames, per directed link, from the faults file
(docs/testing.md; the parser and the decision live in raft/faults.py and are shared with Raft).

Owns ``TransportFaults``: what a request, its arrival, and its response suffer on the links
between this node and a peer. A peer is named by its transport address (client side) or by the
``sender`` name the client puts in each request header (server side: an incoming connection's
address is an ephemeral port and names nobody).

How each fault shows (ADR 0150): a cut (or lost) request is never sent — the caller gets
ConnectionClosedError "cannot connect to ...", as a black-holed route refuses new connections,
and callers already treat that as "never sent"; a request that arrives over a cut link, or whose
response would cross one, closes the connection, so the caller learns "connection closed" and
treats the outcome as unknown — never a silent hang; a delay sleeps before sending / handling /
answering. It must never be constructed unless QUIDDITCH_TEST_FAULTS_FILE is set, and it never
touches HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio

from node.transport.errors import ConnectionClosedError
from raft.faults import FaultsFileWatcher, LinkFaults, MessageDecision

SENDER_HEADER = "sender"


@dataclass
class TransportFaults:
    link_faults: LinkFaults
    dropped_requests: int = 0
    dropped_responses: int = 0
    dropped_arrivals: int = 0

    @classmethod
    def from_file(cls, path, self_name: str) -> "TransportFaults":
        return cls(LinkFaults(FaultsFileWatcher(path), self_name))

    @property
    def self_name(self) -> str:
        return self.link_faults.self_name

    def peer_for_address(self, address: str) -> str | None:
        return self.link_faults.plan().node_name_for_address("transport", address)

    async def before_request(self, address: str) -> None:
        """Client side, before a request goes to ``address``: refuse it or delay it."""
        decision = self.link_faults.outgoing(self.peer_for_address(address))
        if decision.dropped:
            self.dropped_requests += 1
            raise ConnectionClosedError(f"cannot connect to {address}: fault injection: {decision.reason}")
        await _delay(decision)

    async def after_response(self, address: str) -> None:
        """Client side, when the answer from ``address`` arrived: it may have been lost on the way."""
        decision = self.link_faults.incoming(self.peer_for_address(address))
        if decision.dropped:
            self.dropped_responses += 1
            raise ConnectionClosedError(f"peer {address}: connection lost before the response arrived "
                                        f"(fault injection: {decision.reason}); the outcome is unknown")
        await _delay(decision)

    async def admit_request(self, header: dict) -> bool:
        """Server side: False when the request crossed a cut link (the connection is then closed)."""
        decision = self.link_faults.incoming(_sender(header))
        if decision.dropped:
            self.dropped_arrivals += 1
            return False
        await _delay(decision)
        return True

    async def admit_response(self, header: dict) -> bool:
        """Server side, before answering: False when the answer would cross a cut link."""
        decision = self.link_faults.outgoing(_sender(header))
        if decision.dropped:
            self.dropped_responses += 1
            return False
        await _delay(decision)
        return True


def _sender(header: dict) -> str | None:
    sender = header.get(SENDER_HEADER)
    return sender if isinstance(sender, str) else None


async def _delay(decision: MessageDecision) -> None:
    if decision.delay_seconds > 0:
        await trio.sleep(decision.delay_seconds)
