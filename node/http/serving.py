"""Serving the app with hypercorn on trio, reporting the bound address once listening.

It owns hypercorn's configuration (bind, timeouts, logging), two adjustments of hypercorn's
per-connection machinery — a response's head is written together with its first body chunk (one
send instead of two per response; ``install_single_write_responses``), and one keep-alive timer
task per connection instead of a new one per request (``install_reusable_idle_timers``, ADR 0366)
— and what hypercorn serves: the app behind node/http/fast_routes.py's front door when node/api
registered fast routes. It must never touch the app's routes.
"""

from __future__ import annotations

import logging
from functools import partial
from math import inf
from typing import Any, Awaitable, Callable

import trio
import hypercorn.trio.tcp_server as hypercorn_tcp_server
from hypercorn.config import Config as HypercornConfig
from hypercorn.events import RawData
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
    application = with_fast_routes(app)
    hypercorn_config = HypercornConfig()
    hypercorn_config.bind = [bind_string(host, port)]
    hypercorn_config.accesslog = None            # request metrics replace access logs
    hypercorn_config.errorlog = logger or get_logger("http.server")
    hypercorn_config.graceful_timeout = GRACEFUL_SHUTDOWN_SECONDS
    hypercorn_config.keep_alive_timeout = 75     # clients keep pooled connections a long time
    hypercorn_config.include_server_header = False

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, application, hypercorn_config, shutdown_trigger=shutdown_trigger))
        task_status.started(parse_bound_address(binds[0]))
