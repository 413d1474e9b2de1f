"""Stored painless scripts and the script metadata endpoints.

Routes: ``PUT|POST /_scripts/{id}`` and ``/_scripts/{id}/{context}`` (body ``{"script": {"lang":
"painless", "source", "options"}}``; the source is compiled before it is stored, so a broken one is
a 400 ``script_exception`` "compile error"), ``GET /_scripts/{id}`` (``{"_id", "found", "script"}``;
404 with ``found: false``), ``DELETE /_scripts/{id}`` (404 ``resource_not_found_exception`` when
absent), ``GET /_script_context`` and ``GET /_script_language``.

A stored script is one hidden persistent cluster setting, ``quidditch.script.<id>``, holding its
JSON (ADR 0325, the same trick as ADR 0305's pipelines): replicated and durable through Raft with
no new command. ``stored_script_lookup(services)`` answers a request's ``{"id": ...}`` for
node/api/scripting.py's ``parse_script``.

Must never: run a script (compiling only checks it) or show the prefix in ``_cluster/settings``.
"""

from __future__ import annotations

from typing import Any, Callable

import orjson

from node.api import params, read_json_body, respond
from node.api.cluster_settings import HIDDEN_SETTING_PREFIXES
from node.api.scripting import script_exception
from node.errors import ApiError, IllegalArgumentError
from raft.commands import PutClusterSettings

STORED_SCRIPT_PREFIX = "quidditch.script."
assert STORED_SCRIPT_PREFIX in HIDDEN_SETTING_PREFIXES
# what a stored script may name: every variable some context gives (a context narrows it when it runs)
STORED_SCRIPT_VARIABLES = frozenset({"ctx", "params", "doc", "_score", "_source"})
SCRIPT_CONTEXTS = ("update", "ingest", "reindex", "update_by_query", "score", "filter", "field",
                   "aggs", "terms_set", "template")


def stored_script_lookup(services: Any) -> Callable[[str], dict | None]:
    def lookup(script_id: str) -> dict | None:
        text = services.state.persistent_settings.get(STORED_SCRIPT_PREFIX + script_id)
        return orjson.loads(text) if isinstance(text, str) else None
    return lookup


def _ack_timeout(query: dict[str, str]) -> float:
    from node.coordination.values import parse_time_seconds
    value = query.get("master_timeout") or query.get("cluster_manager_timeout") or query.get("timeout")
    return parse_time_seconds(value, "timeout") if value else 30.0


def _checked_script(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("script"), dict):
        raise ApiError("must specify [script] for a stored script", opensearch_type="parse_exception", status=400)
    script = body["script"]
    unknown = sorted(set(script) - {"lang", "source", "options", "code"})
    if unknown:
        raise ApiError(f"[script] unknown field [{unknown[0]}]", opensearch_type="x_content_parse_exception",
                       status=400)
    lang = script.get("lang")
    if not lang:
        raise IllegalArgumentError("must specify lang for stored script")
    if lang not in ("painless", "mustache"):
        raise IllegalArgumentError(f"unable to put stored script with unsupported lang [{lang}]")
    if lang == "mustache":
        raise IllegalArgumentError("stored search templates (lang [mustache]) are not supported")
    source = script.get("source", script.get("code"))
    if source is None:
        raise IllegalArgumentError("must specify source for stored script")
    if not isinstance(source, str) or not source.strip():
        raise IllegalArgumentError("source cannot be empty")
    stored: dict[str, Any] = {"lang": lang, "source": source}
    if script.get("options"):
        stored["options"] = script["options"]
    return stored


def register(app: Any, services: Any) -> None:
    async def put_script(script_id: str, context: str | None = None) -> Any:
        query = params()
        context = context or query.get("context")
        if context is not None and context not in SCRIPT_CONTEXTS:
            raise IllegalArgumentError(f"script context [{context}] not supported")
        stored = _checked_script(await read_json_body(required=True))
        from udf.painless import PainlessError, compile_script

        try:
            compile_script(stored["source"], STORED_SCRIPT_VARIABLES)
        except PainlessError as error:
            raise script_exception(error, stored["source"]) from None
        await services.submit(PutClusterSettings(persistent={STORED_SCRIPT_PREFIX + script_id:
                                                             orjson.dumps(stored).decode()}), _ack_timeout(query))
        return respond({"acknowledged": True})

    app.add_url_rule("/_scripts/<script_id>", "stored_script_put", put_script, methods=["PUT", "POST"])
    app.add_url_rule("/_scripts/<script_id>/<context>", "stored_script_put_context", put_script,
                     methods=["PUT", "POST"])

    @app.route("/_scripts/<script_id>", methods=["GET"])
    async def get_script(script_id: str) -> Any:
        stored = stored_script_lookup(services)(script_id)
        if stored is None:
            return respond({"_id": script_id, "found": False}, 404)
        return respond({"_id": script_id, "found": True, "script": stored})

    @app.route("/_scripts/<script_id>", methods=["DELETE"])
    async def delete_script(script_id: str) -> Any:
        query = params()
        if stored_script_lookup(services)(script_id) is None:
            raise ApiError(f"stored script [{script_id}] does not exist", opensearch_type="resource_not_found_exception",
                           status=404)
        await services.submit(PutClusterSettings(persistent={STORED_SCRIPT_PREFIX + script_id: None}),
                              _ack_timeout(query))
        return respond({"acknowledged": True})

    @app.route("/_script_context", methods=["GET"])
    async def script_contexts() -> Any:
        method = [{"name": "execute", "return_type": "java.lang.Object", "params": []}]
        return respond({"contexts": [{"name": name, "methods": method} for name in sorted(SCRIPT_CONTEXTS)]})

    @app.route("/_script_language", methods=["GET"])
    async def script_languages() -> Any:
        return respond({"types_allowed": ["inline", "stored"],
                        "language_contexts": [{"language": "painless", "contexts": sorted(SCRIPT_CONTEXTS)}]})
