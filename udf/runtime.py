"""The wasmtime runtime: compile, validate, cache, and run UDF batches under limits.

Owns: the one wasmtime Engine of a runtime (fuel and epoch interruption on), the cache of
compiled modules keyed by (sha256, engine configuration fingerprint), validation of a module
against udf/abi.py at registration, pools of instances (each in its own Store, with its own
memory cap), the epoch ticker thread that bounds wall-clock time, and the translation of every
wasmtime failure into udf/errors.py.

Must never: import index/, raft/, node/ or trio; let a wasmtime exception escape; let a module
crash or hang the process (fuel, epoch deadline and the memory limiter are always set before
entering wasm); call into wasm once per document.

Thread-safety contract: a ``UdfRuntime`` may be shared by any number of threads. wasmtime
Stores are not thread-safe, so every call borrows an instance (Store + Instance) from the
module's pool for its whole duration and returns it afterwards; no two threads ever touch one
Store. Calls on different threads run in parallel (wasmtime releases the GIL while wasm runs).
An instance whose call failed is discarded, never reused, because a trap can leave its memory
half-written.

Time: with ``epoch_ticker="thread"`` (the default) the runtime runs one daemon thread that
increments the engine epoch every ``epoch_tick_milliseconds`` while at least one call is in
flight and sleeps otherwise. With ``epoch_ticker="manual"`` nothing ticks unless the caller
calls ``tick_epoch()`` (tests, or a host that already has a timer).
"""

from __future__ import annotations

import collections
import ctypes
import hashlib
import math
import os
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import wasmtime

from udf import abi
from udf.errors import (
    UdfBadOutputError,
    UdfExecutionError,
    UdfInvocationError,
    UdfMemoryLimitError,
    UdfOutOfFuelError,
    UdfTimeoutError,
    UdfTrapError,
    UdfValidationError,
)
from udf.registry import (
    DEFAULT_MAX_MODULE_BYTES,
    UdfDefinition,
    UdfRegistration,
    check_module_size,
    parse_registration_body,
    resolve_params,
)

_WASM_PAGE_BYTES = 65536
_WASMTIME_VERSION = importlib_metadata.version("wasmtime")

try:
    # wasmtime-py's public Func.__call__ re-reads the function type and converts every argument
    # through Val objects: ~70 us for an (i32, i32) call here, against ~4 us for the underlying
    # C call. The batch calls go straight to the C API through wasmtime's own ctypes bindings
    # (ADR 0090); if a future wasmtime-py moves them, we fall back to the public call.
    from wasmtime import _ffi as _wasmtime_ffi

    _DIRECT_CALLS_AVAILABLE = all(
        hasattr(_wasmtime_ffi, symbol)
        for symbol in ("wasmtime_func_call", "wasmtime_val_t", "wasm_trap_t", "WASMTIME_I32")
    ) and hasattr(wasmtime.Trap, "_from_ptr") and hasattr(wasmtime.WasmtimeError, "_from_ptr")
except ImportError:  # pragma: no cover - depends on the installed wasmtime
    _wasmtime_ffi = None
    _DIRECT_CALLS_AVAILABLE = False


# ---- configuration and values ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UdfEngineConfig:
    """Everything that changes the machine code wasmtime produces; part of the cache key."""

    cranelift_opt_level: str = "speed"          # "none" | "speed" | "speed_and_size"
    max_wasm_stack_bytes: int = 512 * 1024      # deeper recursion traps "call stack exhausted"

    def fingerprint(self) -> str:
        # Fuel and epoch instrumentation are always on in this runtime, so they are constants
        # of the key; the wasmtime version is in it because compiled code is version-bound.
        return (f"wasmtime={_WASMTIME_VERSION};opt={self.cranelift_opt_level};"
                f"stack={self.max_wasm_stack_bytes};fuel=1;epoch=1")


@dataclass(frozen=True, slots=True)
class UdfRuntimeConfig:
    engine: UdfEngineConfig = UdfEngineConfig()
    max_memory_bytes_per_instance: int = 64 << 20   # the Store limiter's linear-memory cap
    epoch_tick_milliseconds: float = 10.0           # timeout granularity
    epoch_ticker: str = "thread"                    # "thread" | "manual" (see module docstring)
    batch_document_count: int = 4096                # documents per wasm call
    max_idle_instances_per_module: int = 4          # pooled instances kept per module
    max_live_instances_per_module: int = 16         # instances in use at once; more callers wait
    max_cached_modules: int = 256                   # compiled modules kept (least recently used go)
    validation_fuel: int = 10_000_000               # fuel for instantiation + abi_version at registration
    validation_timeout_milliseconds: float = 2_000.0
    direct_batch_calls: bool = True                 # call batch exports through the C API (ADR 0090)
    compiled_cache_directory: str | None = None     # keep compiled code across restarts (e.g. <data>/udf-cache)

    def __post_init__(self) -> None:
        if self.epoch_ticker not in ("thread", "manual"):
            raise ValueError(f"epoch_ticker must be 'thread' or 'manual', got {self.epoch_ticker!r}")
        if not 1 <= self.batch_document_count <= 1 << 24:
            raise ValueError(f"batch_document_count must be in [1, 2^24], got {self.batch_document_count}")
        if self.max_live_instances_per_module < 1:
            raise ValueError(
                f"max_live_instances_per_module must be at least 1, got {self.max_live_instances_per_module}"
            )
        if self.epoch_tick_milliseconds <= 0:
            raise ValueError(f"epoch_tick_milliseconds must be positive, got {self.epoch_tick_milliseconds}")
        if self.max_memory_bytes_per_instance < _WASM_PAGE_BYTES:
            raise ValueError(
                f"max_memory_bytes_per_instance must be at least one wasm page ({_WASM_PAGE_BYTES}), "
                f"got {self.max_memory_bytes_per_instance}"
            )


