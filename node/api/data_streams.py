"""Data streams (OpenSearch's shapes, ADR 0378): an append-only name over hidden backing indices
``.ds-<name>-000001``, ``-000002``…, created from a composable index template that has
``data_stream``.

Routes: ``PUT /_data_stream/{name}``, ``GET /_data_stream[/{names}]``, ``DELETE
/_data_stream/{names}``, ``GET /_data_stream[/{names}]/_stats``; ``rollover_data_stream`` serves
``POST /{name}/_rollover`` for a data stream (node/api/rollover.py); ``install(services)`` makes
the first write to a name that a data-stream template matches create the data stream (the
write path auto-creates through ``services.create_index``).

A data stream is a hidden persistent cluster setting (``quidditch.data_stream.<name>``, read by
node/coordination/resolve.py's ``data_streams``), committed in the same Batch as the backing index
it names, so no state has one without the other. node/coordination/resolve.py resolves a data
stream's name to its backing indices for reads and to the newest for writes; a backing index
keeps the template's settings and mappings plus ``index.hidden`` and the timestamp field (``@timestamp``,
``date``). What a data stream refuses on write (anything but ``create``, a document without its
timestamp) is decided per item by resolve.py's ``data_stream_write_error``, in the write path.

Must never: leave a backing index without its data stream entry, or delete a data stream's write
index alone (``DELETE /{index}`` refuses it).
"""

from __future__ import annotations

import fnmatch
from typing import Any

import orjson

from raft import commands as c

from node.api import params, respond
from node.api.indices import ack_timeout
from node.api.templates import COMPOSABLE_PREFIX, stored, templated_body, winning_composable
from node.coordination.health import index_health
from node.coordination.resolve import DATA_STREAM_PREFIX, data_streams
from node.errors import ApiError, IllegalArgumentError

DEFAULT_TIMESTAMP_FIELD = "@timestamp"
INVALID_CHARACTERS = '\\/*?"<>| ,#:'


def backing_index_name(name: str, generation: int) -> str:
    return f".ds-{name}-{generation:06d}"


def data_stream_missing(name: str) -> ApiError:
    return ApiError(f"no such index [{name}]", opensearch_type="index_not_found_exception", status=404,
                    index=name, **{"resource.type": "index_or_alias", "resource.id": name})


def check_data_stream_name(name: str) -> None:
    """OpenSearch's data stream name rules (400 ``illegal_argument_exception``)."""
    if name != name.lower():
        raise IllegalArgumentError(f"data_stream [{name}] must be lowercase")
    for character in INVALID_CHARACTERS:
        if character in name:
            raise IllegalArgumentError(f"data_stream [{name}] must not contain '{character}'")
    if name.startswith(("_", "-", "+")):
        raise IllegalArgumentError(f"data_stream [{name}] must not start with '_', '-', or '+'")
    if name.startswith(".ds-"):
        raise IllegalArgumentError(f"data_stream [{name}] must not start with '.ds-'")


def data_stream_template(state: Any, name: str) -> tuple[str, dict[str, Any]] | None:
    """The winning composable template for ``name`` when it asks for a data stream."""
    winner = winning_composable(stored(state, COMPOSABLE_PREFIX), name)
    return winner if winner is not None and winner[1].get("data_stream") is not None else None


def _timestamp_field(template: dict[str, Any]) -> str:
    option = template.get("data_stream") or {}
    field = option.get("timestamp_field") if isinstance(option, dict) else None
    return field.get("name", DEFAULT_TIMESTAMP_FIELD) if isinstance(field, dict) else DEFAULT_TIMESTAMP_FIELD


def _backing_index_command(services: Any, name: str, generation: int, timestamp_field: str) -> Any:
    body = templated_body(services.state, name, None) or {}
    settings = dict(body.get("settings") or {})
    settings["index.hidden"] = True
    mappings = dict(body.get("mappings") or {})
    properties = dict(mappings.get("properties") or {})
    properties.setdefault(timestamp_field, {"type": "date"})
    mappings["properties"] = properties
    return services.build_create_index(backing_index_name(name, generation),
                                       {"settings": settings, "mappings": mappings})


