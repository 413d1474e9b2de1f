"""``POST|PUT /{index}/_shrink|_split|_clone/{target}``: a new index holding a write-blocked
index's documents under another number of shards (OpenSearch's resize API, ADR 0376).

Owns the resize checks with OpenSearch's errors (the source exists and is write-blocked, the
target does not exist, no ``mappings`` in the body, the target's ``index.number_of_shards``: a
factor of the source's for ``_shrink`` — default 1 —, a multiple for ``_split`` — required —, the
same for ``_clone``; ``max_shard_size`` picks it for ``_shrink``; checked in OpenSearch's order, before
the write block), ``wait_for_completion=false`` (an ``indices:admin/resize`` task), the target's settings (the source's, less what identifies the source or is
computed at creation, with the request's laid over them — so an inherited ``index.blocks.write``
stays unless the request clears it, as in OpenSearch), and the copy itself.

OpenSearch hard-links the source's segment files into the target's shards; Quidditch's shard
files are not split by routing, so the target is filled by copying every document through the
write path instead: the source is refreshed, scrolled from one snapshot, and each document
written with its ``_id``, ``_routing``, ``_source`` and ``_version`` (an external version); the
target's own routing places it. While the copy runs the target is read-blocked (a search on it is
a 403 ``cluster_block_exception`` rather than a partial answer) and carries no alias; its final
blocks, ingest pipelines and the request's aliases are committed in one cluster-state change when
every document is in. The copy runs to completion in the node's background nursery even if the
client goes away; a copy that fails deletes the half-filled target and answers the error.
``_shrink`` does not require the source's copies on one node (nothing is linked).

Must never write to the source, answer before every document is in the target, or leave a partial
target behind after a failure.
"""

from __future__ import annotations

from typing import Any

import trio

from raft import commands as c

from node.api import params, read_json_body, respond
from node.coordination.values import parse_boolean, parse_byte_size_setting
from node.api.index_settings import validate_new_index_settings
from node.api.indices import ack_timeout
from node.coordination.resolve import index_block_error
from node.errors import ActionRequestValidationError, ApiError, IllegalArgumentError, IndexNotFoundError

RESIZE_TYPES = ("shrink", "split", "clone")
BODY_KEYS = ("settings", "aliases", "mappings", "max_shard_size")
RESIZE_ACTION = "indices:admin/resize"
# what identifies the source or is computed for each index at creation
NOT_INHERITED = frozenset({
    "index.uuid", "index.creation_date", "index.provided_name", "index.version.created",
    "index.version.upgraded", "index.number_of_shards", "index.number_of_routing_shards",
    "index.routing_partition_size",
})
# applied only once the copy is done: blocks would stop the copy's own writes, pipelines would
# rewrite the copied documents
APPLIED_AFTER_THE_COPY = frozenset({
    "index.blocks.write", "index.blocks.read_only", "index.blocks.read_only_allow_delete",
    "index.blocks.read", "index.blocks.metadata", "index.default_pipeline", "index.final_pipeline",
})
READ_BLOCK = "index.blocks.read"


def illegal_state(reason: str, status: int = 500) -> ApiError:
    return ApiError(reason, opensearch_type="illegal_state_exception", status=status)


METADATA_BLOCKS = ("index.blocks.read_only", "index.blocks.metadata")


def check_target_blocks(target: str, requested: dict[str, Any], final_settings: dict[str, Any]) -> None:
    """A target whose metadata writes would be blocked could never have its shards assigned:
    OpenSearch refuses it — a validation error when the request sets the block, an illegal
    argument when it would be inherited from the source."""
    for key in METADATA_BLOCKS:
        if str(final_settings.get(key, "false")).lower() != "true":
            continue
        reason = (f"target index [{target}] will be blocked by [{key}=true], this will disable metadata writes "
                  f"and cause the shards to be unassigned")
        if str(requested.get(key, "false")).lower() == "true":
            raise ActionRequestValidationError(reason)
        raise IllegalArgumentError(reason)


