"""Serving the app with hypercorn on trio, reporting the bound address once listening.

It owns hypercorn's configuration (bind, timeouts, logging), one adjustment of hypercorn's
HTTP/1.1 writer: a response's head is written together with its first body chunk (one send
instead of two per response; ``install_single_write_responses``), and what hypercorn serves: the
app behind node/http/fast_routes.py's front door when node/api registered fast routes. It must
never touch the app's routes.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Awaitable, Callable

import trio
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
