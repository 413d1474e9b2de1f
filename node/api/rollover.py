"""``POST /{alias}/_rollover[/{new_index}]``: start a new index behind a write alias (OpenSearch's shapes).

Owns resolving the rollover target (an alias naming one index, or several with one write index;
data streams are not supported), the next index name (``logs-000001`` → ``logs-000002``, six
digits as OpenSearch pads them), the conditions (``max_age``, ``max_docs``, ``max_size``,
``max_primary_shard_size``, evaluated on the old index's primaries), ``dry_run``, and committing
the new index and the alias swap as ONE cluster-state change (a ``Batch`` of CreateIndex and
UpdateAliases), so no reader ever sees the alias on neither or on two write indices. The new
index gets the request's settings/mappings/aliases through the same index builder as
``PUT /{index}`` (index templates included).

This module must never change the state except through ``services.submit``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from raft import commands as c

from node.api import params, read_json_body, respond
from node.api.index_settings import time_seconds
from node.api.data_streams import rollover_data_stream
from node.coordination.resolve import data_streams
from node.coordination.stats import gather_shard_statistics
from node.coordination.values import parse_byte_size_setting
from node.errors import ApiError, IllegalArgumentError, IndexNotFoundError, RequestParsingError

CONDITIONS = ("max_age", "max_docs", "max_size", "max_primary_shard_size")
_NUMBERED_INDEX = re.compile(r"^(.*-)(\d+)$")


def next_index_name(old_index_name: str) -> str:
    """OpenSearch's generateRolloverIndexName: the trailing number + 1, zero-padded to 6 digits."""
    match = _NUMBERED_INDEX.match(old_index_name)
    if match is None:
        raise IllegalArgumentError(f"index name [{old_index_name}] does not match pattern '^.*-\\d+$'")
    return f"{match.group(1)}{int(match.group(2)) + 1:06d}"


