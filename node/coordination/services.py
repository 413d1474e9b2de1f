"""``ApiServices``: what every API handler shares — the NodeContext, the shard director, admission
control — plus the cluster-metadata operations several APIs need (create an index, commit a
mapping update, wait for primaries).

Owns: index creation (settings/mappings/aliases validated and normalized here, committed through
Raft, then waiting for primaries like ``wait_for_active_shards=1``), ``commit_mapping_update``
(merge with index.mapping, ``PutMapping`` fenced by the mapping version, retried on a stale
version), and ``submit`` (a rejected outcome becomes its OpenSearch error).

Handlers in node/api (and the search engineer's) reach it with ``services_of(app)``.
It must never talk to a worker except through the ShardDirector.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import Any

import trio

from index.analysis import AnalysisRegistry
from index.errors import IndexEngineError
from index.mapping import Mapping
from node.coordination.admission import AdmissionControl
from node.coordination.shards import ShardDirector
from node.coordination.stats import IndexCounters
from index.query import DEFAULT_QUERY_REGISTRY
from node.cluster.errors import ClusterUnavailableError, CommandOutcomeUnknownError
from node.errors import ApiError, IllegalArgumentError, IndexNotFoundError, outcome_error
from raft.commands import CreateIndex, PutMapping

EXTENSION_KEY = "quidditch_api"
MAPPING_UPDATE_ATTEMPTS = 10
INDEX_SETTINGS_KEYS_ALLOWED_FLAT = ("index.",)


def services_of(app: Any) -> ApiServices:
    return app.extensions[EXTENSION_KEY]


def new_index_uuid() -> str:
    # OpenSearch index uuids are 22-char URL-safe base64 of random bytes
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")


def mapping_limits(flat_index_settings: dict[str, Any]) -> tuple[int, int]:
    """(index.mapping.total_fields.limit, index.mapping.depth.limit) of an index, OpenSearch's
    defaults when unset; a value that is not a positive integer is a 400 naming the setting."""
    from index.mapping.mapping import DEFAULT_DEPTH_LIMIT, DEFAULT_TOTAL_FIELDS_LIMIT

    limits = []
    for key, default in (("index.mapping.total_fields.limit", DEFAULT_TOTAL_FIELDS_LIMIT),
                         ("index.mapping.depth.limit", DEFAULT_DEPTH_LIMIT)):
        raw = flat_index_settings.get(key)
        try:
            value = default if raw is None else int(str(raw))
        except ValueError:
            raise IllegalArgumentError(f"Failed to parse value [{raw}] for setting [{key}]") from None
        if value < 1:
            raise IllegalArgumentError(f"Failed to parse value [{raw}] for setting [{key}] must be >= 1")
        limits.append(value)
    return limits[0], limits[1]


TYPED_MAPPING_ERRORS = {
    "create_index": "The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true.",
    "put_mapping": "Types cannot be provided in put mapping requests",
}


def _empty_field_name(properties: Any) -> bool:
    if not isinstance(properties, dict):
        return False
    for name, definition in properties.items():
        if name == "":
            return True
        if isinstance(definition, dict) and (_empty_field_name(definition.get("properties"))
                                             or _empty_field_name(definition.get("fields"))):
            return True
    return False


def normalize_mappings(mappings: Any, request_kind: str = "create_index") -> dict:
    """The mappings body of create-index / PUT _mapping → the stored form (validated).

    A body nested under the type name ``_doc`` (the pre-7 typed form) is refused as OpenSearch
    refuses it (``request_kind`` picks its message: create index or put mapping); an empty field
    name is a mapper_parsing_exception caused by an illegal_argument_exception, as there."""
    if mappings is None:
        return {}
    if not isinstance(mappings, dict):
        raise ApiError(f"Failed to parse mapping: expected an object, got [{mappings}]",
                       opensearch_type="mapper_parsing_exception")
    if len(mappings) == 1 and "_doc" in mappings and isinstance(mappings["_doc"], dict):
        raise IllegalArgumentError(TYPED_MAPPING_ERRORS[request_kind])
    if _empty_field_name(mappings.get("properties")):
        raise ApiError("Failed to parse mapping [_doc]: name cannot be empty string",
                       opensearch_type="mapper_parsing_exception",
                       caused_by={"type": "illegal_argument_exception", "reason": "name cannot be empty string"})
    return Mapping.from_json(mappings).to_json()


class ApiServices:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.director = ShardDirector(context)
        self.admission = AdmissionControl(context.metadata)
        # per index name: indexing/search request counters for _stats (the engine counts the rest)
        self.index_counters: dict[str, IndexCounters] = defaultdict(IndexCounters)
        # the registry every search parse at this coordinator uses; node/api/udf.py replaces it
        # with the node's own (UDFs resolved against this node's cluster state)
        self.query_registry: Any = DEFAULT_QUERY_REGISTRY
        # search.max_buckets lives in the cluster state; the aggregation renderer asks for it
        from index.aggregations.render import set_max_buckets_provider

        set_max_buckets_provider(lambda: self.state.setting("search.max_buckets"))

    def record_search(self, index_names: list[str], query_millis: float, fetch_millis: float = 0.0,
                      scroll: bool = False) -> None:
        """For the search API: count one search over ``index_names`` in _stats."""
        for index_name in index_names:
            counters = self.index_counters[index_name]
            counters.query_total += 1
            counters.query_time_millis += query_millis
            if fetch_millis:
                counters.fetch_total += 1
                counters.fetch_time_millis += fetch_millis
            if scroll:
                counters.scroll_total += 1

    @property
    def state(self) -> Any:
        return self.context.metadata.state

    async def submit_until_known(self, command: Any, timeout_seconds: float = 30.0) -> Any:
        """Submit ``command`` until its outcome is known, as OpenSearch's master actions retry
        across a master failover: an unknown outcome (leader change, deadline) or no leader yet is
        resubmitted with the SAME command id, which raft/ applies at most once. After
        ``timeout_seconds`` the last error propagates (a 503: the outcome is still unknown)."""
        deadline = trio.current_time() + timeout_seconds
        while True:
            remaining = deadline - trio.current_time()
            try:
                return await self.context.metadata.submit(command, max(0.5, remaining))
            except (CommandOutcomeUnknownError, ClusterUnavailableError):
                if trio.current_time() + 0.2 >= deadline:
                    raise
                await trio.sleep(0.2)

    async def submit(self, command: Any, timeout_seconds: float = 30.0, **error_extra: Any) -> Any:
        outcome = await self.submit_until_known(command, timeout_seconds)
        if outcome is None:
            raise ApiError("the cluster command was committed without an outcome",
                           opensearch_type="illegal_state_exception")
        if not outcome.accepted and not outcome.duplicate:
            raise outcome_error(outcome, **error_extra)
        return outcome

    # ------------------------------------------------------------------ indices

    def build_create_index(self, index_name: str, body: dict | None) -> CreateIndex:
        body = body or {}
        if not isinstance(body, dict):
            raise IllegalArgumentError(f"create index body: expected an object, got [{body}]")
        unknown = sorted(set(body) - {"settings", "mappings", "aliases"})
        if unknown:
            raise ApiError(f"unknown key [{unknown[0]}] for create index", opensearch_type="parse_exception")
        settings = body.get("settings") or {}
        if not isinstance(settings, dict):
            raise IllegalArgumentError(f"[settings]: expected an object, got [{settings}]")
        from raft.apply import normalize_index_settings

        flat_settings = normalize_index_settings(settings)
        try:
            from node.coordination.values import shard_settings_from_index_settings

            shard_settings_from_index_settings(flat_settings)
            analysis = AnalysisRegistry.from_index_settings(flat_settings)
            mappings = normalize_mappings(body.get("mappings"))
            parsed_mappings = Mapping.from_json(mappings)
            parsed_mappings.check_analyzers(analysis.has)
            # the field limits hold from the start, not only for later updates
            parsed_mappings.check_limits(*mapping_limits(flat_settings))
        except IndexEngineError:
            raise
        aliases = body.get("aliases") or {}
        if not isinstance(aliases, dict):
            raise IllegalArgumentError(f"[aliases]: expected an object, got [{aliases}]")
        return CreateIndex(index_name=index_name, index_uuid=new_index_uuid(),
                           creation_date=int(time.time() * 1000), settings=flat_settings, mappings=mappings,
                           aliases=aliases)

    async def create_index(self, index_name: str, body: dict | None, wait_seconds: float = 30.0,
                           wait_for_active_shards: str = "1") -> tuple[Any, bool]:
        """Commit the index, then wait for its primaries; returns (index metadata, shards_acknowledged)."""
        command = self.build_create_index(index_name, body)
        await self.submit(command, index=index_name)
        index = self.state.indices.get(index_name)
        if index is None:
            raise IndexNotFoundError(index_name)
        acknowledged = await self.wait_for_active_shards(index_name, wait_for_active_shards, wait_seconds)
        return self.state.indices.get(index_name, index), acknowledged

    async def wait_for_active_shards(self, index_name: str, wait_for_active_shards: str | None,
                                     wait_seconds: float) -> bool:
        wanted = (wait_for_active_shards or "1").strip().lower()
        if wanted == "0" or wanted == "none":
            return True
        deadline = trio.current_time() + wait_seconds
        while True:
            state = self.state
            shards = state.routing_table.get(index_name)
            if shards is None:
                return False
            ready = True
            for shard in shards:
                started = [c for c in shard.copies if c.state in ("STARTED", "RELOCATING")]
                primary = shard.primary()
                if wanted == "all":
                    if len(started) < len(shard.copies):
                        ready = False
                else:
                    needed = int(wanted) if wanted.isdigit() else 1
                    if primary is None or primary.state not in ("STARTED", "RELOCATING") or len(started) < needed:
                        ready = False
                if primary is not None and primary.node_id == self.context.node_id:
                    local = self.director.local.get((state.indices[index_name].uuid, shard.shard_number))
                    if local is None or not local.opened.is_set():
                        ready = False
            if ready:
                return True
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                return False
            await self.director.wait_for_state_change(min(remaining, 0.25))

    # ------------------------------------------------------------------ mappings

    async def commit_mapping_update(self, index_name: str, update: dict) -> Any:
        """Merge ``update`` into the index's mapping and commit it; returns the index metadata."""
        for attempt in range(MAPPING_UPDATE_ATTEMPTS):
            index = self.state.indices.get(index_name)
            if index is None:
                raise IndexNotFoundError(index_name)
            merged = Mapping.from_json(index.mappings).merge(update, *mapping_limits(index.settings)).to_json()
            if merged == index.mappings:
                return index
            outcome = await self.submit_until_known(PutMapping(
                index_name=index_name, mappings=merged, expected_mapping_version=index.mapping_version))
            if outcome is not None and (outcome.accepted or outcome.duplicate):
                return self.state.indices.get(index_name, index)
            if outcome is not None and outcome.error_type == "stale_mapping_version_exception":
                await trio.sleep(0.01 * attempt)
                continue
            raise outcome_error(outcome, index=index_name)
        raise ApiError(f"mapping update for [{index_name}] kept racing with other updates; gave up after "
                       f"{MAPPING_UPDATE_ATTEMPTS} attempts", opensearch_type="illegal_state_exception")