@dataclass(frozen=True, slots=True)
class ExecutionLimits:
    """Bounds for one ``run_filter``/``run_score`` call, shared by all its batches."""

    fuel: int = 1_000_000_000          # wasm instructions, roughly; over all batches of the call
    timeout_milliseconds: float = 10_000.0

    def __post_init__(self) -> None:
        if self.fuel < 0 or self.fuel >= 1 << 63:
            raise ValueError(f"fuel must be in [0, 2^63), got {self.fuel}")
        if self.timeout_milliseconds <= 0:
            raise ValueError(f"timeout_milliseconds must be positive, got {self.timeout_milliseconds}")


@dataclass(frozen=True, slots=True)
class FieldColumn:
    """One declared field's value per candidate document: float64 + presence (bool)."""

    values: np.ndarray
    present: np.ndarray

    @classmethod
    def from_values(cls, values: Any) -> FieldColumn:
        """From numbers with NaN for missing."""
        values = np.asarray(values, dtype=np.float64)
        return cls(values=values, present=~np.isnan(values))

    @classmethod
    def all_missing(cls, document_count: int) -> FieldColumn:
        """For a declared field the segment does not have at all."""
        return cls(values=np.full(document_count, np.nan), present=np.zeros(document_count, dtype=bool))

    @classmethod
    def from_numeric_doc_values(cls, offsets: np.ndarray, doc_values: np.ndarray,
                                doc_ids: np.ndarray) -> FieldColumn:
        """From CSR doc values (index/'s NumericDocValues shape) for the given doc ids.

        A multi-valued document contributes its first (smallest) value, as OpenSearch's
        ``doc['field'].value`` does. Dates are epoch milliseconds (exact in f64 up to 2^53).
        """
        doc_ids = np.asarray(doc_ids, dtype=np.int64)
        starts = offsets[doc_ids]
        present = offsets[doc_ids + 1] > starts
        values = np.full(len(doc_ids), np.nan, dtype=np.float64)
        values[present] = doc_values[starts[present]]
        return cls(values=values, present=present)


@dataclass(frozen=True, slots=True)
class FilterOutcome:
    keep: np.ndarray          # bool, one per candidate, in input order
    fuel_consumed: int
    batch_count: int


@dataclass(frozen=True, slots=True)
class ScoreOutcome:
    scores: np.ndarray        # float64, finite and >= 0, one per candidate, in input order
    fuel_consumed: int
    batch_count: int


@dataclass(frozen=True, slots=True)
class CompiledUdf:
    """A validated, compiled module. ``kinds`` are the batch functions it exports."""

    sha256: str
    engine_fingerprint: str
    kinds: tuple[str, ...]
    abi_version: int
    module: wasmtime.Module = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class UdfRuntimeStatistics:
    cached_modules: int
    compile_cache_hits: int
    compile_cache_misses: int
    invocations: int
    batches: int
    failures: int
    fuel_consumed: int
    idle_instances: int
    busy_instances: int             # instances running a call right now
    disk_cache_loads: int           # modules loaded from compiled_cache_directory instead of compiled
    disk_cache_stores: int


# ---- the epoch ticker ------------------------------------------------------------------------


class _EpochTicker:
    """Increments the engine epoch while calls are in flight; idle otherwise (no busy wake-ups)."""

    def __init__(self, engine: wasmtime.Engine, tick_seconds: float) -> None:
        self._engine = engine
        self._tick_seconds = tick_seconds
        self._condition = threading.Condition()
        self._active_calls = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    def enter(self) -> None:
        with self._condition:
            if self._closed:
                raise UdfExecutionError("the udf runtime is closed")
            self._active_calls += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="udf-epoch-ticker", daemon=True)
                self._thread.start()
            self._condition.notify()

    def exit(self) -> None:
        with self._condition:
            self._active_calls -= 1

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._active_calls == 0 and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
            time.sleep(self._tick_seconds)
            self._engine.increment_epoch()


# ---- the on-disk cache of compiled code ------------------------------------------------------


class _CompiledModuleDirectory:
    """Compiled machine code on disk, keyed by module sha256 and engine fingerprint.

    ``Module.deserialize`` trusts its input (it is machine code), so every file carries a
    magic and the sha256 of its payload, is written atomically (temp file, fsync, rename), and
    is only ever written after the module passed validation. A file that is unreadable, torn or
    refused by wasmtime (another version or configuration) is ignored and rewritten.
    """

    _MAGIC = b"QUIDDITCH-UDF-CWASM-1\n"

    def __init__(self, directory: Path, engine: wasmtime.Engine, engine_fingerprint: str) -> None:
        self._directory = directory
        self._engine = engine
        self._fingerprint_digest = hashlib.sha256(engine_fingerprint.encode()).hexdigest()[:16]
        self.loads = 0
        self.stores = 0

    def _path(self, sha256: str) -> Path:
        return self._directory / f"{sha256}-{self._fingerprint_digest}.cwasm"

    def load(self, sha256: str) -> wasmtime.Module | None:
        try:
            data = self._path(sha256).read_bytes()
        except OSError:
            return None
        header_length = len(self._MAGIC) + 32
        if len(data) < header_length or not data.startswith(self._MAGIC):
            return None
        payload = data[header_length:]
        if hashlib.sha256(payload).digest() != data[len(self._MAGIC):header_length]:
            return None
        try:
            module = wasmtime.Module.deserialize(self._engine, payload)
        except wasmtime.WasmtimeError:
            return None
        self.loads += 1
        return module

    def store(self, sha256: str, module: wasmtime.Module) -> None:
        try:
            payload = bytes(module.serialize())
            self._directory.mkdir(parents=True, exist_ok=True)
            final_path = self._path(sha256)
            temporary_path = final_path.with_name(f".{final_path.name}.{threading.get_ident()}.tmp")
            with open(temporary_path, "wb") as file:
                file.write(self._MAGIC + hashlib.sha256(payload).digest() + payload)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary_path, final_path)
            self.stores += 1
        except (OSError, wasmtime.WasmtimeError):
            # The cache is an optimisation: a full disk must not fail a registration or a search.
            return