def parse_conditions(raw: Any) -> dict[str, Any]:
    """``conditions`` → {name: (threshold, text as given)}; unknown names and bad values are 400s."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RequestParsingError("[conditions] must be an object")
    parsed: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in CONDITIONS:
            raise RequestParsingError(f"[conditions] unknown field [{name}]")
        if name == "max_age":
            parsed[name] = (time_seconds(name, value), str(value))
        elif name == "max_docs":
            if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
                raise RequestParsingError(f"[max_docs] must be a number, got [{value}]")
            parsed[name] = (int(value), str(value))
        else:
            parsed[name] = (parse_byte_size_setting(value, name), str(value))
    return parsed


def rollover_target(state: Any, target: str) -> tuple[str, Any]:
    """(the index the alias writes to, that index's alias metadata)."""
    if target in state.indices:
        raise IllegalArgumentError(f"rollover target [{target}] is not an alias or a data stream")
    indices = state.resolve_alias(target)
    if not indices:
        raise IllegalArgumentError(f"rollover target [{target}] does not exist")
    if len(indices) == 1:
        index_name = indices[0]
        alias = state.indices[index_name].aliases[target]
        if alias.is_write_index is False:
            raise IllegalArgumentError(f"rollover target [{target}] does not point to a write index")
        return index_name, alias
    writers = [name for name in indices if state.indices[name].aliases[target].is_write_index]
    if len(writers) != 1:
        raise IllegalArgumentError(f"rollover target [{target}] does not point to a write index")
    return writers[0], state.indices[writers[0]].aliases[target]


def validate_rollover_index_name(state: Any, name: str) -> None:
    """OpenSearch's MetadataCreateIndexService.validateIndexName for the rollover index: a bad name
    is an ``invalid_index_name_exception``, an existing index a ``resource_already_exists_exception``."""
    from raft.apply import invalid_index_or_alias_name_reason

    reason = invalid_index_or_alias_name_reason(name)
    if reason is None and name.lower() != name:
        reason = "must be lowercase"
    if reason is not None:
        raise ApiError(f"Invalid index name [{name}], {reason}", opensearch_type="invalid_index_name_exception",
                       status=400, index=name)
    existing = state.indices.get(name)
    if existing is not None:
        raise ApiError(f"index [{name}/{existing.uuid}] already exists",
                       opensearch_type="resource_already_exists_exception", status=400, index=name)
    if state.resolve_alias(name):
        raise ApiError(f"Invalid index name [{name}], already exists as alias",
                       opensearch_type="invalid_index_name_exception", status=400, index=name)


def _condition_key(name: str, text: str) -> str:
    return f"[{name}: {text}]"


def register(app: Any, services: Any) -> None:
    async def _met_conditions(old_index_name: str, conditions: dict[str, Any]) -> dict[str, bool]:
        """Each condition's key (``[max_docs: 3]``) → whether the old index meets it."""
        results: dict[str, bool] = {}
        if not conditions:
            return results
        old_index = services.state.indices[old_index_name]
        answers = [answer for answer in await gather_shard_statistics(services, [old_index_name])
                   if answer.statistics is not None]
        documents = sum(int(answer.statistics.get("doc_count", 0)) for answer in answers)
        # the segments' size, as OpenSearch's DocsStats.totalSizeInBytes: an empty index is 0 bytes
        # (its translog header does not count)
        sizes = [int(answer.statistics.get("size_bytes", 0)) for answer in answers]
        age_seconds = time.time() - old_index.creation_date / 1000
        for name, (threshold, text) in conditions.items():
            if name == "max_age":
                met = age_seconds >= threshold
            elif name == "max_docs":
                met = documents >= threshold
            elif name == "max_size":
                met = sum(sizes) >= threshold
            else:
                met = max(sizes, default=0) >= threshold
            results[_condition_key(name, text)] = met
        return results

    async def _rollover_data_stream(name: str, conditions: dict[str, Any], dry_run: bool,
                                    query: dict[str, str]) -> Any:
        """A data stream rolls over to its next backing index generation (node/api/data_streams.py)."""
        write_index = data_streams(services.state)[name]["indices"][-1]["index_name"]
        results = await _met_conditions(write_index, conditions)
        rolling = not conditions or any(results.values())
        old_index, new_index, acknowledged = await rollover_data_stream(services, name, dry_run, rolling, 30.0)
        rolled = rolling and not dry_run
        return respond({"acknowledged": rolled, "shards_acknowledged": acknowledged, "old_index": old_index,
                        "new_index": new_index, "rolled_over": rolled, "dry_run": dry_run, "conditions": results})

    async def rollover(alias: str, new_index: str | None = None) -> Any:
        query = params()
        body = await read_json_body(required=False) or {}
        if not isinstance(body, dict):
            raise RequestParsingError("request body must be an object")
        unknown = sorted(set(body) - {"conditions", "settings", "mappings", "aliases"})
        if unknown:
            raise RequestParsingError(f"[rollover] unknown field [{unknown[0]}]")
        conditions = parse_conditions(body.get("conditions"))
        dry_run = query.get("dry_run") in ("", "true")
        state = services.state
        if alias in data_streams(state):
            return await _rollover_data_stream(alias, conditions, dry_run, query)
        old_index_name, alias_metadata = rollover_target(state, alias)
        new_index_name = new_index or next_index_name(old_index_name)
        # OpenSearch validates the new name before it reads any statistics, in a dry run too
        # (TransportRolloverAction's preflight rolloverClusterState(onlyValidate=true))
        validate_rollover_index_name(state, new_index_name)

        results = await _met_conditions(old_index_name, conditions)
        rolling = not conditions or any(results.values())
        answer: dict[str, Any] = {"acknowledged": False, "shards_acknowledged": False, "old_index": old_index_name,
                                  "new_index": new_index_name, "rolled_over": False, "dry_run": dry_run,
                                  "conditions": results}
        if dry_run or not rolling:
            return respond(answer)

        create = services.build_create_index(new_index_name, {key: body[key] for key in ("settings", "mappings",
                                                                                        "aliases") if key in body})
        if alias in (create.aliases or {}):
            raise IllegalArgumentError(f"no rollover alias [{alias}] may be among the new index's aliases")
        kept = {key: value for key, value in {
            "filter": alias_metadata.filter, "index_routing": alias_metadata.index_routing,
            "search_routing": alias_metadata.search_routing, "is_hidden": alias_metadata.is_hidden}.items()
            if value is not None}
        if alias_metadata.is_write_index:
            # an explicit write index keeps the alias for reading, as OpenSearch does
            swap = ({"add": {"index": old_index_name, "alias": alias, **kept, "is_write_index": False}},
                    {"add": {"index": new_index_name, "alias": alias, **kept, "is_write_index": True}})
        else:
            swap = ({"remove": {"index": old_index_name, "alias": alias}},
                    {"add": {"index": new_index_name, "alias": alias, **kept}})
        await services.submit(c.Batch(commands=(create, c.UpdateAliases(actions=swap))), index=new_index_name)
        if new_index_name not in services.state.indices:
            raise IndexNotFoundError(new_index_name)
        shards_acknowledged = await services.wait_for_active_shards(
            new_index_name, query.get("wait_for_active_shards", "1"), 30.0)
        answer.update({"acknowledged": True, "shards_acknowledged": shards_acknowledged, "rolled_over": True})
        return respond(answer)

    app.add_url_rule("/<alias>/_rollover", "rollover", rollover, methods=["POST"])
    app.add_url_rule("/<alias>/_rollover/<new_index>", "rollover_named", rollover, methods=["POST"])
