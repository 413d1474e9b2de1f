"""The shard worker process: ``python -m node.workers.worker_main --fd N ...``.

Spawned by the front (pool.py) with one end of an AF_UNIX socketpair inherited as ``--fd`` and the
cluster secret (hex) on stdin. It serves framed requests from the front without an event loop
(ADR 0215): the main thread reads frames and answers the cheap inline methods itself; each other
shard method (shard_service.SHARD_METHODS, owned by node-api) runs on one of a few long-lived
threads that writes its own reply, so several requests — an fsync-bound bulk and a search —
overlap. It exits when the front closes the socket (or dies):
that is the only way it ends, so it ignores SIGINT/SIGTERM sent to the process group and lets the
front order the shutdown (close every shard first).

It must never open a listening socket, talk to another node, or import node/http or node/cluster.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, Callable

from node.logs import configure_logging, get_logger
from node.transport.blocking_rpc import serve_rpc_blocking
from node.transport.frames import BlockingFrameSocket
from node.workers.errors import UnknownWorkerMethodError
from node.workers.registry import ShardRegistry

ShardMethod = Callable[[ShardRegistry, dict, bytes], tuple[dict, bytes]]

DEFAULT_THREADS_PER_WORKER = 4


# The cyclic collector in a shard worker (ADR 0336). Indexing keeps ~9 tracked containers per buffered
# document alive until the next refresh (the parsed values dict and its lists, the buffer entry, the
# version-map state); with CPython's default young threshold (700) a bulk of 500-document writes ran
# a young collection after nearly every write and a middle one every tenth, each walking the newest
# documents again. A larger young threshold collects the same garbage in fewer, larger passes.
WORKER_YOUNG_COLLECTION_THRESHOLD = 20_000


def tune_cyclic_collector() -> int:
    """Freeze what start-up built (modules, classes, the method tables: alive until exit, so no
    full collection needs to walk them; frozen objects are still freed by reference counting) and
    raise the young generation's threshold. Run once, before any shard is open: a shard frozen
    here could never be collected if it ended in a reference cycle. Returns the frozen count."""
    gc.collect()
    gc.freeze()
    _, middle_threshold, old_threshold = gc.get_threshold()
    gc.set_threshold(WORKER_YOUNG_COLLECTION_THRESHOLD, middle_threshold, old_threshold)
    return gc.get_freeze_count()


def builtin_methods(worker_number: int) -> dict[str, ShardMethod]:
    def ping(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
        return {"pong": True, "worker": worker_number, "pid": os.getpid(),
                "shards": len(registry.shards), "gc_threshold": list(gc.get_threshold()),
                "gc_frozen": gc.get_freeze_count()}, body

    def close_all_shards(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
        closed = registry.close_all(get_logger(f"worker.{worker_number}"))
        return {"closed": closed}, b""

    return {"ping": ping, "close_all_shards": close_all_shards}


BUILTIN_INLINE_METHODS = frozenset({"ping"})


DEFAULT_METHODS_MODULE = "node.workers.shard_service"


def load_inline_methods(methods_module: str = DEFAULT_METHODS_MODULE) -> frozenset[str]:
    """Methods run on the worker's event loop instead of a thread: shard_service may list cheap,
    never-blocking ones (no fsync, no long CPU) in ``INLINE_METHODS``."""
    try:
        shard_service = importlib.import_module(methods_module)
    except ModuleNotFoundError as error:
        if error.name != methods_module:
            raise
        return BUILTIN_INLINE_METHODS
    return BUILTIN_INLINE_METHODS | frozenset(getattr(shard_service, "INLINE_METHODS", ()))


def load_shard_methods(worker_number: int, logger: logging.Logger,
                       methods_module: str = DEFAULT_METHODS_MODULE) -> dict[str, ShardMethod]:
    methods = builtin_methods(worker_number)
    try:
        shard_service = importlib.import_module(methods_module)
    except ModuleNotFoundError as error:
        if error.name != methods_module:
            raise
        logger.warning(f"{methods_module} is missing: only built-in methods are served")
        return methods
    service_methods = getattr(shard_service, "SHARD_METHODS", None)
    if not isinstance(service_methods, dict):
        raise TypeError(f"{methods_module}.SHARD_METHODS: expected a dict of method name "
                        f"to function, got {type(service_methods).__name__}")
    # the service may override "ping"; it must not override the shutdown path
    return {**methods, **service_methods, "close_all_shards": methods["close_all_shards"]}


def method_handler(registry: ShardRegistry, methods: dict[str, ShardMethod]):
    """(method, payload, body) -> (payload, body): one shard method call, its result checked."""

    def handle(method: str, payload: dict, body: bytes) -> tuple[dict, bytes]:
        function = methods.get(method)
        if function is None:
            raise UnknownWorkerMethodError(
                f"unknown worker method {method!r}; expected one of {', '.join(sorted(methods))}")
        result: Any = function(registry, payload, body)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"worker method {method!r}: expected (dict, bytes), got {type(result).__name__}")
        return result[0], result[1] or b""

    return handle


def serve_front(frames: BlockingFrameSocket, registry: ShardRegistry, methods: dict[str, ShardMethod],
                threads: int, logger: logging.Logger, inline_methods: frozenset[str] = frozenset()) -> None:
    """Answer the front until it closes the socket. The main thread reads frames and answers the
    cheap ``inline_methods`` itself; every other method runs on one of ``threads`` long-lived
    threads that sends its own reply (ADR 0215: a trio thread hop per request cost the worker
    several times the search itself)."""
    serve_rpc_blocking(frames, method_handler(registry, methods), logger, threads,
                       on_reader_thread=inline_methods.__contains__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.workers.worker_main")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--worker-number", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--node-name", default="worker")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS_PER_WORKER)
    parser.add_argument("--no-log-file", action="store_true")
    # which module provides SHARD_METHODS: node-api's shard_service, or a test double
    parser.add_argument("--methods-module", default=DEFAULT_METHODS_MODULE)
    arguments = parser.parse_args(argv)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(arguments.node_name, arguments.log_level,
                      None if arguments.no_log_file else arguments.data / "logs", rotate=False)
    logger = get_logger(f"worker.{arguments.worker_number}")
    secret = bytes.fromhex(sys.stdin.readline().strip())
    sys.stdin.close()
    if not secret:
        logger.critical("no cluster secret on stdin; expected a hex line from the front")
        return 2

    registry = ShardRegistry(arguments.data, arguments.worker_number)
    methods = load_shard_methods(arguments.worker_number, logger, arguments.methods_module)
    connection = socket.socket(fileno=arguments.fd)
    frozen = tune_cyclic_collector()      # before any shard opens (ADR 0336)

    frames = BlockingFrameSocket(connection, secret)
    logger.info("worker started", extra={"fields": {"pid": os.getpid(), "methods": sorted(methods),
                                                    "gc_frozen_objects": frozen}})
    # the methods a restarting node needs least (search, UDFs) are imported once the worker is idle
    # (ADR 0291): its first answer, the shards' opening and their recovery do not wait for them
    start_preloading = getattr(sys.modules.get(arguments.methods_module), "start_preloading_deferred_methods", None)
    if start_preloading is not None:
        start_preloading()
    try:
        serve_front(frames, registry, methods, arguments.threads, logger,
                    load_inline_methods(arguments.methods_module))
    finally:
        registry.close_all(logger)
        frames.close()
        logger.info("worker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
