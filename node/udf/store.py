"""The node-local copy of the cluster's UDFs on disk: how the front hands them to its workers.

Owns the directory ``<data>/udf-store/``:

    modules/<sha256>.json   one registered definition (``UdfDefinition.to_json()``), content
                            addressed, so it never changes once written
    catalog.json            {"state_version", "udfs": {name: sha256}, "limits": {...},
                            "index_limits": {index: {...}}} — the names and UDF limits of the
                            latest cluster state applied here
    compiled/               wasmtime's compiled code, written by udf/'s runtime (the front when
                            it validates a registration, the workers when they compile)

The front process writes (``write_store`` after each applied cluster state that changed the
UDFs or their settings); shard workers only read (``DiskUdfCatalog``). A worker that restarts
therefore finds every UDF without asking anyone, and the cluster state stays the one source of
truth: the store is rebuilt from it on every start.

Files are replaced atomically (write a temporary file, fsync, rename). This module must never
talk to Raft, trio or the network, and never compile a module.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import orjson

from udf import UdfDefinition, UdfDefinitionError, UdfInvocationError

# Not "udf": a node started with its data directory as the working directory (as the tests do)
# has it on sys.path, and a directory named udf would shadow the udf package in its workers.
STORE_DIRECTORY_NAME = "udf-store"
CATALOG_FILE_NAME = "catalog.json"
MODULES_DIRECTORY_NAME = "modules"
COMPILED_DIRECTORY_NAME = "compiled"

# Cluster settings (PUT _cluster/settings, persistent or transient), with their defaults.
SETTING_FUEL_PER_QUERY = "quidditch.udf.fuel_per_query"
SETTING_TIMEOUT = "quidditch.udf.timeout"
SETTING_MAX_MODULE_SIZE = "quidditch.udf.max_module_size"
SETTING_MAX_MEMORY_PER_INSTANCE = "quidditch.udf.max_memory_per_instance"
# Index settings that replace the cluster's for searches on that index's shards.
INDEX_SETTING_FUEL_PER_QUERY = "index.udf.fuel_per_query"
INDEX_SETTING_TIMEOUT = "index.udf.timeout"
DEFAULT_FUEL_PER_QUERY = 1_000_000_000
DEFAULT_TIMEOUT_MILLISECONDS = 10_000.0
DEFAULT_MAX_MODULE_BYTES = 1 << 20
DEFAULT_MAX_MEMORY_BYTES_PER_INSTANCE = 64 << 20
# a module travels base64-encoded in one Raft entry (raft refuses entries above 8 MiB)
MAX_MODULE_BYTES_LIMIT = 4 << 20

# How long a worker waits for a definition its front has not written yet: a coordinator on
# another node may already have applied a PutUdf this node is about to apply.
DEFINITION_WAIT_SECONDS = 5.0
DEFINITION_POLL_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class UdfLimits:
    """The UDF limits of the latest cluster state (per query on a shard, per instance)."""

    fuel_per_query: int = DEFAULT_FUEL_PER_QUERY
    timeout_milliseconds: float = DEFAULT_TIMEOUT_MILLISECONDS
    max_module_bytes: int = DEFAULT_MAX_MODULE_BYTES
    max_memory_bytes_per_instance: int = DEFAULT_MAX_MEMORY_BYTES_PER_INSTANCE

    def to_json(self) -> dict[str, Any]:
        return {"fuel_per_query": self.fuel_per_query, "timeout_milliseconds": self.timeout_milliseconds,
                "max_module_bytes": self.max_module_bytes,
                "max_memory_bytes_per_instance": self.max_memory_bytes_per_instance}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> UdfLimits:
        data = data or {}
        defaults = cls()
        return cls(fuel_per_query=int(data.get("fuel_per_query", defaults.fuel_per_query)),
                   timeout_milliseconds=float(data.get("timeout_milliseconds", defaults.timeout_milliseconds)),
                   max_module_bytes=int(data.get("max_module_bytes", defaults.max_module_bytes)),
                   max_memory_bytes_per_instance=int(data.get("max_memory_bytes_per_instance",
                                                              defaults.max_memory_bytes_per_instance)))


def limits_from_settings(setting: Any) -> UdfLimits:
    """``setting(key, default)`` is ClusterState.setting (transient over persistent).

    A value that does not parse raises ValueError naming the setting: the API layer checks
    values before committing them (node/api/udf.py), so a stored state always parses."""
    from node.coordination.values import parse_time_seconds

    def integer(key: str, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = setting(key, None)
        if raw is None:
            return default
        try:
            value = _byte_size(raw) if key != SETTING_FUEL_PER_QUERY else int(str(raw))
        except ValueError:
            raise ValueError(f"setting [{key}]: expected a positive number, got [{raw}]") from None
        if value < minimum:
            raise ValueError(f"setting [{key}]: expected at least {minimum}, got [{raw}]")
        if maximum is not None and value > maximum:
            raise ValueError(f"setting [{key}]: expected at most {maximum}, got [{raw}]")
        return value

    timeout_raw = setting(SETTING_TIMEOUT, None)
    timeout_milliseconds = DEFAULT_TIMEOUT_MILLISECONDS
    if timeout_raw is not None:
        try:
            seconds = parse_time_seconds(timeout_raw, SETTING_TIMEOUT)
        except Exception as error:  # noqa: BLE001 — the API layer's parse error, as a ValueError
            raise ValueError(getattr(error, "reason", str(error))) from None
        if seconds is None or seconds <= 0:
            raise ValueError(f"setting [{SETTING_TIMEOUT}]: expected a positive time, got [{timeout_raw}]")
        timeout_milliseconds = seconds * 1000.0
    return UdfLimits(
        fuel_per_query=integer(SETTING_FUEL_PER_QUERY, DEFAULT_FUEL_PER_QUERY, 1),
        timeout_milliseconds=timeout_milliseconds,
        max_module_bytes=integer(SETTING_MAX_MODULE_SIZE, DEFAULT_MAX_MODULE_BYTES, 1, MAX_MODULE_BYTES_LIMIT),
        max_memory_bytes_per_instance=integer(SETTING_MAX_MEMORY_PER_INSTANCE,
                                              DEFAULT_MAX_MEMORY_BYTES_PER_INSTANCE, 64 * 1024),
    )


def index_limits_from_settings(index_settings: Mapping[str, Any], cluster_limits: UdfLimits) -> UdfLimits | None:
    """The limits for one index: its ``index.udf.*`` settings over the cluster's; None when it
    sets neither (ValueError naming the setting when one does not parse)."""
    fuel_raw = index_settings.get(INDEX_SETTING_FUEL_PER_QUERY)
    timeout_raw = index_settings.get(INDEX_SETTING_TIMEOUT)
    if fuel_raw is None and timeout_raw is None:
        return None
    overrides = {key: value for key, value in ((SETTING_FUEL_PER_QUERY, fuel_raw), (SETTING_TIMEOUT, timeout_raw))
                 if value is not None}
    try:
        parsed = limits_from_settings(lambda key, default=None: overrides.get(key, default))
    except ValueError as error:
        raise ValueError(str(error).replace("quidditch.udf.", "index.udf.")) from None
    return replace(cluster_limits,
                   fuel_per_query=parsed.fuel_per_query if fuel_raw is not None else cluster_limits.fuel_per_query,
                   timeout_milliseconds=(parsed.timeout_milliseconds if timeout_raw is not None
                                         else cluster_limits.timeout_milliseconds))


def _byte_size(raw: Any) -> int:
    from node.config import parse_byte_size

    return parse_byte_size(raw)


def store_directory(data_directory: Path) -> Path:
    return Path(data_directory) / STORE_DIRECTORY_NAME


def compiled_cache_directory(data_directory: Path) -> Path:
    return store_directory(data_directory) / COMPILED_DIRECTORY_NAME


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_store(data_directory: Path, state_version: int, udfs_json: Mapping[str, Mapping[str, Any]],
                limits: UdfLimits, index_limits: Mapping[str, UdfLimits] | None = None) -> None:
    """Bring ``<data>/udf-store`` in line with a cluster state: module files first, then the catalog
    (a worker that reads the new catalog always finds its modules), then stale modules go."""
    directory = store_directory(data_directory)
    modules = directory / MODULES_DIRECTORY_NAME
    modules.mkdir(parents=True, exist_ok=True)
    names_to_sha256: dict[str, str] = {}
    for name, definition_json in udfs_json.items():
        sha256 = str(definition_json["sha256"])
        names_to_sha256[name] = sha256
        module_path = modules / f"{sha256}.json"
        if not module_path.exists():
            _write_atomically(module_path, orjson.dumps(dict(definition_json)))
    catalog = {"state_version": state_version, "udfs": names_to_sha256, "limits": limits.to_json(),
               "index_limits": {name: value.to_json() for name, value in (index_limits or {}).items()}}
    _write_atomically(directory / CATALOG_FILE_NAME, orjson.dumps(catalog))
    wanted = {f"{sha256}.json" for sha256 in names_to_sha256.values()}
    for entry in modules.iterdir():
        if entry.name.endswith(".json") and entry.name not in wanted:
            # a query in flight on a worker already holds its definition in memory
            entry.unlink(missing_ok=True)


class DiskUdfCatalog:
    """A worker's read side of the store: names, limits and definitions, cached in memory.

    ``definition(name, sha256)`` is what the query nodes call; definitions are cached by sha256
    (content addressed, never stale) and the catalog file is re-read when its mtime changes."""

    def __init__(self, data_directory: Path, wait_seconds: float = DEFINITION_WAIT_SECONDS) -> None:
        self.directory = store_directory(data_directory)
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._catalog_stamp: tuple[int, int] | None = None
        self._names: dict[str, str] = {}
        self._limits = UdfLimits()
        self._index_limits: dict[str, UdfLimits] = {}
        self._definitions: dict[str, UdfDefinition] = {}

    def _refresh(self) -> None:
        path = self.directory / CATALOG_FILE_NAME
        try:
            status = path.stat()
        except FileNotFoundError:
            return
        stamp = (status.st_mtime_ns, status.st_size)
        with self._lock:
            if stamp == self._catalog_stamp:
                return
        try:
            catalog = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return  # replaced under us: the next call reads the new file
        with self._lock:
            self._catalog_stamp = stamp
            self._names = dict(catalog.get("udfs") or {})
            self._limits = UdfLimits.from_json(catalog.get("limits"))
            self._index_limits = {name: UdfLimits.from_json(value)
                                  for name, value in (catalog.get("index_limits") or {}).items()}
            live = set(self._names.values())
            for sha256 in [sha256 for sha256 in self._definitions if sha256 not in live]:
                del self._definitions[sha256]

    def limits(self, index_name: str | None = None) -> UdfLimits:
        """The cluster's limits, or an index's when it sets ``index.udf.*``."""
        self._refresh()
        with self._lock:
            return self._index_limits.get(index_name, self._limits) if index_name else self._limits

    def sha256s(self) -> set[str]:
        self._refresh()
        with self._lock:
            return set(self._names.values())

    def definition(self, name: str, sha256: str | None = None) -> UdfDefinition:
        """The definition the query names. With ``sha256`` (stamped by the coordinator) that
        exact module, waiting briefly for this node to apply the state that brought it."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            self._refresh()
            with self._lock:
                wanted = sha256 or self._names.get(name)
                cached = self._definitions.get(wanted) if wanted else None
            if cached is not None:
                return cached
            if wanted is not None:
                loaded = self._load(name, wanted)
                if loaded is not None:
                    return loaded
            if time.monotonic() >= deadline:
                if sha256 is None:
                    raise UdfInvocationError(f"udf [{name}] is not registered", function_name=name)
                raise UdfInvocationError(f"udf [{name}] with sha256 [{sha256}] is not known on this node "
                                         f"(deleted, or not applied here yet)", function_name=name)
            time.sleep(DEFINITION_POLL_SECONDS)

    def _load(self, name: str, sha256: str) -> UdfDefinition | None:
        path = self.directory / MODULES_DIRECTORY_NAME / f"{sha256}.json"
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError) as error:
            raise UdfDefinitionError(f"udf store file [{path}] is unreadable: {error}", function_name=name) from None
        definition = UdfDefinition.from_json(data)
        with self._lock:
            self._definitions[definition.sha256] = definition
        return definition


class StaticUdfCatalog:
    """The same interface over definitions held in memory (tests, benchmarks, in-process hosts)."""

    def __init__(self, definitions: Mapping[str, UdfDefinition] | None = None,
                 limits: UdfLimits = UdfLimits(), index_limits: Mapping[str, UdfLimits] | None = None) -> None:
        self.definitions = dict(definitions or {})
        self._limits = limits
        self._index_limits = dict(index_limits or {})

    def limits(self, index_name: str | None = None) -> UdfLimits:
        return self._index_limits.get(index_name, self._limits) if index_name else self._limits

    def sha256s(self) -> set[str]:
        return {definition.sha256 for definition in self.definitions.values()}

    def definition(self, name: str, sha256: str | None = None) -> UdfDefinition:
        definition = self.definitions.get(name)
        if definition is None or (sha256 is not None and definition.sha256 != sha256):
            raise UdfInvocationError(f"udf [{name}] is not registered", function_name=name)
        return definition