def _stream_setting(stream: dict[str, Any]) -> c.PutClusterSettings:
    return c.PutClusterSettings(persistent={DATA_STREAM_PREFIX + stream["name"]: orjson.dumps(stream).decode()})


async def create_data_stream(services: Any, name: str, timeout_seconds: float) -> Any:
    """The data stream and its first backing index in one Batch; the backing index's metadata."""
    check_data_stream_name(name)
    state = services.state
    if name in data_streams(state):
        raise ApiError(f"data_stream [{name}] already exists", opensearch_type="resource_already_exists_exception",
                       status=400)
    if name in state.indices or state.resolve_alias(name):
        raise IllegalArgumentError(f"data_stream [{name}] conflicts with an existing index or alias")
    found = data_stream_template(state, name)
    if found is None:
        raise IllegalArgumentError(f"no matching index template found for data stream [{name}]")
    template_name, template = found
    timestamp_field = _timestamp_field(template)
    create = _backing_index_command(services, name, 1, timestamp_field)
    stream = {"name": name, "timestamp_field": {"name": timestamp_field},
              "indices": [{"index_name": create.index_name, "index_uuid": create.index_uuid}],
              "generation": 1, "template": template_name}
    await services.submit(c.Batch(commands=(create, _stream_setting(stream))), timeout_seconds, index=name)
    await services.wait_for_active_shards(create.index_name, "1", timeout_seconds)
    return services.state.indices[create.index_name]


async def rollover_data_stream(services: Any, name: str, dry_run: bool, rolling: bool,
                               timeout_seconds: float) -> tuple[str, str, bool]:
    """(old write index, new write index, shards acknowledged): a new backing index generation."""
    stream = dict(data_streams(services.state)[name])
    old_index = stream["indices"][-1]["index_name"]
    generation = int(stream["generation"]) + 1
    new_index = backing_index_name(name, generation)
    if dry_run or not rolling:
        return old_index, new_index, False
    found = data_stream_template(services.state, name)
    if found is None:
        raise IllegalArgumentError(f"no matching index template found for data stream [{name}]")
    create = _backing_index_command(services, name, generation, stream["timestamp_field"]["name"])
    stream["indices"] = [*stream["indices"], {"index_name": create.index_name, "index_uuid": create.index_uuid}]
    stream["generation"] = generation
    await services.submit(c.Batch(commands=(create, _stream_setting(stream))), timeout_seconds, index=name)
    acknowledged = await services.wait_for_active_shards(new_index, "1", timeout_seconds)
    return old_index, new_index, acknowledged


def write_index_of(state: Any, index_name: str) -> str | None:
    """The data stream whose write index ``index_name`` is, if any."""
    for name, stream in data_streams(state).items():
        if stream["indices"] and stream["indices"][-1]["index_name"] == index_name:
            return name
    return None


def install(services: Any) -> None:
    """Auto-creation of an index whose name a data-stream template matches creates the data
    stream instead (what OpenSearch does on the first write)."""
    create_index = services.create_index

    async def create_index_or_data_stream(index_name: str, body: Any, wait_seconds: float = 30.0,
                                          wait_for_active_shards: str = "1") -> tuple[Any, bool]:
        if body is None and data_stream_template(services.state, index_name) is not None:
            try:
                return await create_data_stream(services, index_name, wait_seconds), True
            except ApiError as error:
                if error.opensearch_type != "resource_already_exists_exception":
                    raise
                stream = data_streams(services.state)[index_name]
                return services.state.indices[stream["indices"][-1]["index_name"]], True
        found = data_stream_template(services.state, index_name)
        if found is not None:
            raise IllegalArgumentError(f"cannot create index with name [{index_name}], because it matches with "
                                       f"template [{found[0]}] that creates data streams only, use create data "
                                       f"stream api instead")
        return await create_index(index_name, body, wait_seconds=wait_seconds,
                                  wait_for_active_shards=wait_for_active_shards)

    services.create_index = create_index_or_data_stream


