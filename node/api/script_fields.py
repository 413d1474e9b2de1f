"""``script_fields`` in a search: each hit gets ``fields.<name>`` computed by a painless script at
the coordinating node, from the hit's ``_source`` (``doc['f']`` reads the source's values of a
mapped field, sorted and typed as its doc values would be; ``params._source`` and ``_source`` are
the source; ``_score`` the hit's score).

Owns ``search_with_script_fields(services, coordinator, index, body, query)``, which
node/api/search.py's ``_search`` handlers call instead of the coordinator when the body carries
``script_fields``: the field requests are compiled first (a compile error is OpenSearch's 400
``search_phase_execution_exception`` caused by the ``script_exception``), the search runs with the
full source, the scripts run per hit and the request's own ``_source`` choice is applied last.

Differences from OpenSearch (docs/api.md): doc values come from the source (a date is rendered as
its ZonedDateTime prints, ISO 8601 UTC with milliseconds, but has no date methods; float and
half_float round as stored);
scroll pages after the first carry no script fields.
Must never: run a script inside a shard worker or change the search request otherwise.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy

from index.errors import IndexEngineError
from node.api.scripting import parse_script, script_exception_object
from node.coordination.source_filter import SourceFilter
from node.errors import ApiError, IllegalArgumentError

SCRIPT_FIELD_VARIABLES = frozenset({"doc", "params", "_source", "_score"})
DEFAULT_MAX_SCRIPT_FIELDS = 32
INTEGER_FIELD_TYPES = frozenset({"long", "integer", "short", "byte", "unsigned_long"})
FLOAT_FIELD_TYPES = frozenset({"double", "float", "half_float", "scaled_float"})
TEXT_FIELD_DATA_REASON = (
    "Text fields are not optimised for operations that require per-document field data like aggregations and "
    "sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, "
    "set fielddata=true on [{name}] in order to load field data by uninverting the inverted index. Note that "
    "this can use significant memory.")


def _phase_failure(cause: dict[str, Any]) -> ApiError:
    return ApiError("all shards failed", opensearch_type="search_phase_execution_exception", status=400,
                    phase="query", grouped=True, failed_shards=[], caused_by=cause)


def _mapped_field(mappings: dict[str, Any], dotted_path: str) -> tuple[dict[str, Any], str] | None:
    """(the field's mapping, the source path holding its values); a multi-field (``title.keyword``)
    reads its parent's source values."""
    properties = mappings.get("properties", {})
    parts = dotted_path.split(".")
    for depth, part in enumerate(parts):
        node = properties.get(part) if isinstance(properties, dict) else None
        if node is None:
            if depth == 0:
                return None
            parent = _mapped_field(mappings, ".".join(parts[:depth]))
            if parent is None:
                return None
            sub_field = parent[0].get("fields", {}).get(".".join(parts[depth:]))
            return (sub_field, parent[1]) if isinstance(sub_field, dict) else None
        if depth == len(parts) - 1:
            return node, dotted_path
        properties = node.get("properties", {})
    return None


def _date_value(value: Any, field_mapping: dict[str, Any]) -> str:
    """A date as Painless prints its ZonedDateTime: ISO 8601 in UTC with milliseconds."""
    from datetime import datetime, timezone

    from index.mapping.dates import DEFAULT_DATE_FORMAT, parse_date

    millis = parse_date(value, field_mapping.get("format") or DEFAULT_DATE_FORMAT)
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def _narrowed(value: Any, field_type: str, field_mapping: dict[str, Any]) -> float:
    """A floating value as the doc values hold it: float32 and float16 round, scaled_float is a
    long of value × scaling_factor."""
    number = float(value)
    if field_type == "float":
        return struct.unpack("f", struct.pack("f", number))[0]
    if field_type == "half_float":
        return float(numpy.float16(number))
    if field_type == "scaled_float":
        factor = float(field_mapping.get("scaling_factor", 1))
        return math.floor(number * factor + 0.5) / factor
    return number


def _doc_values(field_type: str | None, name: str, raw: list[Any], field_mapping: dict[str, Any] | None = None
                ) -> list[Any]:
    field_mapping = field_mapping or {}
    if field_type == "text":
        from udf.painless import ScriptRuntimeError

        raise ScriptRuntimeError(TEXT_FIELD_DATA_REASON.format(name=name), cause_type="illegal_argument_exception")
    values: list[Any] = []
    for value in raw:
        try:
            if field_type in INTEGER_FIELD_TYPES:
                values.append(int(float(value)))
            elif field_type in FLOAT_FIELD_TYPES:
                values.append(_narrowed(value, field_type, field_mapping))
            elif field_type == "boolean":
                values.append(value is True or value == "true")
            elif isinstance(value, (dict, list)):
                continue
            elif field_type == "date":
                values.append(_date_value(value, field_mapping))
            elif isinstance(value, str):
                values.append(value)
            elif isinstance(value, bool):
                values.append("true" if value else "false")
            else:
                values.append(str(value))
        except (TypeError, ValueError, IndexEngineError):
            continue     # a source value its mapping cannot read has no doc value (it was not indexed either)
    try:
        return sorted(values)
    except TypeError:
        return values


def _doc_fields(mappings: dict[str, Any], source: Any) -> Any:
    from node.api.documents import _source_values
    from udf.painless import DocFields

    def lookup(name: str) -> list[Any] | None:
        mapped = _mapped_field(mappings, name)
        if mapped is None:
            return None
        field_mapping, source_path = mapped
        return _doc_values(field_mapping.get("type", "object"), name,
                           _source_values(source, source_path) if isinstance(source, dict) else [], field_mapping)
    return DocFields(lookup)


def _json_value(value: Any) -> Any:
    from udf.painless import DocValues

    if isinstance(value, DocValues):
        return list(value.values)
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


async def search_with_script_fields(services: Any, coordinator: Any, index: str | None, body: Any,
                                    query: dict[str, str]) -> dict:
    if not isinstance(body, dict) or "script_fields" not in body:
        return await coordinator.search(index, body, query)
    from udf.painless import PainlessError, compile_script  # imported with the first script field

    body = dict(body)
    requested = body.pop("script_fields")
    if not isinstance(requested, dict):
        raise ApiError("[script_fields] must be an object", opensearch_type="parsing_exception", status=400)
    if len(requested) > DEFAULT_MAX_SCRIPT_FIELDS:
        raise IllegalArgumentError(f"Trying to retrieve too many script_fields. Must be less than or equal to: "
                                   f"[{DEFAULT_MAX_SCRIPT_FIELDS}] but was [{len(requested)}]. This limit can be set "
                                   f"by changing the [index.max_script_fields] index level setting.")
    compiled: list[tuple[str, Any, Any, bool]] = []
    for name, definition in requested.items():
        if not isinstance(definition, dict) or "script" not in definition:
            raise ApiError(f"[script_fields] field [{name}] must have a [script]", opensearch_type="parsing_exception",
                           status=400)
        script = parse_script(definition["script"])
        try:
            compiled_script = compile_script(script.source, SCRIPT_FIELD_VARIABLES)
        except PainlessError as error:
            raise _phase_failure(script_exception_object(error, script.source)) from None
        compiled.append((name, script, compiled_script, bool(definition.get("ignore_failure", False))))
    source_choice = body.pop("_source", None)
    answer = await coordinator.search(index, body, query)
    source_filter = SourceFilter.from_body(source_choice, SourceFilter.from_params({})) \
        if source_choice is not None else None
    state = services.state
    for hit in answer.get("hits", {}).get("hits", []):
        source = hit.get("_source")
        index_metadata = state.indices.get(hit.get("_index"))
        doc = _doc_fields(index_metadata.mappings if index_metadata is not None else {}, source)
        fields = dict(hit.get("fields") or {})
        for name, script, compiled_script, ignore_failure in compiled:
            try:
                result = compiled_script.execute({"doc": doc, "params": {**script.params, "_source": source},
                                                  "_source": source, "_score": hit.get("_score") or 0.0})
            except PainlessError as error:
                if ignore_failure:
                    continue
                raise _phase_failure(script_exception_object(error, script.source)) from None
            result = _json_value(result)
            fields[name] = result if isinstance(result, list) else [result]
        hit["fields"] = fields
        if source_filter is not None and source is not None:
            if source_filter.fetch:
                hit["_source"] = source_filter.apply(source)
            else:
                hit.pop("_source", None)
    return answer

