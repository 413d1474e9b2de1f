"""The front process's side of UDFs: the cluster state's functions as the coordinator sees them.

Owns ``FrontUdfCatalog``: it follows the applied cluster state (``metadata.on_state_applied``)
and keeps ``<data>/udf-store`` (node/udf/store.py) in line with it for the shard workers; resolves a
function name to its definition for the query parse at the coordinator (its ``query_registry``,
which node/api/udf.py hands to the coordinator's ApiServices); owns the front's udf/ runtime, used only to validate registrations (it
writes compiled code into the shared ``<data>/udf-store/compiled`` cache, so workers load instead of
compiling); tells workers to drop compiled modules of deleted functions; and exports the
workers' UDF statistics as Prometheus metrics (``quidditch_udf_*``), polled every few seconds.

Must never: run a UDF on documents (workers do), block the trio loop on compiling or disk
writes (those go to threads), or change the cluster state (node/api/udf.py submits commands).
"""

from __future__ import annotations

import threading
from typing import Any

import trio
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from node.udf import queries
from node.udf.host import BATCH_SECONDS_BUCKETS
from node.udf.store import (
    UdfLimits, compiled_cache_directory, index_limits_from_settings, limits_from_settings, write_store,
)
from udf import UdfDefinition, UdfInvocationError, UdfRuntime, UdfRuntimeConfig

STATISTICS_POLL_SECONDS = 5.0
STATISTICS_CALL_TIMEOUT_SECONDS = 5.0


class FrontUdfCatalog:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.data_directory = context.config.data_directory
        self._definitions: dict[str, UdfDefinition] = {}      # sha256 → decoded definition
        self._lock = threading.Lock()
        self._runtime: UdfRuntime | None = None
        self._written: tuple[Any, UdfLimits, dict[str, UdfLimits]] | None = None
        self.worker_statistics: list[dict[str, Any]] = []
        # what this node's coordinator parses search requests with (resolves UDFs against our state)
        self.query_registry = queries.coordinator_query_registry(self.definition)

    # -- the cluster state's view --

    @property
    def state(self) -> Any:
        return self.context.metadata.state

    def limits(self, state: Any = None) -> UdfLimits:
        state = state or self.state
        try:
            return limits_from_settings(state.setting)
        except ValueError as error:
            self.context.logger.warning("udf settings do not parse; using defaults",
                                        extra={"fields": {"reason": str(error)}})
            return UdfLimits()

    def index_limits(self, state: Any, cluster_limits: UdfLimits) -> dict[str, UdfLimits]:
        """Indices that set ``index.udf.fuel_per_query`` / ``index.udf.timeout``."""
        limits: dict[str, UdfLimits] = {}
        for index_name, index in state.indices.items():
            try:
                own = index_limits_from_settings(index.settings, cluster_limits)
            except ValueError as error:
                self.context.logger.warning("index udf settings do not parse; using the cluster's",
                                            extra={"fields": {"index": index_name, "reason": str(error)}})
                continue
            if own is not None:
                limits[index_name] = own
        return limits

    def definition(self, name: str, state: Any = None) -> UdfDefinition:
        """The registered definition (UdfInvocationError when there is none)."""
        metadata = (state or self.state).udfs.get(name)
        if metadata is None:
            raise UdfInvocationError(f"udf [{name}] is not registered", function_name=name)
        with self._lock:
            cached = self._definitions.get(metadata.sha256)
        if cached is not None and cached.name == name:
            return cached
        definition = UdfDefinition.from_json(metadata.to_json())
        with self._lock:
            self._definitions[definition.sha256] = definition
        return definition

    def runtime(self) -> UdfRuntime:
        with self._lock:
            if self._runtime is None:
                self._runtime = UdfRuntime(UdfRuntimeConfig(
                    max_memory_bytes_per_instance=self.limits().max_memory_bytes_per_instance,
                    compiled_cache_directory=str(compiled_cache_directory(self.data_directory))))
            return self._runtime

    def close(self) -> None:
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.close()

    # -- following the cluster state --

    def attach(self) -> None:
        self._write(self.state)  # the state applied before we listened
        self.context.metadata.on_state_applied(self.on_state_applied)
        registry = getattr(getattr(self.context, "metrics", None), "registry", None)
        if registry is not None:
            registry.register(_UdfMetricsCollector(self))
        background = getattr(self.context, "background", None)
        if background is not None:
            background.start_soon(self._poll_statistics)

    def _write(self, state: Any) -> bool:
        """Bring <data>/udf-store in line with ``state``; True when something changed."""
        limits = self.limits(state)
        index_limits = self.index_limits(state, limits)
        if self._written is not None and self._written == (state.udfs, limits, index_limits):
            return False
        write_store(self.data_directory, state.version,
                    {name: metadata.to_json() for name, metadata in state.udfs.items()}, limits, index_limits)
        self._written = (state.udfs, limits, index_limits)
        live = {metadata.sha256 for metadata in state.udfs.values()}
        with self._lock:
            for sha256 in [sha256 for sha256 in self._definitions if sha256 not in live]:
                del self._definitions[sha256]
        return True

    async def on_state_applied(self, previous: Any, new_state: Any) -> None:
        if self._written is not None and previous.udfs == new_state.udfs and previous.indices is new_state.indices \
                and self.limits(previous) == self.limits(new_state):
            return
        await trio.to_thread.run_sync(self._write, new_state)
        removed = set(previous.udfs) - set(new_state.udfs) or {
            name for name in previous.udfs if name in new_state.udfs
            and previous.udfs[name].sha256 != new_state.udfs[name].sha256}
        if removed:
            live = sorted({metadata.sha256 for metadata in new_state.udfs.values()})
            self.context.background.start_soon(self._retain_on_workers, live)
            if self._runtime is not None:
                self._runtime.retain_only(live)

    async def _retain_on_workers(self, live_sha256s: list[str]) -> None:
        try:
            await self.context.workers.broadcast("udf_retain", {"sha256s": live_sha256s})
        except Exception:  # noqa: BLE001 — only frees memory early; workers also evict by LRU
            self.context.logger.debug("udf_retain broadcast failed", exc_info=True)

    # -- statistics for metrics --

    async def _poll_statistics(self) -> None:
        while True:
            await trio.sleep(STATISTICS_POLL_SECONDS)
            if not self.state.udfs and not self.worker_statistics:
                continue  # nothing registered, nothing ever ran: no need to wake the workers
            await self.refresh_statistics()

    async def refresh_statistics(self) -> None:
        try:
            with trio.move_on_after(STATISTICS_CALL_TIMEOUT_SECONDS):
                replies = await self.context.workers.broadcast("udf_statistics", {})
                self.worker_statistics = [payload.get("statistics") or {} for payload, _ in replies]
        except Exception:  # noqa: BLE001 — a restarting worker: keep the last figures
            self.context.logger.debug("udf statistics poll failed", exc_info=True)

    def summed_statistics(self) -> dict[str, Any]:
        calls: dict[tuple[str, str, str], int] = {}
        fuel: dict[str, int] = {}
        documents: dict[str, int] = {}
        buckets = [0] * (len(BATCH_SECONDS_BUCKETS) + 1)
        batch_count = 0
        batch_seconds = 0.0
        for statistics in self.worker_statistics:
            for name, kind, outcome, count in statistics.get("calls") or ():
                calls[(name, kind, outcome)] = calls.get((name, kind, outcome), 0) + int(count)
            for name, value in (statistics.get("fuel") or {}).items():
                fuel[name] = fuel.get(name, 0) + int(value)
            for name, value in (statistics.get("documents") or {}).items():
                documents[name] = documents.get(name, 0) + int(value)
            for position, value in enumerate(statistics.get("batch_buckets") or ()):
                if position < len(buckets):
                    buckets[position] += int(value)
            batch_count += int(statistics.get("batch_count") or 0)
            batch_seconds += float(statistics.get("batch_seconds_sum") or 0.0)
        return {"calls": calls, "fuel": fuel, "documents": documents, "batch_buckets": buckets,
                "batch_count": batch_count, "batch_seconds_sum": batch_seconds}