def target_shard_count(resize_type: str, source_shards: int, requested: Any, source_routing_shards: int = 0,
                       default_shrink_shards: int = 1) -> int:
    """The target's ``number_of_shards`` as OpenSearch's checks allow it (400s otherwise; the
    split's routing-shards check is OpenSearch's ``illegal_state_exception``, a 500 there too)."""
    if requested is None:
        if resize_type == "split":
            raise IllegalArgumentError("index.number_of_shards is required for split operations")
        return default_shrink_shards if resize_type == "shrink" else source_shards
    try:
        target = int(str(requested))
    except ValueError:
        raise IllegalArgumentError(f"Failed to parse value [{requested}] for setting [index.number_of_shards]") \
            from None
    if target < 1:
        raise IllegalArgumentError(f"Failed to parse value [{requested}] for setting [index.number_of_shards] "
                                   f"must be >= 1")
    if resize_type == "clone" and target != source_shards:
        raise IllegalArgumentError(f"the number of target shards ({target}) must be the same as the number of "
                                   f"source shards ({source_shards})")
    if resize_type == "shrink":
        if target > source_shards:
            raise IllegalArgumentError(f"the number of target shards [{target}] must be less that the number of "
                                       f"source shards [{source_shards}]")
        if source_shards % target != 0:
            raise IllegalArgumentError(f"the number of source shards [{source_shards}] must be a multiple of "
                                       f"[{target}]")
    if resize_type == "split":
        if target <= source_shards:
            raise IllegalArgumentError(f"the number of target shards ({target}) must be greater than the number "
                                       f"of source shards ({source_shards})")
        if target % source_shards != 0:
            raise IllegalArgumentError(f"the number of source shards [{source_shards}] must be a factor of "
                                       f"[{target}]")
        # from one shard anything goes (OpenSearch's IndexMetadata.assertSplitMetadata special case)
        routing_shards = target if source_shards == 1 else source_routing_shards
        if routing_shards % target != 0:
            raise illegal_state(f"the number of routing shards [{routing_shards}] must be a multiple of the target "
                                f"shards [{target}]")
    return target


def check_routing_settings(resize_type: str, source_shards: int, requested: dict[str, Any]) -> None:
    """OpenSearch's TransportResizeAction refusals of routing settings on the target (400s)."""
    if "index.routing_partition_size" in requested:
        raise IllegalArgumentError("cannot provide a routing partition size value when resizing an index")
    if "index.number_of_routing_shards" in requested and not (resize_type == "split" and source_shards == 1):
        raise IllegalArgumentError("cannot provide index.number_of_routing_shards on resize")


