"""Request/response over one FrameStream, multiplexed by request id.

Headers on the wire:
    request   {"id": n, "kind": "request", "method": str, "payload": {...}}
    response  {"id": n, "kind": "response", "payload": {...}}
    error     {"id": n, "kind": "error", "error": describe_exception(...)}

``RpcClient`` lets many tasks wait on one connection at once; its ``run`` task owns the receive
side and must live in a nursery for as long as the connection is used. ``serve_rpc`` answers
requests, each in its own task, with an async handler. ``serve_rpc_blocking``
(node/transport/blocking_rpc.py, re-exported here) answers the same frames without an event loop
(the shard worker, ADR 0215). This module must never know what a method means, and never leaves a
waiting caller hanging: when the connection ends every pending request fails with
ConnectionClosedError.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Awaitable, Callable

import trio

from node.transport.errors import (
    ConnectionClosedError,
    FrameError,
    RequestTimeoutError,
    TransportError,
    rebuild_exception,
)
from node.logs import request_id as http_request_id
from node.transport.blocking_rpc import (  # noqa: F401 — the blocking server, re-exported for its users
    BlockingRpcHandler,
    error_response,
    serve_rpc_blocking,
)
from node.transport.framing import FrameStream

RpcHandler = Callable[[str, dict, bytes], Awaitable[tuple[dict, bytes]]]


class PendingRequest:
    __slots__ = ("done", "header", "body", "error")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.header: dict | None = None
        self.body: bytes = b""
        self.error: BaseException | None = None


class RpcClient:
    def __init__(self, frames: FrameStream, name: str = "rpc",
                 closed_error: Callable[[str], BaseException] = ConnectionClosedError) -> None:
        self.frames = frames
        self.name = name
        self.closed_error = closed_error
        self.request_ids = itertools.count(1)
        self.pending: dict[int, PendingRequest] = {}
        self.closed_reason: str | None = None
        self.requests_sent = 0

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Receive responses until the connection ends; then fail every pending request."""
        task_status.started()
        reason = "connection closed by peer"
        try:
            while True:
                frame = await self.frames.receive_frame()
                if frame is None:
                    break
                header, body = frame
                waiting = self.pending.pop(header.get("id"), None)
                if waiting is None:
                    continue  # the caller gave up (timeout or cancel); drop the late answer
                if header.get("kind") == "error":
                    waiting.error = rebuild_exception(header.get("error") or {})
                else:
                    waiting.header, waiting.body = header, body
                waiting.done.set()
        except (FrameError, trio.BrokenResourceError, trio.ClosedResourceError, OSError) as error:
            reason = f"connection failed: {error}"
        finally:
            self.fail_pending(reason)

    def fail_pending(self, reason: str) -> None:
        self.closed_reason = reason
        pending, self.pending = self.pending, {}
        for waiting in pending.values():
            waiting.error = self.closed_error(f"{self.name}: {reason}")
            waiting.done.set()

    async def request(self, method: str, payload: dict[str, Any], body: bytes = b"",
                      timeout_seconds: float | None = None,
                      extra_header: dict[str, Any] | None = None) -> tuple[dict, bytes]:
        if self.closed_reason is not None:
            raise self.closed_error(f"{self.name}: {self.closed_reason}")
        request_id = next(self.request_ids)
        waiting = PendingRequest()
        self.pending[request_id] = waiting
        header = {"id": request_id, "kind": "request", "method": method, "payload": payload}
        if extra_header:
            header.update(extra_header)  # e.g. the sender's name for test-only fault injection
        trace_id = http_request_id.get()
        if trace_id is not None:
            header["trace"] = trace_id  # the far side logs under the same request id
        try:
            await self.frames.send_frame(header, body)
            self.requests_sent += 1
            if timeout_seconds is None:
                await waiting.done.wait()
            else:
                with trio.move_on_after(timeout_seconds) as scope:
                    await waiting.done.wait()
                if scope.cancelled_caught:
                    raise RequestTimeoutError(
                        f"{self.name}: no response to {method!r} within {timeout_seconds}s")
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as error:
            raise self.closed_error(f"{self.name}: cannot send {method!r}: {error}") from None
        finally:
            self.pending.pop(request_id, None)
        if waiting.error is not None:
            raise waiting.error
        assert waiting.header is not None
        return waiting.header.get("payload") or {}, waiting.body

    async def aclose(self) -> None:
        await self.frames.aclose()


async def serve_rpc(frames: FrameStream, handler: RpcHandler, logger: logging.Logger,
                    on_request_started: Callable[[], None] | None = None, faults: Any = None) -> None:
    """Answer requests until the peer closes the connection. Each request runs in its own task
    in this function's nursery, so a slow one never blocks the others; errors from the handler
    travel back as error frames and never end the connection. ``faults`` (test-only,
    node/transport/faults.py) may drop a request or its answer: the connection is then closed,
    so the caller learns of it at once instead of waiting forever."""

    async def answer(header: dict, body: bytes) -> None:
        if faults is not None and not await faults.admit_request(header):
            await frames.aclose()
            return
        request_id = header.get("id")
        trace_id = header.get("trace")
        if trace_id is not None:
            http_request_id.set(str(trace_id))  # this task's context only
        method = str(header.get("method"))
        try:
            payload, response_body = await handler(method, header.get("payload") or {}, body)
            response = ({"id": request_id, "kind": "response", "payload": payload}, response_body)
        except Exception as error:  # noqa: BLE001 — every failure is reported to the caller
            response = error_response(request_id, method, error, logger)
        if faults is not None and not await faults.admit_response(header):
            await frames.aclose()
            return
        try:
            await frames.send_frame(*response)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass  # the caller is gone; nothing to tell

    async with trio.open_nursery() as nursery:
        while True:
            try:
                frame = await frames.receive_frame()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                frame = None
            except FrameError:
                if faults is None:
                    raise
                frame = None  # our own close (fault injection) cut a frame short
            if frame is None:
                break
            header, body = frame
            if header.get("kind") != "request":
                raise TransportError(f"expected a request frame, got kind {header.get('kind')!r}")
            if on_request_started is not None:
                on_request_started()
            nursery.start_soon(answer, header, body)