# ---- pooled instances ------------------------------------------------------------------------


class _DirectBatchCall:
    """Calls an ``(i32, i32) -> i32`` export through the C API with preallocated arguments.

    Raises wasmtime.Trap / wasmtime.WasmtimeError exactly as ``Func.__call__`` would, so the
    caller translates both paths the same way. The arguments are range-checked by the caller:
    ctypes, like wasmtime-py, would wrap an out-of-range integer silently.
    """

    __slots__ = ("_store", "_function", "_context", "_function_reference", "_arguments", "_results")

    def __init__(self, store: wasmtime.Store, function: wasmtime.Func) -> None:
        ffi = _wasmtime_ffi
        self._store = store            # keeps the context alive as long as this object
        self._function = function
        self._context = store._context()
        self._function_reference = ctypes.byref(function._func)
        self._arguments = (ffi.wasmtime_val_t * 2)()
        self._arguments[0].kind = ffi.WASMTIME_I32.value
        self._arguments[1].kind = ffi.WASMTIME_I32.value
        self._results = (ffi.wasmtime_val_t * 1)()

    def __call__(self, store: wasmtime.Store, first: int, second: int) -> int:
        ffi = _wasmtime_ffi
        self._arguments[0].of.i32 = first
        self._arguments[1].of.i32 = second
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        error = ffi.wasmtime_func_call(self._context, self._function_reference, self._arguments, 2,
                                       self._results, 1, ctypes.byref(trap))
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
        if trap:
            raise wasmtime.Trap._from_ptr(trap)
        return self._results[0].of.i32


class _Instance:
    """One Store + Instance; used by one thread at a time (the pool guarantees it)."""

    __slots__ = ("store", "memory", "functions", "reserved_pointer", "reserved_bytes")

    def __init__(self, store: wasmtime.Store, memory: wasmtime.Memory,
                 functions: dict[str, Any]) -> None:
        self.store = store
        self.memory = memory
        self.functions = functions
        self.reserved_pointer = 0
        self.reserved_bytes = 0


class _ModulePool:
    """The compiled module, its idle instances, and a bound on instances alive at once."""

    def __init__(self, compiled: CompiledUdf, max_live_instances: int) -> None:
        self.compiled = compiled
        self.lock = threading.Lock()
        self.idle: list[_Instance] = []
        self.busy = 0                    # instances lent out right now (statistics)
        self.max_live_instances = max_live_instances
        # Each live instance may hold up to the memory cap: this bounds a module's memory to
        # max_live_instances x max_memory_bytes_per_instance however many threads call it.
        self.live_slots = threading.BoundedSemaphore(max_live_instances)


@dataclass
class _CallBudget:
    """Fuel and deadline left for one run_* call, carried across its wasm calls."""

    function_name: str
    fuel_limit: int
    fuel_remaining: int
    timeout_milliseconds: float
    deadline: float


# ---- the runtime -----------------------------------------------------------------------------


