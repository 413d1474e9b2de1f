"""Answering request frames without an event loop: the shard worker's server (ADR 0215).

The calling thread reads frames; a fixed set of threads runs the handler and each writes its own
reply. The headers are those of ``node.transport.rpc`` (request, response, error); this module
must never import trio (the worker has none, and importing it would delay every worker start by
~0.5 CPU-s) and never know what a method means.
"""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from typing import Any, Callable

from node.logs import request_id as http_request_id
from node.transport.errors import TransportError, describe_exception
from node.transport.frames import BlockingFrameSocket

BlockingRpcHandler = Callable[[str, dict, bytes], tuple[dict, bytes]]


def error_response(request_id: Any, method: str, error: Exception,
                   logger: logging.Logger) -> tuple[dict, bytes]:
    """The error frame for a failed request; an unexpected error (no opensearch_type) is logged
    with its traceback, which also travels to the caller. Call it inside the ``except`` block."""
    traceback_text = None
    if not getattr(error, "opensearch_type", None):
        traceback_text = traceback.format_exc()
        logger.error("request %s failed unexpectedly", method, exc_info=True)
    return {"id": request_id, "kind": "error", "error": describe_exception(error, traceback_text)}, b""



def serve_rpc_blocking(frames: BlockingFrameSocket, handler: BlockingRpcHandler, logger: logging.Logger,
                       threads: int, on_reader_thread: Callable[[str], bool] = lambda method: False) -> None:
    """Answer requests until the peer closes the socket, without an event loop. The calling
    thread reads frames; a request whose method ``on_reader_thread`` accepts is answered right
    there (cheap methods: no hand-off at all), any other is queued to one of ``threads``
    long-lived threads, which runs the handler and sends the reply itself — one thread wake-up
    per request, no return trip through a loop. Errors travel back as error frames and never end
    the connection. Returns after the queued requests were answered (replies to a closed socket
    are dropped)."""
    if threads < 1:
        raise ValueError(f"threads: expected at least 1, got {threads}")
    work: queue.SimpleQueue[tuple[dict, bytes] | None] = queue.SimpleQueue()

    def answer(header: dict, body: bytes) -> None:
        request_id = header.get("id")
        method = str(header.get("method"))
        trace_id = header.get("trace")
        token = http_request_id.set(str(trace_id)) if trace_id is not None else None
        try:
            try:
                payload, response_body = handler(method, header.get("payload") or {}, body)
                response = ({"id": request_id, "kind": "response", "payload": payload}, response_body)
            except Exception as error:  # noqa: BLE001 — every failure is reported to the caller
                response = error_response(request_id, method, error, logger)
            try:
                frames.send_frame(*response)
            except OSError:
                pass  # the caller is gone; nothing to tell
            except Exception as error:  # noqa: BLE001 — e.g. a payload orjson cannot encode
                # the caller must hear of it: a handler thread that died here would leave it
                # waiting forever (the trio server crashed the worker instead)
                try:
                    frames.send_frame(*error_response(request_id, method, error, logger))
                except OSError:
                    pass
        finally:
            if token is not None:
                http_request_id.reset(token)

    def answer_queued() -> None:
        while True:
            item = work.get()
            if item is None:
                return
            answer(*item)

    pool = [threading.Thread(target=answer_queued, name=f"rpc-handler-{number}", daemon=True)
            for number in range(threads)]
    for thread in pool:
        thread.start()
    try:
        while True:
            try:
                frame = frames.receive_frame()
            except OSError:
                frame = None
            if frame is None:
                break
            header, body = frame
            if header.get("kind") != "request":
                raise TransportError(f"expected a request frame, got kind {header.get('kind')!r}")
            if on_reader_thread(str(header.get("method"))):
                answer(header, body)
            else:
                work.put((header, body))
    finally:
        for _ in pool:
            work.put(None)
        for thread in pool:
            thread.join()
