"""The worker-side UDF host: one udf/ runtime per process, per-query budgets, and statistics.

Owns ``UdfHost`` — the object the ``wasm_udf`` and ``script_score`` query nodes
(node/udf/queries.py) call while a shard evaluates a segment: it finds the definition
(``DiskUdfCatalog`` in a worker, any object with ``definition/limits/sha256s`` in tests), runs
the module through ``udf.UdfRuntime`` under the cluster's limits, and counts what happened for
the node's metrics. The fuel and the wall-clock bound are **per query on a shard**: every
segment of one search on one shard draws from the same budget (keyed by the request's
``SearchContext``), so a shard with fifty segments gets no more than one with one.

``process_host()`` is the shard worker's host, created on first use inside the worker process
(a wasmtime engine and its epoch ticker thread must not cross a fork; workers are spawned, and
the runtime is created after). ``UDF_WORKER_METHODS`` are the worker methods node/workers
merges into its table: ``udf_statistics`` (for metrics) and ``udf_retain`` (drop compiled
modules of deleted UDFs).

Must never: talk to Raft, trio or the network; import wasmtime itself (udf/ does); swallow an
execution error — a trap, exhausted fuel or a timeout fails that shard's part of the search.
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from node.udf.store import DiskUdfCatalog, UdfLimits, compiled_cache_directory
from udf import (
    ExecutionLimits, FieldColumn, UdfDefinition, UdfExecutionError, UdfMemoryLimitError, UdfOutOfFuelError,
    UdfRuntime, UdfRuntimeConfig, UdfTimeoutError, UdfTrapError,
)

# Upper bounds (seconds) of the time-per-batch histogram exported as quidditch_udf_batch_seconds.
BATCH_SECONDS_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 10.0)
OUTCOMES = ("ok", "trap", "out_of_fuel", "timeout", "memory_limit", "bad_output")
# Budgets of queries that finished are forgotten by age: a worker runs a handful of searches at
# once, so this many recent ones always include every search still running.
MAX_TRACKED_BUDGETS = 512


def _outcome_of(error: BaseException) -> str:
    if isinstance(error, UdfOutOfFuelError):
        return "out_of_fuel"
    if isinstance(error, UdfTimeoutError):
        return "timeout"
    if isinstance(error, UdfMemoryLimitError):
        return "memory_limit"
    if isinstance(error, UdfTrapError):
        return "trap"
    return "bad_output"


class _QueryBudget:
    __slots__ = ("context", "remaining_fuel", "deadline")

    def __init__(self, context: Any, fuel: int, deadline: float) -> None:
        self.context = context          # held so its id() is not reused while tracked
        self.remaining_fuel = fuel
        self.deadline = deadline


class UdfHost:
    """Runs UDF batches for the query nodes of one process. Thread-safe."""

    def __init__(self, catalog: Any, runtime: UdfRuntime | None = None,
                 compiled_directory: Path | None = None) -> None:
        self.catalog = catalog
        self._runtime = runtime
        self._compiled_directory = compiled_directory
        self._lock = threading.Lock()
        self._budgets: collections.OrderedDict[int, _QueryBudget] = collections.OrderedDict()
        self._calls: dict[tuple[str, str, str], int] = {}          # (udf, kind, outcome) → calls
        self._fuel: dict[str, int] = {}                             # udf → fuel consumed
        self._documents: dict[str, int] = {}                        # udf → candidates evaluated
        self._batch_buckets = [0] * (len(BATCH_SECONDS_BUCKETS) + 1)
        self._batch_count = 0
        self._batch_seconds_sum = 0.0

    # -- the runtime --

    @property
    def runtime(self) -> UdfRuntime:
        with self._lock:
            if self._runtime is None:
                limits = self.catalog.limits()
                self._runtime = UdfRuntime(UdfRuntimeConfig(
                    max_memory_bytes_per_instance=limits.max_memory_bytes_per_instance,
                    compiled_cache_directory=(str(self._compiled_directory)
                                              if self._compiled_directory is not None else None)))
            return self._runtime

    def close(self) -> None:
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.close()

    def definition(self, name: str, sha256: str | None) -> UdfDefinition:
        return self.catalog.definition(name, sha256)

    # -- budgets --

    def _limits_for(self, context: Any) -> ExecutionLimits:
        """What is left of this query's fuel and time on this shard (first call starts it)."""
        limits: UdfLimits = self.catalog.limits(getattr(context, "index_name", None) or None)
        key = id(context)
        now = time.monotonic()
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None or budget.context is not context:
                budget = _QueryBudget(context, limits.fuel_per_query, now + limits.timeout_milliseconds / 1000.0)
                self._budgets[key] = budget
                while len(self._budgets) > MAX_TRACKED_BUDGETS:
                    self._budgets.popitem(last=False)
            remaining_fuel = budget.remaining_fuel
            remaining_milliseconds = (budget.deadline - now) * 1000.0
        if remaining_fuel <= 0:
            raise UdfOutOfFuelError(f"out of fuel: this query used all {limits.fuel_per_query} units of fuel "
                                    f"on this shard")
        if remaining_milliseconds <= 0:
            raise UdfTimeoutError(f"timed out after {limits.timeout_milliseconds:g}ms on this shard")
        return ExecutionLimits(fuel=remaining_fuel, timeout_milliseconds=remaining_milliseconds)

    def _spend(self, context: Any, fuel: int) -> None:
        with self._lock:
            budget = self._budgets.get(id(context))
            if budget is not None and budget.context is context:
                budget.remaining_fuel -= fuel

    # -- running --

    def run_filter(self, definition: UdfDefinition, context: Any, fields: Mapping[str, FieldColumn],
                   params: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Keep flags (bool) for the candidates; raises the udf/ execution error, counted."""
        def call(limits: ExecutionLimits) -> tuple[np.ndarray, int, int]:
            outcome = self.runtime.run_filter(definition, len(scores), fields, params, limits, scores=scores)
            return outcome.keep, outcome.fuel_consumed, outcome.batch_count
        return self._run("filter", definition, context, len(scores), call)

    def run_score(self, definition: UdfDefinition, context: Any, fields: Mapping[str, FieldColumn],
                  params: np.ndarray, scores: np.ndarray) -> np.ndarray:
        def call(limits: ExecutionLimits) -> tuple[np.ndarray, int, int]:
            outcome = self.runtime.run_score(definition, scores, fields, params, limits)
            return outcome.scores, outcome.fuel_consumed, outcome.batch_count
        return self._run("score", definition, context, len(scores), call)

    def _run(self, kind: str, definition: UdfDefinition, context: Any, document_count: int, call: Any) -> np.ndarray:
        limits = self._limits_for(context)
        started = time.perf_counter()
        try:
            result, fuel_consumed, batch_count = call(limits)
        except UdfExecutionError as error:
            # the runtime does not report the fuel a failed call burnt: count the whole budget
            # for exhausted fuel, nothing otherwise (never more than was really used)
            self._spend(context, limits.fuel if isinstance(error, UdfOutOfFuelError) else 0)
            self._record(definition.name, kind, _outcome_of(error), limits.fuel if isinstance(
                error, UdfOutOfFuelError) else 0, document_count, 0, time.perf_counter() - started)
            raise
        self._spend(context, fuel_consumed)
        self._record(definition.name, kind, "ok", fuel_consumed, document_count, batch_count,
                     time.perf_counter() - started)
        return result

    def _record(self, name: str, kind: str, outcome: str, fuel: int, documents: int, batches: int,
                seconds: float) -> None:
        with self._lock:
            key = (name, kind, outcome)
            self._calls[key] = self._calls.get(key, 0) + 1
            self._fuel[name] = self._fuel.get(name, 0) + fuel
            self._documents[name] = self._documents.get(name, 0) + documents
            if batches:
                per_batch = seconds / batches
                position = int(np.searchsorted(BATCH_SECONDS_BUCKETS, per_batch))
                self._batch_buckets[position] += batches
                self._batch_count += batches
                self._batch_seconds_sum += seconds

    # -- reporting --

    def statistics(self) -> dict[str, Any]:
        """Counters since the process started (orjson-able; the front sums over workers)."""
        with self._lock:
            body: dict[str, Any] = {
                "calls": [[name, kind, outcome, count] for (name, kind, outcome), count in self._calls.items()],
                "fuel": dict(self._fuel),
                "documents": dict(self._documents),
                "batch_buckets": list(self._batch_buckets),
                "batch_count": self._batch_count,
                "batch_seconds_sum": self._batch_seconds_sum,
            }
            runtime = self._runtime
        if runtime is not None:
            runtime_statistics = runtime.statistics()
            body["cached_modules"] = runtime_statistics.cached_modules
            body["compile_cache_misses"] = runtime_statistics.compile_cache_misses
            body["disk_cache_loads"] = runtime_statistics.disk_cache_loads
        return body

    def retain_only(self, sha256s: Any) -> int:
        with self._lock:
            runtime = self._runtime
        return runtime.retain_only(sha256s) if runtime is not None else 0


# ---- the worker process's host -----------------------------------------------------------------

_process_lock = threading.Lock()
_process_host: list[UdfHost] = []


def configure_process_host(data_directory: Path) -> UdfHost:
    """The host of this process over ``<data>/udf-store`` (idempotent: the first data directory wins)."""
    with _process_lock:
        if not _process_host:
            data_directory = Path(data_directory)
            _process_host.append(UdfHost(DiskUdfCatalog(data_directory),
                                         compiled_directory=compiled_cache_directory(data_directory)))
        return _process_host[0]


def process_host() -> UdfHost:
    """The shard worker's host; its data directory is the worker's ``--data`` argument."""
    with _process_lock:
        if _process_host:
            return _process_host[0]
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data", type=Path)
    arguments, _ = parser.parse_known_args(sys.argv[1:])
    if arguments.data is None:
        raise UdfExecutionError("no udf host in this process: it is not a shard worker (no --data argument) "
                                "and none was passed in the search context's udf_hooks")
    return configure_process_host(arguments.data)


def _statistics_method(registry: Any, payload: dict, body: bytes) -> tuple[dict, bytes]:
    host = configure_process_host(registry.data_directory)
    return {"statistics": host.statistics()}, b""


def _retain_method(registry: Any, payload: dict, body: bytes) -> tuple[dict, bytes]:
    host = configure_process_host(registry.data_directory)
    return {"dropped": host.retain_only(payload.get("sha256s") or ())}, b""


UDF_WORKER_METHODS = {"udf_statistics": _statistics_method, "udf_retain": _retain_method}
UDF_INLINE_METHODS = frozenset({"udf_statistics"})
