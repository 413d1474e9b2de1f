"""Serving the app with hypercorn on trio, reporting the bound address once listening.

It owns hypercorn's configuration (bind, timeouts, logging); it must never touch the app's routes.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Awaitable, Callable

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from node.logs import get_logger

GRACEFUL_SHUTDOWN_SECONDS = 3.0


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
    hypercorn_config = HypercornConfig()
    hypercorn_config.bind = [bind_string(host, port)]
    hypercorn_config.accesslog = None            # request metrics replace access logs
    hypercorn_config.errorlog = logger or get_logger("http.server")
    hypercorn_config.graceful_timeout = GRACEFUL_SHUTDOWN_SECONDS
    hypercorn_config.keep_alive_timeout = 75     # clients keep pooled connections a long time
    hypercorn_config.include_server_header = False

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, app, hypercorn_config, shutdown_trigger=shutdown_trigger))
        task_status.started(parse_bound_address(binds[0]))
