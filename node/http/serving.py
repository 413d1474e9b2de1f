"""Serving the app with hypercorn on trio, reporting the bound address once listening.

It owns hypercorn's configuration (bind, timeouts, logging), three adjustments of hypercorn's
per-connection machinery — a response's head is written together with its first body chunk (one
send instead of two per response; ``install_single_write_responses``), one keep-alive timer task
per connection instead of a new one per request (``install_reusable_idle_timers``, ADR 0366), and
a plain socket's bytes written and read directly, without trio's per-call lock, scopes and yields
(``install_direct_socket_io``, ADR 0367) — and what hypercorn serves: the app behind
node/http/fast_routes.py's front door when node/api registered fast routes. It must never touch
the app's routes, nor change a byte hypercorn puts on the wire.
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from math import inf
from typing import Any, Awaitable, Callable
from wsgiref.handlers import format_date_time

import trio
import hypercorn.trio.tcp_server as hypercorn_tcp_server
from hypercorn.config import Config as HypercornConfig
from hypercorn.events import Closed, RawData
from hypercorn.protocol.events import Body, Response
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio import serve

from node.http.fast_routes import with_fast_routes
from node.logs import get_logger

GRACEFUL_SHUTDOWN_SECONDS = 3.0


def install_single_write_responses() -> None:
    """Make hypercorn's HTTP/1.1 protocol hold a response's head (status line and headers) until
    the first body chunk and send both in one write. Quart hands hypercorn the head and the body
    as two ASGI events, and hypercorn wrote each at once: two send syscalls, two wake-ups of the
    client per response (docs/benchmarks.md F4). Bytes on the wire are unchanged.

    The head is captured by swapping the protocol's ``send`` callable for the duration of
    hypercorn's own handling of the event; nothing in between awaits, so no other task can see
    the swap. A head with no body after it (the stream closes) is flushed before that event.
    Idempotent."""
    if getattr(H11Protocol, "_quidditch_single_write", False):
        return
    original_stream_send = H11Protocol.stream_send

    async def captured_bytes(protocol: H11Protocol, event: object) -> bytes:
        real_send = protocol.send
        captured: list[bytes] = []

        async def capture(sent: object) -> None:
            if isinstance(sent, RawData):
                captured.append(sent.data)
            else:
                await real_send(sent)

        protocol.send = capture
        try:
            await original_stream_send(protocol, event)
        finally:
            protocol.send = real_send
        return b"".join(captured)

    async def stream_send(self: H11Protocol, event: object) -> None:
        pending_head = self.__dict__.pop("_quidditch_pending_head", None)
        if pending_head is None:
            if isinstance(event, Response) and event.status_code >= 200:
                head = await captured_bytes(self, event)
                if head:
                    self._quidditch_pending_head = head
                return
            await original_stream_send(self, event)
            return
        if isinstance(event, Body):
            await self.send(RawData(data=pending_head + await captured_bytes(self, event)))
            return
        await self.send(RawData(data=pending_head))
        await original_stream_send(self, event)

    H11Protocol.stream_send = stream_send
    H11Protocol._quidditch_single_write = True


class ReusableIdleTimer:
    """Stands in for hypercorn's ``TrioSingleTask`` as a trio connection's keep-alive timer.

    hypercorn stops the timer when a request starts and restarts it when the response is done;
    ``TrioSingleTask`` cancels the timer task and starts a new one with ``nursery.start`` on every
    restart: several task switches and a cancel scope per request, about a fifth of a bare hello
    request's CPU (ADR 0366). Here a stop or a restart only records whether and since when the
    connection is idle (no await, no task); a watcher task is started only when the connection
    becomes idle and none is running, and it ends by itself when it finds the connection busy.

    The watcher does what hypercorn's ``_idle_timeout`` did: a connection idle for
    ``keep_alive_timeout`` seconds, or idle when the server shuts down (the worker context's
    ``terminated``), is closed with ``_initiate_server_close`` under a shield. A busy connection is
    never closed by it (on shutdown hypercorn's protocol closes it once its response is done), as
    hypercorn's own timer, which did not exist while a request ran."""

    def __init__(self) -> None:
        self.idle_since: float | None = None      # trio time the connection became idle; None = busy
        self.watching = False

    async def restart(self, task_group: Any, action: Callable[[], Awaitable[None]]) -> None:
        self.idle_since = trio.current_time()
        if not self.watching:
            self.watching = True
            # ``action`` is the server's bound ``_idle_timeout``: its object is the TCPServer
            task_group._nursery.start_soon(self.watch, action.__self__)

    async def stop(self) -> None:
        self.idle_since = None

    async def watch(self, server: Any) -> None:
        timeout = server.config.keep_alive_timeout
        timeout = inf if timeout is None else timeout
        terminated = server.context.terminated
        while True:
            idle_since = self.idle_since
            if idle_since is None:
                self.watching = False                  # busy: the next restart starts a watcher
                return
            with trio.move_on_at(idle_since + timeout):
                await terminated.wait()
            idle_since = self.idle_since
            if idle_since is None:
                continue                               # became busy while waiting
            if terminated.is_set() or trio.current_time() >= idle_since + timeout:
                break                                  # idle at shutdown, or for the whole timeout
        with trio.CancelScope(shield=True):
            await server._initiate_server_close()


def install_reusable_idle_timers() -> None:
    """Make hypercorn's trio TCP server use ``ReusableIdleTimer`` for its keep-alive timer (the
    name ``TrioSingleTask`` in hypercorn.trio.tcp_server is what ``TCPServer.__init__`` builds).
    Idempotent."""
    hypercorn_tcp_server.TrioSingleTask = ReusableIdleTimer


# a connection whose reads found data this many times in a row yields once anyway (fairness)
DIRECT_READS_BETWEEN_CHECKPOINTS = 32
# responses up to this size are written directly; larger ones keep hypercorn's send_all, which
# waits for room as often as it needs (a direct attempt would mostly split them in two)
DIRECT_WRITE_LIMIT_BYTES = 64 * 1024


def install_direct_socket_io() -> None:
    """Make hypercorn's trio ``TCPServer`` write and read a plain (non-TLS) socket directly when it
    has no read timeout: a response's bytes go out with one non-blocking ``os.write`` when no other
    send is in progress (what the kernel does not take is finished by hypercorn's own locked,
    shielded ``send_all``, the lock taken before anything awaits, so bytes stay in order), and the
    read loop reads what the kernel holds and waits with ``wait_readable`` only when nothing is
    there (responses over 64 KiB keep hypercorn's path). hypercorn's versions pay, per request, a
    ``trio.Lock``, a shielded cancel scope and ``send_all``'s two checkpoints on the way out, and a
    ``fail_after`` scope, a checkpoint and a failed ``recv`` on the way in (ADR 0367). Bytes, their order and every close path are
    hypercorn's. Idempotent."""
    server_class = hypercorn_tcp_server.TCPServer
    if getattr(server_class, "_quidditch_direct_socket_io", False):
        return
    original_protocol_send = server_class.protocol_send
    original_read_data = server_class._read_data

    def plain_socket(server: Any) -> Any:
        stream = server.stream
        return stream.socket if type(stream) is trio.SocketStream else None

    async def protocol_send(self: Any, event: Any) -> None:
        if type(event) is not RawData or self.send_lock.locked() or len(event.data) > DIRECT_WRITE_LIMIT_BYTES:
            await original_protocol_send(self, event)
            return
        carrier = plain_socket(self)
        if carrier is None:
            await original_protocol_send(self, event)
            return
        data = event.data
        if not data:
            return                            # an empty chunk (the end of a body): nothing to write
        try:
            descriptor = carrier.fileno()
            written = os.write(descriptor, data) if descriptor >= 0 else -1
        except BlockingIOError:
            written = 0
        except OSError:
            written = -1
        if written < 0:                      # closed or broken: as hypercorn handles a failed send
            await self.protocol.handle(Closed())
            return
        if written == len(data):
            return
        self.send_lock.acquire_nowait()      # free (checked above) and nothing awaited since
        try:
            try:
                with trio.CancelScope(shield=True):
                    await self.stream.send_all(memoryview(data)[written:])
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                await self.protocol.handle(Closed())
        finally:
            self.send_lock.release()

    async def read_data(self: Any) -> None:
        carrier = plain_socket(self)
        if carrier is None or self.config.read_timeout:
            await original_read_data(self)
            return
        reads_without_checkpoint = 0
        while True:
            try:
                descriptor = carrier.fileno()
                if descriptor < 0:
                    break
                data = os.read(descriptor, hypercorn_tcp_server.MAX_RECV)
            except BlockingIOError:
                reads_without_checkpoint = 0
                try:
                    await trio.lowlevel.wait_readable(carrier)
                except (trio.ClosedResourceError, trio.BrokenResourceError, OSError):
                    break
                continue
            except OSError:
                break
            reads_without_checkpoint += 1
            if reads_without_checkpoint >= DIRECT_READS_BETWEEN_CHECKPOINTS:
                reads_without_checkpoint = 0
                await trio.lowlevel.checkpoint()
            await self.protocol.handle(RawData(data))
            if data == b"":
                break
        await self.protocol.handle(Closed())

    server_class.protocol_send = protocol_send
    server_class._read_data = read_data
    server_class._quidditch_direct_socket_io = True


class NodeHypercornConfig(HypercornConfig):
    """hypercorn's configuration, with the ``Date`` response header formatted once per second
    instead of for every response (``format_date_time`` costs ~7 µs); the header's value is the
    same (HTTP dates have whole seconds). Any other response header hypercorn adds (server,
    alt-svc) takes hypercorn's own path."""

    _date_second: int = -1
    _date_value: bytes = b""

    def response_headers(self, protocol: str) -> list[tuple[bytes, bytes]]:
        if self.include_server_header or self.alt_svc_headers or self._quic_addresses:
            return super().response_headers(protocol)
        if not self.include_date_header:
            return []
        second = int(time.time())
        if second != self._date_second:
            self._date_value = format_date_time(second).encode("ascii")
            self._date_second = second
        return [(b"date", self._date_value)]


def bind_string(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_bound_address(bind: str) -> tuple[str, int]:
    """``http://127.0.0.1:54321`` → ("127.0.0.1", 54321)."""
    address = bind.split("://", 1)[-1]
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def serve_http(app, host: str, port: int, shutdown_trigger: Callable[[], Awaitable[None]],
                     logger: logging.Logger | None = None,
                     task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until ``shutdown_trigger`` returns; ``task_status.started((host, port))`` when bound."""
    install_single_write_responses()
    install_reusable_idle_timers()
    install_direct_socket_io()
    application = with_fast_routes(app)
    hypercorn_config = NodeHypercornConfig()
    hypercorn_config.bind = [bind_string(host, port)]
    hypercorn_config.accesslog = None            # request metrics replace access logs
    hypercorn_config.errorlog = logger or get_logger("http.server")
    hypercorn_config.graceful_timeout = GRACEFUL_SHUTDOWN_SECONDS
    hypercorn_config.keep_alive_timeout = 75     # clients keep pooled connections a long time
    hypercorn_config.include_server_header = False

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, application, hypercorn_config, shutdown_trigger=shutdown_trigger))
        task_status.started(parse_bound_address(binds[0]))
