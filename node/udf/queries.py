"""The query types ``wasm_udf`` (filter) and ``script_score`` with ``lang: wasm`` (scorer).

Owns the two query nodes node/ plugs into index/query's extension point (they live here, not in
index/, because index/ must never import udf/), their parse functions, and
``register_query_types(registry)``. Importing this module registers both into index/query's
``DEFAULT_QUERY_REGISTRY``, so every ``parse_search_request`` / ``SearchRequest.from_wire`` in
the process — at the coordinator and in the shard workers — knows them.

    {"wasm_udf": {"name": "in_range", "params": {"lo": 1, "hi": 5},
                  "query": {...}?, "boost": 1.0?, "sha256": "..."?}}
    {"script_score": {"query": {...}, "script": {"lang": "wasm", "source": "recency",
                                                 "params": {...}}, "min_score": 0.5?, "boost": 1.0?}}

Both evaluate inside the shard, per segment, over every candidate, in batches (udf/'s ABI):
``wasm_udf`` over the live documents of the segment — or, with ``query``, over that query's
matches, keeping their scores — and ``script_score`` over its query's matches, replacing each
score with the function's. At the coordinator (the front process) the node's CoordinatorQueryRegistry (built by
node/udf/front.py, used by every parse at that coordinator) checks the function exists, has the right kind and accepts the params (a 400
before any shard is asked) and stamps the module's ``sha256`` into the node, so every shard runs
the same module version even while a new one is being registered.

Must never: import wasmtime, trio or Raft; evaluate per document in Python; turn an execution
error into a silent non-match (it fails that shard's part of the search).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from index.errors import QueryParsingError, QueryShardError
from index.query import DEFAULT_QUERY_REGISTRY, QueryNode, QueryRegistry
from index.query.execution import DocScores, docs_from_bitmap
from udf import UdfDefinition, UdfExecutionError, UdfInvocationError, columns_from_segment, resolve_params

WASM_UDF_QUERY = "wasm_udf"
SCRIPT_SCORE_QUERY = "script_score"
WASM_LANG = "wasm"

# name → (definition) at the coordinator
CoordinatorResolver = Callable[[str], UdfDefinition]


class CoordinatorQueryRegistry(QueryRegistry):
    """The query registry of one node's front: the default parse functions, and this node's view
    of the cluster state's UDFs for resolving ``wasm_udf`` / ``script_score`` at parse time.

    The resolver lives on the registry each coordinator passes to ``parse_search_request``, never
    in a module global: several nodes (or test apps) in one process each resolve against their own
    cluster state, and a node that stopped leaves nothing behind for the next parse."""

    def __init__(self, parse_functions: dict | None, udf_resolver: CoordinatorResolver) -> None:
        super().__init__(parse_functions)
        self.udf_resolver = udf_resolver

    def copy(self) -> "CoordinatorQueryRegistry":
        return CoordinatorQueryRegistry(self._parse_functions, self.udf_resolver)


def coordinator_query_registry(resolver: CoordinatorResolver) -> CoordinatorQueryRegistry:
    """node/udf/front.py builds one per front from the default registry (wasm_udf included)."""
    return CoordinatorQueryRegistry(DEFAULT_QUERY_REGISTRY._parse_functions, resolver)


def _params_json(params: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {name: value for name, value in params}


@dataclass(frozen=True, slots=True)
class WasmUdfQuery(QueryNode):
    """Keeps the candidates a UDF's ``filter_batch`` keeps."""

    query_type: ClassVar[str] = WASM_UDF_QUERY
    name: str
    params: tuple[tuple[str, Any], ...] = ()
    sha256: str | None = None
    query: QueryNode | None = None
    boost: float = 1.0

    def children(self) -> tuple[QueryNode, ...]:
        return (self.query,) if self.query is not None else ()

    def to_json(self) -> dict:
        body: dict[str, Any] = {"name": self.name, "params": _params_json(self.params)}
        if self.sha256 is not None:
            body["sha256"] = self.sha256
        if self.query is not None:
            body["query"] = self.query.to_json()
        if self.boost != 1.0:
            body["boost"] = self.boost
        return {WASM_UDF_QUERY: body}

    def evaluate_segment(self, executor: Any) -> DocScores:
        if self.query is not None:
            candidates = executor.child_scores(self.query)
            docs, scores = candidates.docs, candidates.scores
        else:
            docs = docs_from_bitmap(executor.segment.live_docs())
            scores = np.ones(len(docs), dtype=np.float64)
        if len(docs) == 0:
            return DocScores.empty()
        host, definition = _host_and_definition(executor, self.name, self.sha256, "filter")
        fields, params = _inputs(definition, executor.segment, docs, self.params)
        keep = _guarded(definition, lambda: host.run_filter(definition, executor.context, fields, params, scores))
        return DocScores(docs[keep], scores[keep] * self.boost)