def shrink_shard_count_for_size(max_shard_size_bytes: int | None, primaries_store_bytes: int,
                                source_shards: int) -> int:
    """OpenSearch's calculateTargetIndexShardsNum: the lowest factor of the source's shard count
    that keeps each target shard within ``max_shard_size`` (by the primaries' store size); 1
    without a size, the source's count when even that is too small."""
    if not max_shard_size_bytes or primaries_store_bytes <= 0:
        return 1
    minimum = -(-primaries_store_bytes // max_shard_size_bytes)
    if minimum >= source_shards:
        return source_shards
    for candidate in range(max(minimum, 1), source_shards):
        if source_shards % candidate == 0:
            return candidate
    return source_shards


def target_settings(source: Any, requested: dict[str, Any], shards: int) -> dict[str, Any]:
    """The source's settings less ``NOT_INHERITED``, the request's over them (a None clears)."""
    from raft.apply import normalize_index_settings

    settings = {key: value for key, value in source.settings.items() if key not in NOT_INHERITED}
    for key, value in normalize_index_settings(requested).items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    settings["index.number_of_shards"] = str(shards)
    return settings


def register(app: Any, services: Any) -> None:
    from node.api.reindex import prepare_reindex, refresh_indices
    from node.api.search import coordinator_of

    async def resize(index: str, target: str, resize_type: str) -> Any:
        query = params()
        body = await read_json_body(required=False) or {}
        if not isinstance(body, dict):
            raise IllegalArgumentError("request body must be an object")
        unknown = sorted(set(body) - set(BODY_KEYS))
        if unknown:
            raise ApiError(f"[resize] unknown field [{unknown[0]}]", opensearch_type="x_content_parse_exception",
                           status=400)
        if body.get("mappings"):
            raise IllegalArgumentError("mappings are not allowed when resizing indices, all mappings are copied "
                                       "from the source index")
        requested = body.get("settings") or {}
        aliases = body.get("aliases") or {}
        if not isinstance(requested, dict) or not isinstance(aliases, dict):
            raise IllegalArgumentError("[settings] and [aliases] must be objects")
        from raft.apply import normalize_index_settings

        normalized = normalize_index_settings(requested)
        validate_new_index_settings(normalized)
        # copy_settings=false was removed in OpenSearch 7 (settings are always copied)
        if query.get("copy_settings") is not None and not parse_boolean(query.get("copy_settings"), "copy_settings",
                                                                        True):
            raise IllegalArgumentError("parameter [copy_settings] can not be explicitly set to [false]")
        wait_for_completion = parse_boolean(query.get("wait_for_completion"), "wait_for_completion", True)
        max_shard_size = body.get("max_shard_size")
        max_shard_size_bytes = None
        if max_shard_size is not None:
            max_shard_size_bytes = parse_byte_size_setting(max_shard_size, "max_shard_size")
            if max_shard_size_bytes <= 0:
                raise ActionRequestValidationError("max_shard_size must be greater than 0")
        state = services.state
        source = state.indices.get(index)
        if source is None:
            raise IndexNotFoundError(index)
        # OpenSearch's order: the shard-count and routing checks (TransportResizeAction), then the
        # creation's own (the target exists, the source is write-blocked)
        if max_shard_size_bytes is not None:
            if resize_type != "shrink":
                raise IllegalArgumentError("Unsupported parameter [max_shard_size]")
            if "index.number_of_shards" in normalized:
                raise IllegalArgumentError("Cannot set max_shard_size and index.number_of_shards at the same time!")
        default_shrink_shards = 1
        if resize_type == "shrink" and max_shard_size_bytes and "index.number_of_shards" not in normalized:
            from node.coordination.stats import gather_shard_statistics

            primaries_store_bytes = sum(
                int(answer.statistics.get("size_bytes", 0)) + int(answer.statistics.get("translog_size_bytes", 0))
                for answer in await gather_shard_statistics(services, [index]) if answer.statistics)
            default_shrink_shards = shrink_shard_count_for_size(max_shard_size_bytes, primaries_store_bytes,
                                                                source.number_of_shards)
        shards = target_shard_count(resize_type, source.number_of_shards, normalized.get("index.number_of_shards"),
                                    source.routing_num_shards, default_shrink_shards)
        check_routing_settings(resize_type, source.number_of_shards, normalized)
        if target in state.indices:
            raise ApiError(f"index [{target}/{state.indices[target].uuid}] already exists",
                           opensearch_type="resource_already_exists_exception", status=400, index=target)
        if index_block_error(state, index, "write") is None:
            # 400 since OpenSearch 2.x (a client's mistake, not a server error)
            raise illegal_state(f"index {index} must be read-only to resize index. use \"index.blocks.write=true\"",
                                status=400)
        final_settings = target_settings(source, requested, shards)
        check_target_blocks(target, normalized, final_settings)
        # created read-blocked and without its write blocks and pipelines; those come after the copy
        creation_settings = {key: value for key, value in final_settings.items()
                             if key not in APPLIED_AFTER_THE_COPY}
        creation_settings[READ_BLOCK] = "true"
        coordinator = coordinator_of(app)
        done = trio.Event()
        outcome: dict[str, Any] = {}

        async def create_and_copy() -> None:
            try:
                await services.create_index(target, {"settings": creation_settings, "mappings": source.mappings},
                                            wait_seconds=ack_timeout(query))
                try:
                    await refresh_indices(services, coordinator, index)
                    job = await prepare_reindex(services, coordinator, {
                        "source": {"index": index}, "dest": {"index": target, "version_type": "external"}},
                        {"refresh": "true"})
                    answer, status = await job.run()
                    if status >= 300 or answer.get("failures"):
                        raise illegal_state(f"copying [{index}] into [{target}] failed: "
                                            f"{(answer.get('failures') or [answer])[0]}")
                    after = {key: value for key, value in final_settings.items() if key in APPLIED_AFTER_THE_COPY}
                    after[READ_BLOCK] = final_settings.get(READ_BLOCK)    # None: the copy's block goes
                    commands: list[Any] = [c.UpdateIndexSettings(index_names=(target,), settings=after)]
                    if aliases:
                        commands.append(c.UpdateAliases(actions=tuple(
                            {"add": {**(definition or {}), "index": target, "alias": name}}
                            for name, definition in aliases.items())))
                    await services.submit(c.Batch(commands=tuple(commands)), ack_timeout(query), index=target)
                except BaseException:
                    with trio.CancelScope(shield=True):
                        await services.submit(c.DeleteIndex(index_name=target), ack_timeout(query), index=target)
                    raise
            except Exception as error:  # noqa: BLE001 — answered to the client below, not swallowed
                outcome["error"] = error
            finally:
                done.set()

        async def copy_and_answer() -> tuple[dict, int]:
            await done.wait()
            if "error" in outcome:
                raise outcome["error"]
            acknowledged = await services.wait_for_active_shards(target, query.get("wait_for_active_shards", "1"),
                                                                 ack_timeout(query))
            return {"acknowledged": True, "shards_acknowledged": acknowledged, "index": target}, 200

        # to completion even if the client leaves (quart-trio cancels a handler on disconnect)
        services.context.background.start_soon(create_and_copy)
        if not wait_for_completion:
            # OpenSearch 3.0: the resize runs as a task whose answer GET _tasks/{id} keeps
            from node.api.tasks import start_background_task

            description = f"{resize_type} from [{index}] to [{target}]"
            return respond({"task": start_background_task(app, services, RESIZE_ACTION, description,
                                                          copy_and_answer)})
        answer, _ = await copy_and_answer()
        return respond(answer)

    for resize_type in RESIZE_TYPES:
        async def route(index: str, target: str, resize_type: str = resize_type) -> Any:
            return await resize(index, target, resize_type)

        app.add_url_rule(f"/<index>/_{resize_type}/<target>", f"resize_{resize_type}", route,
                         methods=["POST", "PUT"])