class _UdfMetricsCollector:
    """quidditch_udf_* from the last poll of the workers (summed over this node's workers)."""

    def __init__(self, catalog: FrontUdfCatalog) -> None:
        self.catalog = catalog

    def describe(self) -> list:
        return []

    def collect(self) -> Any:
        summed = self.catalog.summed_statistics()
        calls = CounterMetricFamily("quidditch_udf_calls", "UDF invocations (one per segment evaluated), by "
                                    "function, kind and outcome (ok, trap, out_of_fuel, timeout, memory_limit, "
                                    "bad_output).", labels=["udf", "kind", "outcome"])
        traps = CounterMetricFamily("quidditch_udf_traps", "UDF invocations that failed (any outcome but ok).",
                                    labels=["udf"])
        failed: dict[str, int] = {}
        for (name, kind, outcome), count in sorted(summed["calls"].items()):
            calls.add_metric([name, kind, outcome], count)
            if outcome != "ok":
                failed[name] = failed.get(name, 0) + count
        for name, count in sorted(failed.items()):
            traps.add_metric([name], count)
        fuel = CounterMetricFamily("quidditch_udf_fuel", "Fuel (about one unit per wasm instruction) used by "
                                   "UDFs, by function.", labels=["udf"])
        for name, value in sorted(summed["fuel"].items()):
            fuel.add_metric([name], value)
        documents = CounterMetricFamily("quidditch_udf_documents", "Candidate documents passed to UDFs, by "
                                        "function.", labels=["udf"])
        for name, value in sorted(summed["documents"].items()):
            documents.add_metric([name], value)
        cumulative = 0
        histogram_buckets = []
        for bound, count in zip((*map(str, BATCH_SECONDS_BUCKETS), "+Inf"), summed["batch_buckets"]):
            cumulative += count
            histogram_buckets.append((bound, cumulative))
        batches = HistogramMetricFamily("quidditch_udf_batch_seconds", "Wall-clock time per UDF batch (one wasm "
                                        "call over up to 4096 candidates).", buckets=histogram_buckets,
                                        sum_value=summed["batch_seconds_sum"])
        registered = GaugeMetricFamily("quidditch_udf_registered", "UDFs in the cluster state.",
                                       value=len(self.catalog.state.udfs))
        return [calls, traps, fuel, documents, batches, registered]