class UdfRuntime:
    """Compile once, run many: one per process (a node's shard worker). See the module docstring."""

    def __init__(self, config: UdfRuntimeConfig = UdfRuntimeConfig()) -> None:
        self.config = config
        wasmtime_config = wasmtime.Config()
        wasmtime_config.consume_fuel = True
        wasmtime_config.epoch_interruption = True
        wasmtime_config.cranelift_opt_level = config.engine.cranelift_opt_level
        wasmtime_config.max_wasm_stack = config.engine.max_wasm_stack_bytes
        wasmtime_config.wasm_threads = False
        self.engine = wasmtime.Engine(wasmtime_config)
        self.engine_fingerprint = config.engine.fingerprint()
        self._tick_seconds = config.epoch_tick_milliseconds / 1000.0
        self._ticker = _EpochTicker(self.engine, self._tick_seconds) if config.epoch_ticker == "thread" else None
        self._disk_cache = (_CompiledModuleDirectory(Path(config.compiled_cache_directory), self.engine,
                                                     self.engine_fingerprint)
                            if config.compiled_cache_directory is not None else None)
        self._cache_lock = threading.Lock()
        self._compile_lock = threading.Lock()
        self._pools: collections.OrderedDict[tuple[str, str], _ModulePool] = collections.OrderedDict()
        self._statistics_lock = threading.Lock()
        self._compile_cache_hits = 0
        self._compile_cache_misses = 0
        self._invocations = 0
        self._batches = 0
        self._failures = 0
        self._fuel_consumed = 0
        self._closed = False

    # -- lifecycle --

    def close(self) -> None:
        """Stop the ticker thread and drop every compiled module and instance."""
        self._closed = True
        if self._ticker is not None:
            self._ticker.close()
        with self._cache_lock:
            self._pools.clear()

    def __enter__(self) -> UdfRuntime:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def tick_epoch(self) -> None:
        """Advance the engine epoch by one tick (the manual ticker's clock; thread-safe)."""
        self.engine.increment_epoch()

    def statistics(self) -> UdfRuntimeStatistics:
        with self._cache_lock:
            cached = len(self._pools)
            idle = sum(len(pool.idle) for pool in self._pools.values())
            busy = sum(pool.busy for pool in self._pools.values())
        with self._statistics_lock:
            return UdfRuntimeStatistics(
                cached_modules=cached, compile_cache_hits=self._compile_cache_hits,
                compile_cache_misses=self._compile_cache_misses, invocations=self._invocations,
                batches=self._batches, failures=self._failures, fuel_consumed=self._fuel_consumed,
                idle_instances=idle, busy_instances=busy,
                disk_cache_loads=self._disk_cache.loads if self._disk_cache is not None else 0,
                disk_cache_stores=self._disk_cache.stores if self._disk_cache is not None else 0,
            )

    # -- registration --

    def build_definition(self, name: str, body: Any,
                         max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES) -> UdfDefinition:
        """``PUT /_udf/{name}``: parse the body, compile WAT, validate against the ABI.

        Returns the definition to store in the cluster state. Raises UdfDefinitionError /
        UdfModuleTooLargeError / UdfValidationError (all 400s) with the reason.
        """
        return self.definition_from_registration(parse_registration_body(name, body, max_module_bytes))

    def definition_from_registration(self, registration: UdfRegistration) -> UdfDefinition:
        name = registration.name
        if registration.wat_text is not None:
            try:
                module_bytes = bytes(wasmtime.wat2wasm(registration.wat_text))
            except wasmtime.WasmtimeError as error:
                raise UdfValidationError(
                    f"[wat] does not parse: {_first_line(str(error))}", function_name=name
                ) from None
        else:
            assert registration.wasm_bytes is not None
            module_bytes = registration.wasm_bytes
        check_module_size(name, module_bytes, registration.max_module_bytes)
        compiled = self._compile_module(name, module_bytes, expected_abi_version=None).compiled
        for declared_kind in registration.kinds:
            if declared_kind not in compiled.kinds:
                raise UdfValidationError(
                    f"[kind] declares \"{declared_kind}\" but the module does not export "
                    f"{abi.EXPORT_FOR_KIND[declared_kind]}; it exports {_kinds_text(compiled.kinds)}",
                    function_name=name,
                )
        return UdfDefinition.create(
            name=name, module_bytes=module_bytes, description=registration.description,
            kinds=registration.kinds or compiled.kinds, inputs=registration.inputs,
            abi_version=compiled.abi_version,
        )

    def compile(self, definition: UdfDefinition) -> CompiledUdf:
        """The compiled, validated module for a definition; compiled once, then cached."""
        return self._compile_module(definition.name, definition.module_bytes,
                                    expected_abi_version=definition.abi_version,
                                    sha256=definition.sha256).compiled

    def forget(self, sha256: str) -> bool:
        """Drop a module from the cache (its UDF was deleted). True if it was cached."""
        with self._cache_lock:
            return self._pools.pop((sha256, self.engine_fingerprint), None) is not None

    def retain_only(self, sha256s: Any) -> int:
        """Drop every cached module whose sha256 is not in ``sha256s`` (the UDFs of the latest
        cluster state); returns how many were dropped. Calls in flight finish normally."""
        keep = set(sha256s)
        with self._cache_lock:
            stale = [key for key in self._pools if key[0] not in keep]
            for key in stale:
                del self._pools[key]
        return len(stale)

    # -- execution --

    def run_filter(self, definition: UdfDefinition, document_count: int,
                   fields: Mapping[str, FieldColumn], params: Mapping[str, Any] | np.ndarray | None,
                   limits: ExecutionLimits = ExecutionLimits(),
                   scores: np.ndarray | None = None) -> FilterOutcome:
        """Which of ``document_count`` candidates to keep; one wasm call per batch.

        ``fields`` maps each declared field to its column (extra entries are ignored);
        ``params`` are the query's named params (or an already-resolved float64 array);
        ``scores`` are passed to the module if given, else zeros.
        """
        keep, fuel_consumed, batch_count = self._run(abi.KIND_FILTER, definition, document_count,
                                                     fields, params, limits, scores)
        return FilterOutcome(keep=keep, fuel_consumed=fuel_consumed, batch_count=batch_count)

    def run_score(self, definition: UdfDefinition, scores: np.ndarray,
                  fields: Mapping[str, FieldColumn], params: Mapping[str, Any] | np.ndarray | None,
                  limits: ExecutionLimits = ExecutionLimits()) -> ScoreOutcome:
        """New scores for the candidates whose current scores are ``scores`` (float64)."""
        scores = np.asarray(scores, dtype=np.float64)
        new_scores, fuel_consumed, batch_count = self._run(abi.KIND_SCORE, definition, len(scores),
                                                           fields, params, limits, scores)
        return ScoreOutcome(scores=new_scores, fuel_consumed=fuel_consumed, batch_count=batch_count)

    # ---- internals ---------------------------------------------------------------------------

    def _compile_module(self, name: str, module_bytes: bytes, expected_abi_version: int | None,
                        sha256: str | None = None) -> _ModulePool:
        if self._closed:
            raise UdfExecutionError("the udf runtime is closed", function_name=name)
        if sha256 is None:
            sha256 = hashlib.sha256(module_bytes).hexdigest()
        key = (sha256, self.engine_fingerprint)
        pool = self._cached_pool(key)
        if pool is None:
            # One compile at a time: compiles are rare (registration, first use per node), and
            # this stops two threads compiling the same module twice.
            with self._compile_lock:
                pool = self._cached_pool(key)
                if pool is None:
                    # The sha256 is the cache key: a definition whose hash does not match its
                    # bytes would poison the cache for every UDF with that hash.
                    actual_sha256 = hashlib.sha256(module_bytes).hexdigest()
                    if actual_sha256 != sha256:
                        raise UdfValidationError(
                            f"the definition's sha256 {sha256!r} does not match its module, which "
                            f"hashes to {actual_sha256!r}",
                            function_name=name,
                        )
                    compiled = self._validate_and_compile(name, module_bytes, sha256)
                    pool = _ModulePool(compiled, self.config.max_live_instances_per_module)
                    with self._cache_lock:
                        self._pools[key] = pool
                        while len(self._pools) > self.config.max_cached_modules:
                            self._pools.popitem(last=False)
                    with self._statistics_lock:
                        self._compile_cache_misses += 1
        if expected_abi_version is not None and pool.compiled.abi_version != expected_abi_version:
            raise UdfValidationError(
                f"the definition says abi version {expected_abi_version} but the module declares "
                f"{pool.compiled.abi_version}",
                function_name=name,
            )
        return pool

    def _cached_pool(self, key: tuple[str, str]) -> _ModulePool | None:
        with self._cache_lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
        if pool is not None:
            with self._statistics_lock:
                self._compile_cache_hits += 1
        return pool

    def _validate_and_compile(self, name: str, module_bytes: bytes, sha256: str) -> CompiledUdf:
        module = self._disk_cache.load(sha256) if self._disk_cache is not None else None
        if module is None:
            try:
                module = wasmtime.Module(self.engine, module_bytes)
            except wasmtime.WasmtimeError as error:
                raise UdfValidationError(
                    f"the module does not compile: {_error_cause(str(error))}", function_name=name
                ) from None
            compiled_here = True
        else:
            compiled_here = False
        compiled = self._validate_module(name, module, sha256)
        # Only modules that passed validation are written, so the disk never holds a bad one.
        if compiled_here and self._disk_cache is not None:
            self._disk_cache.store(sha256, module)
        return compiled

    def _validate_module(self, name: str, module: wasmtime.Module, sha256: str) -> CompiledUdf:
        imports = [f"{entry.module}.{entry.name}" for entry in module.imports]
        if imports:
            raise UdfValidationError(
                f"the module imports {imports}; udf modules may import nothing", function_name=name
            )
        exports = {entry.name: entry.type for entry in module.exports}
        memory_type = exports.get(abi.MEMORY_EXPORT)
        if not isinstance(memory_type, wasmtime.MemoryType):
            raise UdfValidationError(
                f"the module must export a memory named \"{abi.MEMORY_EXPORT}\""
                + ("" if memory_type is None else f", but that export is a {_extern_kind(memory_type)}"),
                function_name=name,
            )
        if memory_type.is_64 or memory_type.is_shared:
            raise UdfValidationError(
                "the exported memory must be a 32-bit, unshared memory", function_name=name
            )
        for export_name, signature in abi.REQUIRED_FUNCTION_SIGNATURES.items():
            _check_function_export(name, exports, export_name, signature, required=True)
        kinds = tuple(
            kind for kind in abi.KINDS
            if _check_function_export(name, exports, abi.EXPORT_FOR_KIND[kind],
                                      abi.BATCH_FUNCTION_SIGNATURE, required=False)
        )
        if not kinds:
            raise UdfValidationError(
                f"the module must export {abi.FILTER_EXPORT} or {abi.SCORE_EXPORT} "
                f"(i32 region, i32 document_count) -> i32 status; it exports neither",
                function_name=name,
            )
        provisional = CompiledUdf(sha256=sha256, engine_fingerprint=self.engine_fingerprint,
                                  kinds=kinds, abi_version=0, module=module)
        budget = self._new_budget(name, ExecutionLimits(
            fuel=self.config.validation_fuel,
            timeout_milliseconds=self.config.validation_timeout_milliseconds,
        ))
        self._enter()
        try:
            instance = self._instantiate(provisional, name, budget)
            declared_version = self._call(instance, abi.ABI_VERSION_EXPORT, (), budget)
        except UdfExecutionError as error:
            raise UdfValidationError(
                f"the module failed while starting up or reporting its abi version: {error.reason}",
                function_name=name,
            ) from None
        finally:
            self._exit()
        if declared_version not in abi.SUPPORTED_ABI_VERSIONS:
            raise UdfValidationError(
                f"{abi.ABI_VERSION_EXPORT}() returned {declared_version}; this node supports abi "
                f"versions {list(abi.SUPPORTED_ABI_VERSIONS)}",
                function_name=name,
            )
        return CompiledUdf(sha256=sha256, engine_fingerprint=self.engine_fingerprint,
                           kinds=kinds, abi_version=declared_version, module=module)

    def _new_budget(self, name: str, limits: ExecutionLimits) -> _CallBudget:
        return _CallBudget(function_name=name, fuel_limit=limits.fuel, fuel_remaining=limits.fuel,
                           timeout_milliseconds=limits.timeout_milliseconds,
                           deadline=time.monotonic() + limits.timeout_milliseconds / 1000.0)

    def _enter(self) -> None:
        if self._ticker is not None:
            self._ticker.enter()

    def _exit(self) -> None:
        if self._ticker is not None:
            self._ticker.exit()

    def _arm(self, store: wasmtime.Store, budget: _CallBudget) -> None:
        """Set fuel and the epoch deadline before entering wasm: never enter unbounded."""
        remaining_seconds = budget.deadline - time.monotonic()
        if remaining_seconds <= 0:
            raise UdfTimeoutError(f"timed out after {budget.timeout_milliseconds:g}ms",
                                  function_name=budget.function_name)
        # +1: the first tick may come at once, so one tick of slack keeps the bound a minimum.
        store.set_epoch_deadline(max(1, math.ceil(remaining_seconds / self._tick_seconds)) + 1)
        store.set_fuel(budget.fuel_remaining)

    def _instantiate(self, compiled: CompiledUdf, name: str, budget: _CallBudget) -> _Instance:
        store = wasmtime.Store(self.engine)
        store.set_limits(memory_size=self.config.max_memory_bytes_per_instance)
        self._arm(store, budget)
        try:
            instance = wasmtime.Instance(store, compiled.module, [])
        except wasmtime.Trap as trap:
            raise self._translate_trap(trap, budget, None, store) from None
        except wasmtime.WasmtimeError as error:
            message = str(error)
            if "memory" in message and "limit" in message:
                raise UdfMemoryLimitError(
                    f"memory limit of {self.config.max_memory_bytes_per_instance} bytes exceeded at "
                    f"instantiation: {_first_line(message)}",
                    function_name=name,
                ) from None
            raise UdfTrapError(f"instantiation failed: {_error_cause(message)}", function_name=name) from None
        finally:
            self._account_fuel(store, budget)
        exports = instance.exports(store)
        memory = exports[abi.MEMORY_EXPORT]
        functions: dict[str, Any] = {
            export_name: exports[export_name]
            for export_name in (abi.ABI_VERSION_EXPORT, abi.RESERVE_EXPORT,
                                *(abi.EXPORT_FOR_KIND[kind] for kind in compiled.kinds))
        }
        if self.config.direct_batch_calls and _DIRECT_CALLS_AVAILABLE:
            for kind in compiled.kinds:
                export_name = abi.EXPORT_FOR_KIND[kind]
                functions[export_name] = _DirectBatchCall(store, functions[export_name])
        return _Instance(store, memory, functions)

    def _account_fuel(self, store: wasmtime.Store, budget: _CallBudget) -> None:
        try:
            remaining = store.get_fuel()
        except wasmtime.WasmtimeError:
            remaining = 0
        budget.fuel_remaining = min(budget.fuel_remaining, remaining)

    def _call(self, instance: _Instance, export_name: str, arguments: tuple[int, ...],
              budget: _CallBudget) -> int:
        store = instance.store
        self._arm(store, budget)
        try:
            result = instance.functions[export_name](store, *arguments)
        except wasmtime.Trap as trap:
            raise self._translate_trap(trap, budget, instance.memory, store) from None
        except wasmtime.WasmtimeError as error:
            raise UdfTrapError(f"{export_name} failed: {_error_cause(str(error))}",
                               function_name=budget.function_name) from None
        finally:
            self._account_fuel(store, budget)
        return result

    def _translate_trap(self, trap: wasmtime.Trap, budget: _CallBudget,
                        memory: wasmtime.Memory | None, store: wasmtime.Store) -> UdfExecutionError:
        code = trap.trap_code
        name = budget.function_name
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return UdfOutOfFuelError(f"out of fuel: used all {budget.fuel_limit} units of fuel",
                                     function_name=name, fuel_limit=budget.fuel_limit)
        if code == wasmtime.TrapCode.INTERRUPT:
            return UdfTimeoutError(f"timed out after {budget.timeout_milliseconds:g}ms",
                                   function_name=name, timeout_milliseconds=budget.timeout_milliseconds)
        cause = _error_cause(str(trap))
        if memory is not None and self._memory_exhausted(memory, store):
            return UdfMemoryLimitError(
                f"memory limit of {self.config.max_memory_bytes_per_instance} bytes reached ({cause})",
                function_name=name,
            )
        return UdfTrapError(cause, function_name=name)

    def _memory_exhausted(self, memory: wasmtime.Memory, store: wasmtime.Store) -> bool:
        # The limiter makes memory.grow return -1 rather than trap, so a module that then traps
        # (or reports failure) at the cap ran out of memory: say so rather than "unreachable".
        return memory.data_len(store) + _WASM_PAGE_BYTES > self.config.max_memory_bytes_per_instance

    def _acquire(self, pool: _ModulePool, name: str, budget: _CallBudget) -> _Instance:
        """An instance for this call; waits (within the call's deadline) while all are busy."""
        if not pool.live_slots.acquire(timeout=max(0.0, budget.deadline - time.monotonic())):
            raise UdfTimeoutError(
                f"timed out after {budget.timeout_milliseconds:g}ms waiting for a free instance "
                f"(all {pool.max_live_instances} are busy)",
                function_name=name,
            )
        try:
            with pool.lock:
                instance = pool.idle.pop() if pool.idle else None
            if instance is None:
                instance = self._instantiate(pool.compiled, name, budget)
        except BaseException:
            pool.live_slots.release()
            raise
        with pool.lock:
            pool.busy += 1
        return instance

    def _release(self, pool: _ModulePool, instance: _Instance, reuse: bool) -> None:
        """Give the slot back; pool the instance only if its call succeeded."""
        with pool.lock:
            pool.busy -= 1
            if reuse and len(pool.idle) < self.config.max_idle_instances_per_module:
                pool.idle.append(instance)
        pool.live_slots.release()

    def _reserve(self, instance: _Instance, byte_count: int, budget: _CallBudget) -> int:
        if byte_count <= instance.reserved_bytes:
            return instance.reserved_pointer
        pointer = self._call(instance, abi.RESERVE_EXPORT, (byte_count,), budget)
        memory_bytes = instance.memory.data_len(instance.store)
        if pointer <= 0 or pointer % abi.ALIGNMENT or pointer + byte_count > memory_bytes:
            if self._memory_exhausted(instance.memory, instance.store) or pointer == 0:
                raise UdfMemoryLimitError(
                    f"{abi.RESERVE_EXPORT}({byte_count}) could not reserve the batch region "
                    f"(returned {pointer}); the memory limit is "
                    f"{self.config.max_memory_bytes_per_instance} bytes",
                    function_name=budget.function_name,
                )
            raise UdfBadOutputError(
                f"{abi.RESERVE_EXPORT}({byte_count}) returned {pointer}: expected a non-zero, "
                f"8-byte aligned pointer to {byte_count} bytes inside the {memory_bytes}-byte memory",
                function_name=budget.function_name,
            )
        instance.reserved_pointer = pointer
        instance.reserved_bytes = byte_count
        return pointer

    def _region(self, instance: _Instance, pointer: int, byte_count: int,
                budget: _CallBudget) -> np.ndarray:
        # Re-taken after every call: memory.grow may move the memory.
        memory_bytes = instance.memory.data_len(instance.store)
        if pointer + byte_count > memory_bytes:
            raise UdfBadOutputError(
                f"the batch region [{pointer}, {pointer + byte_count}) is outside the "
                f"{memory_bytes}-byte memory (did the module shrink or move it?)",
                function_name=budget.function_name,
            )
        return np.frombuffer(instance.memory.get_buffer_ptr(instance.store, byte_count, pointer),
                             dtype=np.uint8)

    def _run(self, kind: str, definition: UdfDefinition, document_count: int,
             fields: Mapping[str, FieldColumn], params: Mapping[str, Any] | np.ndarray | None,
             limits: ExecutionLimits, scores: np.ndarray | None) -> tuple[np.ndarray, int, int]:
        name = definition.name
        pool = self._compile_module(name, definition.module_bytes, definition.abi_version,
                                    sha256=definition.sha256)
        compiled = pool.compiled
        allowed_kinds = definition.kinds or compiled.kinds
        if kind not in allowed_kinds or kind not in compiled.kinds:
            raise UdfInvocationError(
                f"udf [{name}] is not a {kind} function; it provides {_kinds_text(allowed_kinds)}",
                function_name=name,
            )
        if not isinstance(document_count, (int, np.integer)) or document_count < 0:
            raise UdfInvocationError(f"document_count must be a non-negative integer, got {document_count!r}",
                                     function_name=name)
        document_count = int(document_count)
        params_array = _resolve_params_array(definition, params)
        field_values, field_present = _prepare_columns(definition, document_count, fields)
        if scores is not None:
            scores = np.asarray(scores, dtype=np.float64)
            if len(scores) != document_count:
                raise UdfInvocationError(
                    f"scores has {len(scores)} entries, expected {document_count}", function_name=name
                )
        output = (np.empty(document_count, dtype=np.float64) if kind == abi.KIND_SCORE
                  else np.empty(document_count, dtype=bool))
        with self._statistics_lock:
            self._invocations += 1
        if document_count == 0:
            return output, 0, 0
        batch_size = self.config.batch_document_count
        field_count = len(definition.inputs.fields)
        batch_export = abi.EXPORT_FOR_KIND[kind]
        budget = self._new_budget(name, limits)
        batch_count = 0
        self._enter()
        try:
            instance = self._acquire(pool, name, budget)
            # A failed instance may hold half-written state: it is dropped, never pooled.
            succeeded = False
            try:
                for start in range(0, document_count, batch_size):
                    stop = min(start + batch_size, document_count)
                    try:
                        layout = abi.plan_batch_layout(stop - start, field_count, len(params_array))
                    except ValueError as error:
                        raise UdfMemoryLimitError(str(error), function_name=name) from None
                    if layout.total_bytes > self.config.max_memory_bytes_per_instance:
                        raise UdfMemoryLimitError(
                            f"a batch of {stop - start} documents with {field_count} fields needs "
                            f"{layout.total_bytes} bytes, over the memory limit of "
                            f"{self.config.max_memory_bytes_per_instance} bytes",
                            function_name=name,
                        )
                    pointer = self._reserve(instance, layout.total_bytes, budget)
                    region = self._region(instance, pointer, layout.total_bytes, budget)
                    abi.write_batch(
                        region, layout, kind, params_array,
                        None if scores is None else scores[start:stop],
                        [column[start:stop] for column in field_values],
                        [column[start:stop] for column in field_present],
                    )
                    del region
                    status = self._call(instance, batch_export, (pointer, stop - start), budget)
                    batch_count += 1
                    if status != 0:
                        if self._memory_exhausted(instance.memory, instance.store):
                            raise UdfMemoryLimitError(
                                f"memory limit of {self.config.max_memory_bytes_per_instance} bytes "
                                f"reached ({batch_export} returned status {status})",
                                function_name=name,
                            )
                        raise UdfBadOutputError(
                            f"{batch_export} returned status {status}, expected 0",
                            function_name=name, status=status,
                        )
                    region = self._region(instance, pointer, layout.total_bytes, budget)
                    if kind == abi.KIND_SCORE:
                        batch_scores = abi.read_score_output(region, layout)
                        _check_scores(name, batch_scores, start)
                        output[start:stop] = batch_scores
                    else:
                        output[start:stop] = abi.read_filter_output(region, layout)
                    del region
                succeeded = True
            finally:
                self._release(pool, instance, reuse=succeeded)
        except UdfExecutionError:
            with self._statistics_lock:
                self._failures += 1
                self._batches += batch_count
                self._fuel_consumed += budget.fuel_limit - budget.fuel_remaining
            raise
        finally:
            self._exit()
        fuel_consumed = budget.fuel_limit - budget.fuel_remaining
        with self._statistics_lock:
            self._batches += batch_count
            self._fuel_consumed += fuel_consumed
        return output, fuel_consumed, batch_count