def _selected(state: Any, names: str | None) -> list[dict[str, Any]]:
    streams = data_streams(state)
    if names in (None, "", "_all", "*"):
        return [streams[name] for name in sorted(streams)]
    selected: dict[str, dict[str, Any]] = {}
    for pattern in names.split(","):
        matches = [name for name in sorted(streams) if fnmatch.fnmatchcase(name, pattern)]
        if not matches and "*" not in pattern:
            raise data_stream_missing(pattern)
        selected.update({name: streams[name] for name in matches})
    return list(selected.values())


def _status(state: Any, stream: dict[str, Any]) -> str:
    healths = [index_health(state, entry["index_name"])[0] for entry in stream["indices"]
               if entry["index_name"] in state.indices]
    for status in ("red", "yellow"):
        if status in healths:
            return status.upper()
    return "GREEN"


def register(app: Any, services: Any) -> None:
    install(services)
    from node.api.search import coordinator_of

    @app.route("/_data_stream/<name>", methods=["PUT"])
    async def put_data_stream(name: str) -> Any:
        await create_data_stream(services, name, ack_timeout(params()))
        return respond({"acknowledged": True})

    async def get_data_streams(names: str | None = None) -> Any:
        state = services.state
        return respond({"data_streams": [
            {"name": stream["name"], "timestamp_field": stream["timestamp_field"],
             "indices": [entry for entry in stream["indices"] if entry["index_name"] in state.indices],
             "generation": stream["generation"], "status": _status(state, stream), "template": stream["template"]}
            for stream in _selected(state, names)]})

    app.add_url_rule("/_data_stream", "get_all_data_streams", get_data_streams, methods=["GET"])
    app.add_url_rule("/_data_stream/<names>", "get_data_streams", get_data_streams, methods=["GET"])

    @app.route("/_data_stream/<names>", methods=["DELETE"])
    async def delete_data_streams(names: str) -> Any:
        query = params()
        for stream in _selected(services.state, names):
            commands: list[Any] = [c.DeleteIndex(index_name=entry["index_name"]) for entry in stream["indices"]
                                   if entry["index_name"] in services.state.indices]
            commands.append(c.PutClusterSettings(persistent={DATA_STREAM_PREFIX + stream["name"]: None}))
            await services.submit(c.Batch(commands=tuple(commands)), ack_timeout(query), index=stream["name"])
        return respond({"acknowledged": True})

    async def data_stream_stats(names: str | None = None) -> Any:
        from node.coordination.stats import gather_shard_statistics

        state = services.state
        streams = _selected(state, names)
        rows, total_bytes, backing, shards = [], 0, 0, 0
        for stream in streams:
            indices = [entry["index_name"] for entry in stream["indices"] if entry["index_name"] in state.indices]
            answers = [answer for answer in await gather_shard_statistics(services, indices)
                       if answer.statistics is not None]
            size = sum(int(answer.statistics.get("size_bytes", 0)) for answer in answers)
            shards += sum(state.indices[name].number_of_shards for name in indices)
            newest = await coordinator_of(app).search(stream["name"], {
                "size": 0, "aggs": {"newest": {"max": {"field": stream["timestamp_field"]["name"]}}}}, {})
            maximum = (newest.get("aggregations", {}).get("newest") or {}).get("value")
            rows.append({"data_stream": stream["name"], "backing_indices": len(indices), "store_size_bytes": size,
                         "maximum_timestamp": int(maximum) if maximum is not None else 0})
            total_bytes += size
            backing += len(indices)
        return respond({"_shards": {"total": shards, "successful": shards, "failed": 0},
                        "data_stream_count": len(streams), "backing_indices": backing,
                        "total_store_size_bytes": total_bytes, "data_streams": rows})

    app.add_url_rule("/_data_stream/_stats", "data_stream_stats_all", data_stream_stats, methods=["GET"])
    app.add_url_rule("/_data_stream/<names>/_stats", "data_stream_stats", data_stream_stats, methods=["GET"])
