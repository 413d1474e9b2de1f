"""The node-to-node transport listener and the client side for talking to peers.

``serve_transport`` accepts TCP connections on the transport port and answers framed requests
with the handlers registered in a ``TransportHandlers`` table (method name → async function
``(payload, body) -> (payload, body)``). ``PeerConnections`` keeps one persistent, multiplexed
connection per peer address, opened on first use and reopened after a failure.

A connection that sends a frame failing its HMAC is dropped at once and logged. This module must
never know what a method means; node/api and node/coordination register the handlers.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import trio

from node.transport.errors import ConnectionClosedError, TransportError, UnknownTransportMethodError
from node.transport.faults import SENDER_HEADER, TransportFaults
from node.transport.framing import FrameStream
from node.transport.rpc import RpcClient, serve_rpc

TransportHandler = Callable[[dict, bytes], Awaitable[tuple[dict, bytes]]]
CONNECT_TIMEOUT_SECONDS = 5.0


class TransportHandlers:
    def __init__(self) -> None:
        self.handlers: dict[str, TransportHandler] = {}

    def register(self, method: str, handler: TransportHandler) -> None:
        if method in self.handlers:
            raise ValueError(f"transport method {method!r} is already registered")
        self.handlers[method] = handler

    async def dispatch(self, method: str, payload: dict, body: bytes) -> tuple[dict, bytes]:
        handler = self.handlers.get(method)
        if handler is None:
            raise UnknownTransportMethodError(f"no transport handler for method {method!r}")
        return await handler(payload, body)


async def serve_transport(host: str, port: int, secret: bytes, handlers: TransportHandlers,
                          logger: logging.Logger,
                          task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
                          faults: TransportFaults | None = None) -> None:
    """``faults`` is test-only (QUIDDITCH_TEST_FAULTS_FILE): None in every normal node."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound_host, bound_port = listeners[0].socket.getsockname()[:2]

    async def handle_connection(stream: trio.SocketStream) -> None:
        peer = "unknown"
        try:
            peer = "%s:%s" % stream.socket.getpeername()[:2]
        except OSError:
            pass
        try:
            await serve_rpc(FrameStream(stream, secret), handlers.dispatch, logger, faults=faults)
        except* (TransportError, trio.BrokenResourceError, trio.ClosedResourceError, OSError) as group:
            logger.warning("dropping transport connection", extra={"fields": {
                "peer": peer, "reason": "; ".join(str(error) for error in group.exceptions)}})
        finally:
            await stream.aclose()

    async with trio.open_nursery() as nursery:
        task_status.started((bound_host, bound_port))
        await trio.serve_listeners(handle_connection, listeners, handler_nursery=nursery)


class PeerConnections:
    """One persistent connection per peer ``host:port`` and channel; requests are multiplexed on
    it. Channels keep kinds of traffic from queueing behind each other on one socket: a 100 MB
    replication frame must not delay the master's pings ("ping"), nor user searches
    ("default") delay replication ("replication")."""

    def __init__(self, secret: bytes, nursery: trio.Nursery, logger: logging.Logger,
                 faults: TransportFaults | None = None) -> None:
        self.secret = secret
        self.faults = faults  # test-only (QUIDDITCH_TEST_FAULTS_FILE): None in every normal node
        self.nursery = nursery
        self.logger = logger
        self.clients: dict[tuple[str, str], RpcClient] = {}
        self.locks: dict[tuple[str, str], trio.Lock] = {}

    async def client_for(self, address: str, channel: str = "default") -> RpcClient:
        key = (address, channel)
        client = self.clients.get(key)
        if client is not None and client.closed_reason is None:
            return client
        lock = self.locks.setdefault(key, trio.Lock())
        async with lock:
            client = self.clients.get(key)
            if client is not None and client.closed_reason is None:
                return client
            host, _, port = address.rpartition(":")
            try:
                with trio.fail_after(CONNECT_TIMEOUT_SECONDS):
                    stream = await trio.open_tcp_stream(host.strip("[]"), int(port))
            except (OSError, trio.TooSlowError) as error:
                raise ConnectionClosedError(f"cannot connect to {address}: {error}") from None
            client = RpcClient(FrameStream(stream, self.secret), name=f"peer {address} ({channel})")
            self.nursery.start_soon(client.run)
            self.clients[key] = client
            return client

    async def request(self, address: str, method: str, payload: dict, body: bytes = b"",
                      timeout_seconds: float | None = None, channel: str = "default") -> tuple[dict, bytes]:
        if self.faults is None:
            client = await self.client_for(address, channel)
            return await client.request(method, payload, body, timeout_seconds)
        await self.faults.before_request(address)
        client = await self.client_for(address, channel)
        answer = await client.request(method, payload, body, timeout_seconds,
                                      extra_header={SENDER_HEADER: self.faults.self_name})
        await self.faults.after_response(address)
        return answer

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        self.clients.clear()