# ---- helpers ---------------------------------------------------------------------------------


def _resolve_params_array(definition: UdfDefinition,
                          params: Mapping[str, Any] | np.ndarray | None) -> np.ndarray:
    if isinstance(params, np.ndarray):
        expected = len(definition.inputs.params)
        if params.shape != (expected,):
            raise UdfInvocationError(
                f"params array has shape {params.shape}, expected ({expected},)",
                function_name=definition.name,
            )
        return params.astype(np.float64, copy=False)
    return resolve_params(definition, params)


def _prepare_columns(definition: UdfDefinition, document_count: int,
                     fields: Mapping[str, FieldColumn]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every declared field as (float64 with NaN where missing, uint8 presence), length N."""
    values_columns: list[np.ndarray] = []
    present_columns: list[np.ndarray] = []
    for field_name in definition.inputs.fields:
        column = fields.get(field_name)
        if column is None:
            raise UdfInvocationError(
                f"no column for declared field [{field_name}]; got columns for {sorted(fields)}",
                function_name=definition.name,
            )
        values = np.asarray(column.values, dtype=np.float64)
        present = np.asarray(column.present, dtype=bool)
        if values.shape != (document_count,) or present.shape != (document_count,):
            raise UdfInvocationError(
                f"column for field [{field_name}] has {values.shape[0] if values.ndim else 0} values "
                f"and {present.shape[0] if present.ndim else 0} presence flags, expected {document_count}",
                function_name=definition.name,
            )
        values_columns.append(np.where(present, values, np.nan))
        present_columns.append(present.view(np.uint8))
    return values_columns, present_columns


def _check_scores(name: str, batch_scores: np.ndarray, batch_start: int) -> None:
    bad = ~(np.isfinite(batch_scores) & (batch_scores >= 0.0))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise UdfBadOutputError(
            f"score_batch produced {batch_scores[position]!r} for candidate {batch_start + position}; "
            f"scores must be finite and non-negative",
            function_name=name, candidate=batch_start + position,
        )


def _check_function_export(name: str, exports: dict[str, Any], export_name: str,
                           signature: tuple[tuple[str, ...], tuple[str, ...]], required: bool) -> bool:
    export_type = exports.get(export_name)
    expected = _signature_text(*signature)
    if export_type is None:
        if required:
            raise UdfValidationError(
                f"the module must export function {export_name} {expected}; it is missing",
                function_name=name,
            )
        return False
    if not isinstance(export_type, wasmtime.FuncType):
        raise UdfValidationError(
            f"export {export_name} must be a function {expected}, got a {_extern_kind(export_type)}",
            function_name=name,
        )
    actual = (tuple(str(value) for value in export_type.params),
              tuple(str(value) for value in export_type.results))
    if actual != signature:
        raise UdfValidationError(
            f"export {export_name} has signature {_signature_text(*actual)}, expected {expected}",
            function_name=name,
        )
    return True


def _signature_text(params: Sequence[str], results: Sequence[str]) -> str:
    return f"({', '.join(params)}) -> ({', '.join(results)})"


def _extern_kind(extern_type: Any) -> str:
    return {
        wasmtime.FuncType: "function", wasmtime.MemoryType: "memory",
        wasmtime.GlobalType: "global", wasmtime.TableType: "table",
    }.get(type(extern_type), type(extern_type).__name__)


def _kinds_text(kinds: Sequence[str]) -> str:
    return " and ".join(kinds) if kinds else "nothing"


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


def _error_cause(message: str) -> str:
    """wasmtime's root cause ("wasm trap: ...", a parse error) rather than its backtrace."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith("wasm trap:"):
            return line
    if not lines:
        return message
    if "Caused by:" in lines:
        causes = [line.lstrip("0123456789: ") for line in lines[lines.index("Caused by:") + 1:]]
        if lines[0].startswith("error while executing"):
            return "; ".join(causes)
        return f"{lines[0]}: {'; '.join(causes)}"
    return lines[0]


__all__ = [
    "CompiledUdf", "ExecutionLimits", "FieldColumn", "FilterOutcome", "ScoreOutcome",
    "UdfEngineConfig", "UdfRuntime", "UdfRuntimeConfig", "UdfRuntimeStatistics",
]