@dataclass(frozen=True, slots=True)
class ScriptScoreWasmQuery(QueryNode):
    """``script_score`` whose script is a registered UDF's ``score_batch``."""

    query_type: ClassVar[str] = SCRIPT_SCORE_QUERY
    query: QueryNode
    name: str
    params: tuple[tuple[str, Any], ...] = ()
    sha256: str | None = None
    min_score: float | None = None
    boost: float = 1.0

    def children(self) -> tuple[QueryNode, ...]:
        return (self.query,)

    def to_json(self) -> dict:
        script: dict[str, Any] = {"lang": WASM_LANG, "source": self.name, "params": _params_json(self.params)}
        if self.sha256 is not None:
            script["sha256"] = self.sha256
        body: dict[str, Any] = {"query": self.query.to_json(), "script": script}
        if self.min_score is not None:
            body["min_score"] = self.min_score
        if self.boost != 1.0:
            body["boost"] = self.boost
        return {SCRIPT_SCORE_QUERY: body}

    def evaluate_segment(self, executor: Any) -> DocScores:
        candidates = executor.child_scores(self.query)
        if len(candidates.docs) == 0:
            return DocScores.empty()
        host, definition = _host_and_definition(executor, self.name, self.sha256, "score")
        fields, params = _inputs(definition, executor.segment, candidates.docs, self.params)
        new_scores = _guarded(definition, lambda: host.run_score(
            definition, executor.context, fields, params, np.asarray(candidates.scores, dtype=np.float64)))
        new_scores = new_scores * self.boost
        if self.min_score is not None:
            keep = new_scores >= self.min_score
            return DocScores(candidates.docs[keep], new_scores[keep])
        return DocScores(candidates.docs, new_scores)


# ---- evaluation helpers ------------------------------------------------------------------------


def _host_and_definition(executor: Any, name: str, sha256: str | None, kind: str) -> tuple[Any, UdfDefinition]:
    from node.udf.host import process_host

    hooks = getattr(executor.context, "udf_hooks", None) or {}
    host = hooks.get("udf_host") or process_host()
    try:
        definition = host.definition(name, sha256)
    except UdfInvocationError as error:
        raise QueryShardError(error.reason, udf=name) from None
    _check_kind(definition, kind, QueryShardError)
    return host, definition


def _check_kind(definition: UdfDefinition, kind: str, error_class: type) -> None:
    # kinds () = an old definition without "kind": the runtime checks the export when it runs
    if definition.kinds and kind not in definition.kinds:
        query_name = WASM_UDF_QUERY if kind == "filter" else f"{SCRIPT_SCORE_QUERY}] with [lang: {WASM_LANG}"
        raise error_class(f"[{query_name}] needs a udf of kind \"{kind}\"; udf [{definition.name}] is of kind "
                          f"{list(definition.kinds)}")


def _inputs(definition: UdfDefinition, segment: Any, docs: np.ndarray,
            params: tuple[tuple[str, Any], ...]) -> tuple[Any, np.ndarray]:
    try:
        fields = columns_from_segment(definition.name, definition.inputs.fields, segment, docs)
        params_array = resolve_params(definition, _params_json(params))
    except UdfInvocationError as error:
        raise QueryShardError(f"udf [{definition.name}]: {error.reason}", udf=definition.name) from None
    return fields, params_array


def _guarded(definition: UdfDefinition, run: Callable[[], np.ndarray]) -> np.ndarray:
    """Run a batch call; an execution error keeps its class (script_exception) and names the UDF."""
    try:
        return run()
    except UdfInvocationError as error:
        raise QueryShardError(f"udf [{definition.name}]: {error.reason}", udf=definition.name) from None
    except UdfExecutionError as error:
        raise type(error)(f"runtime error in udf [{definition.name}]: {error.reason}",
                          function_name=definition.name, lang=WASM_LANG) from None


# ---- parsing -----------------------------------------------------------------------------------


def _parse_params(query_name: str, params: Any) -> tuple[tuple[str, Any], ...]:
    if params is None:
        return ()
    if not isinstance(params, dict):
        raise QueryParsingError(f"[{query_name}] [params] must be an object, got [{type(params).__name__}]")
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise QueryParsingError(f"[{query_name}] param [{key}] must be a finite number, got [{value!r}]")
    return tuple(sorted(params.items()))


