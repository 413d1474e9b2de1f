"""The REST side of scripting: reading a request's ``script`` object, compiling it with udf/painless
and turning Painless errors into OpenSearch's ``script_exception`` bodies.

Owns ``parse_script(value)`` → ``ScriptRequest`` (``source`` or legacy ``inline``, ``lang``
painless only, ``params``; a stored-script ``id`` is refused: there is no ``_scripts`` API),
``compile_request(script, variable_names)``, ``run_script(...)`` and ``script_exception(error,
source)``, the ApiError the routes raise. Used by node/api/documents.py (scripted _update),
node/api/reindex.py (_reindex, _update_by_query with a script) and node/api/ingest_processors.py
(``script`` processor, ``if`` conditions).

Must never: talk to shards or the cluster state; every script runs through udf/painless's limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import orjson

from node.errors import ApiError, IllegalArgumentError

if TYPE_CHECKING:
    from udf.painless import CompiledScript, PainlessError

# udf.painless is imported where a script is first compiled, not with node/api: the front process
# starts without paying for the interpreter's modules (node restarts are timed, ADR 0292)

SCRIPT_KEYS = ("source", "inline", "lang", "params", "options", "id")


@dataclass(frozen=True)
class ScriptRequest:
    source: str
    params: dict[str, Any] = field(default_factory=dict)
    lang: str = "painless"


def parse_script(value: Any, field_name: str = "script",
                 stored_script: Callable[[str], dict | None] | None = None) -> ScriptRequest:
    """A request's ``script``: a string (the source) or {source|inline, lang, params, options}, or
    {id, params} naming a stored script when ``stored_script`` (node/api/stored_scripts.py) is given."""
    if isinstance(value, str):
        return ScriptRequest(value)
    if not isinstance(value, dict):
        raise ApiError(f"[{field_name}] must be a string or an object, got [{type(value).__name__}]",
                       opensearch_type="parse_exception", status=400)
    unknown = sorted(set(value) - set(SCRIPT_KEYS))
    if unknown:
        raise ApiError(f"[script] unknown field [{unknown[0]}]", opensearch_type="x_content_parse_exception",
                       status=400)
    if "id" in value:
        if "source" in value or "inline" in value:
            raise ApiError("must specify either [source] for an inline script or [id] for a stored script",
                           opensearch_type="parse_exception", status=400)
        if stored_script is None:
            raise ApiError(f"stored scripts are not supported here: script id [{value['id']}] cannot be resolved "
                           f"(send the script inline as [source])", opensearch_type="illegal_argument_exception",
                           status=400)
        stored = stored_script(str(value["id"]))
        if stored is None:
            raise ApiError(f"unable to find script [{value['id']}] in cluster state",
                           opensearch_type="resource_not_found_exception", status=404)
        value = {"source": stored["source"], "lang": stored.get("lang", "painless"), "params": value.get("params")}
    source = value.get("source", value.get("inline"))
    if source is None:
        raise ApiError("must specify either [source] for an inline script or [id] for a stored script",
                       opensearch_type="parse_exception", status=400)
    if not isinstance(source, str):
        raise ApiError(f"[script] source must be a string, got [{type(source).__name__}]",
                       opensearch_type="parse_exception", status=400)
    lang = value.get("lang") or "painless"
    if lang != "painless":
        raise ApiError(f"script_lang not supported [{lang}]", opensearch_type="illegal_argument_exception",
                       status=400)
    params = value.get("params") or {}
    if not isinstance(params, dict):
        raise ApiError(f"[script] params must be an object, got [{type(params).__name__}]",
                       opensearch_type="parse_exception", status=400)
    return ScriptRequest(source, dict(params), lang)


def script_exception(error: PainlessError, source: str) -> ApiError:
    """OpenSearch's 400 ``script_exception`` (reason "compile error" or "runtime error",
    ``script_stack``, ``script``, ``lang``, ``position``, ``caused_by``)."""
    from udf.painless import script_exception_fields

    fields = script_exception_fields(error, source)
    reason = fields.pop("reason")
    return ApiError(reason, opensearch_type="script_exception", status=400, **fields)


def script_exception_object(error: PainlessError, source: str) -> dict[str, Any]:
    """The same error as a nested ``caused_by`` object."""
    from udf.painless import script_exception_fields

    return {"type": "script_exception", **script_exception_fields(error, source)}


def compile_request(script: ScriptRequest, variable_names: frozenset[str]) -> CompiledScript:
    from udf.painless import PainlessError, compile_script

    try:
        return compile_script(script.source, variable_names)
    except PainlessError as error:
        raise script_exception(error, script.source) from None


def run_script(compiled: CompiledScript, variables: dict[str, Any]) -> Any:
    from udf.painless import PainlessError

    try:
        return compiled.execute(variables)
    except PainlessError as error:
        raise script_exception(error, compiled.source) from None


def failed_to_execute(error: ApiError) -> ApiError:
    """What _update answers for a failing script: OpenSearch's UpdateHelper wraps it as a 400
    illegal_argument_exception "failed to execute script" caused by the script_exception."""
    if error.opensearch_type != "script_exception":
        return error
    return ApiError("failed to execute script", opensearch_type="illegal_argument_exception", status=400,
                    caused_by={"type": "script_exception", "reason": error.reason, **error.extra})


def script_source_bytes(source: Any) -> bytes:
    """The JSON of a ``ctx._source`` a script produced; a value that contains itself (``ctx._source.ctx
    = ctx``) is OpenSearch's 400 "Iterable object is self-referencing itself"."""
    try:
        return orjson.dumps(source)
    except orjson.JSONEncodeError as error:
        if "recursion" in str(error).lower():
            raise IllegalArgumentError("Iterable object is self-referencing itself") from None
        raise IllegalArgumentError(f"a script produced a _source that is not JSON: {error}") from None