def _parse_number(query_name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise QueryParsingError(f"[{query_name}] [{key}] must be a finite number, got [{value!r}]")
    return float(value)


def _resolve_at_coordinator(context: Any, query_name: str, name: str, sha256: str | None, kind: str,
                            params: tuple[tuple[str, Any], ...]) -> str | None:
    """At a node's front (a CoordinatorQueryRegistry parses): the function must exist, be of
    ``kind`` and accept ``params``. Elsewhere (a shard worker) the node travels as it was stamped."""
    resolver = getattr(getattr(context, "registry", None), "udf_resolver", None)
    if resolver is None:
        return sha256
    try:
        definition = resolver(name)
    except UdfInvocationError as error:
        raise QueryParsingError(f"[{query_name}] {error.reason}", udf=name) from None
    if sha256 is not None and sha256 != definition.sha256:
        raise QueryParsingError(f"[{query_name}] udf [{name}] has sha256 [{definition.sha256}], the query asks "
                                f"for [{sha256}]", udf=name)
    _check_kind(definition, kind, QueryParsingError)
    try:
        resolve_params(definition, _params_json(params))
    except UdfInvocationError as error:
        raise QueryParsingError(f"[{query_name}] udf [{name}]: {error.reason}", udf=name) from None
    return definition.sha256


def _optional_sha256(query_name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 64:
        raise QueryParsingError(f"[{query_name}] [sha256] must be 64 hex characters, got [{value!r}]")
    return value


def parse_wasm_udf(body: Any, context: Any) -> WasmUdfQuery:
    if not isinstance(body, dict):
        raise QueryParsingError(f"[{WASM_UDF_QUERY}] query malformed, expected an object, got "
                                f"[{type(body).__name__}]")
    unknown = sorted(set(body) - {"name", "params", "sha256", "query", "boost", "_name"})
    if unknown:
        raise QueryParsingError(f"[{WASM_UDF_QUERY}] query does not support [{unknown[0]}]")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise QueryParsingError(f"[{WASM_UDF_QUERY}] requires [name], the registered udf's name")
    params = _parse_params(WASM_UDF_QUERY, body.get("params"))
    inner = context.parse_inner(body["query"]) if body.get("query") is not None else None
    boost = _parse_number(WASM_UDF_QUERY, "boost", body.get("boost", 1.0))
    sha256 = _resolve_at_coordinator(context, WASM_UDF_QUERY, name, _optional_sha256(WASM_UDF_QUERY, body.get("sha256")),
                                     "filter", params)
    return WasmUdfQuery(name=name, params=params, sha256=sha256, query=inner, boost=boost)


def parse_script_score(body: Any, context: Any) -> ScriptScoreWasmQuery:
    if not isinstance(body, dict):
        raise QueryParsingError(f"[{SCRIPT_SCORE_QUERY}] query malformed, expected an object, got "
                                f"[{type(body).__name__}]")
    unknown = sorted(set(body) - {"query", "script", "min_score", "boost", "_name"})
    if unknown:
        raise QueryParsingError(f"[{SCRIPT_SCORE_QUERY}] query does not support [{unknown[0]}]")
    if body.get("query") is None:
        raise QueryParsingError(f"[{SCRIPT_SCORE_QUERY}] requires [query]")
    script = body.get("script")
    if not isinstance(script, dict):
        raise QueryParsingError(f"[{SCRIPT_SCORE_QUERY}] requires [script], an object with [lang] "
                                f"\"{WASM_LANG}\" and [source], a registered udf's name")
    unknown = sorted(set(script) - {"lang", "source", "id", "params", "sha256"})
    if unknown:
        raise QueryParsingError(f"[{SCRIPT_SCORE_QUERY}] [script] does not support [{unknown[0]}]")
    lang = script.get("lang", "painless")
    if lang != WASM_LANG:
        raise QueryParsingError(f"[{SCRIPT_SCORE_QUERY}] script lang [{lang}] is not supported: only "
                                f"[{WASM_LANG}] (a udf registered with PUT /_udf/{{name}})")
    name = script.get("source", script.get("id"))
    if not isinstance(name, str) or not name:
        raise QueryParsingError(f"[{SCRIPT_SCORE_QUERY}] [script] requires [source], the registered udf's name")
    params = _parse_params(SCRIPT_SCORE_QUERY, script.get("params"))
    inner = context.parse_inner(body["query"])
    min_score = body.get("min_score")
    if min_score is not None:
        min_score = _parse_number(SCRIPT_SCORE_QUERY, "min_score", min_score)
    boost = _parse_number(SCRIPT_SCORE_QUERY, "boost", body.get("boost", 1.0))
    sha256 = _resolve_at_coordinator(context, SCRIPT_SCORE_QUERY, name,
                                     _optional_sha256(SCRIPT_SCORE_QUERY, script.get("sha256")), "score", params)
    return ScriptScoreWasmQuery(query=inner, name=name, params=params, sha256=sha256, min_score=min_score,
                                boost=boost)


def register_query_types(registry: QueryRegistry) -> QueryRegistry:
    registry.register(WASM_UDF_QUERY, parse_wasm_udf)
    registry.register(SCRIPT_SCORE_QUERY, parse_script_score)
    return registry


register_query_types(DEFAULT_QUERY_REGISTRY)
