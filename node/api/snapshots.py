"""Snapshot repositories, snapshots and restore (``_snapshot``, ``_cat/repositories``,
``_cat/snapshots``) with OpenSearch's shapes, on ``fs`` repositories (ADR 0377).

Routes: ``PUT|POST /_snapshot/{repo}`` (``type: fs``, ``settings.location`` within ``path.repo``
— the node's ``--path-repo``, default ``<data>/snapshots``; ``readonly``, ``compress``; ``verify``),
``GET /_snapshot[/{repos}]``, ``DELETE /_snapshot/{repo}``, ``POST /_snapshot/{repo}/_verify`` and
``/_cleanup``; ``PUT|POST /_snapshot/{repo}/{snapshot}`` (``indices``, ``ignore_unavailable``,
``include_global_state``, ``partial``, ``metadata``; ``wait_for_completion``, default false),
``GET /_snapshot/{repo}/{snapshots}`` (names, wildcards, ``_all``, ``_current``),
``GET /_snapshot/{repo}/{snapshot}/_status``, ``DELETE /_snapshot/{repo}/{snapshot}``,
``POST /_snapshot/{repo}/{snapshot}/_restore`` (``indices``, ``rename_pattern``,
``rename_replacement``, ``index_settings``, ``ignore_index_settings``, ``include_aliases``,
``ignore_unavailable``; ``wait_for_completion``), ``GET /_cat/repositories`` and
``GET /_cat/snapshots/{repo}``.

A repository is a hidden persistent cluster setting (``quidditch.snapshot.repository.<name>``,
the ADR 0305 trick): replicated through Raft. A snapshot is LOGICAL, not a copy of segment
files: the coordinating node refreshes each index, scrolls it from one snapshot per shard and
writes ``snap-<name>/indices/<index>.ndjson.zst`` (one line per document: ``_id``, ``_routing``,
``_version``, ``_source``) beside ``snap-<name>/snapshot.json`` (the snapshot's info and each
index's settings, mappings and aliases), each file fsynced and renamed into place, the info last.
Restore creates each index from its metadata (read-blocked meanwhile, as ADR 0376's resize) and
writes every document through the write path with its id, routing and version. For several nodes
the location must be a shared file system, as OpenSearch requires of ``fs`` repositories.

Must never: write a snapshot outside its repository's location, report SUCCESS before every file
is durable, restore over an open index, or leave a half-restored index after a failure.
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import re
import shutil
import time
import uuid as uuid_module
from pathlib import Path
from typing import Any

import orjson
import trio

from index.dump import DumpWriter, read_dump_lines
from index.format import fsync_directory
from raft import commands as c

from node.api import params, read_json_body, respond
from node.api.cat import CatTable, Column, render_table
from node.api.indices import alias_view
from node.api.resize import APPLIED_AFTER_THE_COPY, READ_BLOCK
from node.coordination.resolve import IndicesOptions, resolve_indices
from node.coordination.values import parse_boolean
from node.coordination.writes import WriteRequest, execute_writes
from node.errors import ApiError, IllegalArgumentError

REPOSITORY_PREFIX = "quidditch.snapshot.repository."
SNAPSHOT_DIRECTORY_PREFIX = "snap-"
INFO_FILE = "snapshot.json"
DOCUMENTS_SUFFIX = ".ndjson.zst"
COPY_BATCH_DOCUMENTS = 1000
REPOSITORY_TYPES = ("fs",)
NOT_SNAPSHOTTED_SETTINGS = frozenset({"index.uuid", "index.creation_date", "index.provided_name",
                                      "index.version.created", "index.version.upgraded"})
INVALID_FILENAME_CHARACTERS = '\\/*?"<>|'
IN_PROGRESS, SUCCESS, FAILED = "IN_PROGRESS", "SUCCESS", "FAILED"


# ------------------------------------------------------------------ errors

def repository_error(name: str, reason: str) -> ApiError:
    return ApiError(f"[{name}] {reason}", opensearch_type="repository_exception", status=500)


def repository_missing(name: str) -> ApiError:
    return ApiError(f"[{name}] missing", opensearch_type="repository_missing_exception", status=404)


def snapshot_missing(repository: str, snapshot: str) -> ApiError:
    return ApiError(f"[{repository}:{snapshot}] is missing", opensearch_type="snapshot_missing_exception",
                    status=404)


def invalid_snapshot_name(repository: str, snapshot: str, why: str) -> ApiError:
    return ApiError(f"[{repository}:{snapshot}] Invalid snapshot name [{snapshot}], {why}",
                    opensearch_type="invalid_snapshot_name_exception", status=400)


def restore_error(repository: str, snapshot: str, snapshot_uuid: str, reason: str) -> ApiError:
    return ApiError(f"[{repository}:{snapshot}/{snapshot_uuid}] {reason}",
                    opensearch_type="snapshot_restore_exception", status=500)


def check_snapshot_name(repository: str, snapshot: str) -> None:
    """OpenSearch's snapshot name rules, with its messages."""
    if not snapshot:
        raise invalid_snapshot_name(repository, snapshot, "cannot be empty")
    if any(character.isspace() for character in snapshot):
        raise invalid_snapshot_name(repository, snapshot, "must not contain whitespace")
    for character in ",#":
        if character in snapshot:
            raise invalid_snapshot_name(repository, snapshot, f"must not contain '{character}'")
    if snapshot.startswith("_"):
        raise invalid_snapshot_name(repository, snapshot, "must not start with '_'")
    if snapshot.lower() != snapshot:
        raise invalid_snapshot_name(repository, snapshot, "must be lowercase")
    if any(character in snapshot for character in INVALID_FILENAME_CHARACTERS):
        listed = ", ".join(INVALID_FILENAME_CHARACTERS)
        raise invalid_snapshot_name(repository, snapshot, f"must not contain the following characters [{listed}]")


# ------------------------------------------------------------------ the repository's files

def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


class Repository:
    """One registered ``fs`` repository: its definition and its location's files."""

    def __init__(self, name: str, definition: dict[str, Any], location: Path) -> None:
        self.name = name
        self.definition = definition
        self.location = location

    @property
    def readonly(self) -> bool:
        return str(self.definition.get("settings", {}).get("readonly", "false")).lower() == "true"

    def directory_of(self, snapshot: str) -> Path:
        return self.location / f"{SNAPSHOT_DIRECTORY_PREFIX}{snapshot}"

    def read_info(self, snapshot: str) -> dict[str, Any] | None:
        try:
            return orjson.loads((self.directory_of(snapshot) / INFO_FILE).read_bytes())
        except FileNotFoundError:
            return None

    def write_info(self, snapshot: str, info: dict[str, Any]) -> None:
        directory = self.directory_of(snapshot)
        directory.mkdir(parents=True, exist_ok=True)
        _write_atomically(directory / INFO_FILE, orjson.dumps(info))

    def infos(self) -> list[dict[str, Any]]:
        """Every snapshot's info, oldest first."""
        found = []
        if self.location.is_dir():
            for directory in self.location.iterdir():
                if directory.name.startswith(SNAPSHOT_DIRECTORY_PREFIX):
                    info = self.read_info(directory.name[len(SNAPSHOT_DIRECTORY_PREFIX):])
                    if info is not None:
                        found.append(info)
        return sorted(found, key=lambda info: (info["start_time_in_millis"], info["snapshot"]))

    def delete(self, snapshot: str) -> None:
        shutil.rmtree(self.directory_of(snapshot))
        fsync_directory(self.location)


def resolve_location(roots: tuple[Path, ...], name: str, location: Any) -> Path:
    """``location`` as an absolute path inside one of the ``path.repo`` roots (relative: the first)."""
    if not isinstance(location, str) or not location.strip():
        raise repository_error(name, "missing location")
    resolved_roots = [root.resolve() for root in roots]
    candidate = Path(location).expanduser()
    candidate = (candidate if candidate.is_absolute() else resolved_roots[0] / candidate).resolve()
    if not any(candidate == root or root in candidate.parents for root in resolved_roots):
        raise repository_error(name, f"location [{location}] doesn't match any of the locations specified by "
                                     f"path.repo")
    return candidate


def check_repository_definition(name: str, body: Any, roots: tuple[Path, ...]) -> tuple[dict[str, Any], Path]:
    if not isinstance(body, dict):
        raise IllegalArgumentError("repository definition must be an object")
    repository_type = body.get("type")
    if not repository_type:
        raise ApiError("[type] is missing", opensearch_type="action_request_validation_exception", status=400)
    if repository_type not in REPOSITORY_TYPES:
        raise repository_error(name, f"repository type [{repository_type}] does not exist")
    settings = body.get("settings") or {}
    if not isinstance(settings, dict):
        raise IllegalArgumentError("[settings] must be an object")
    # OpenSearch answers every repository setting as a string
    settings = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in settings.items()}
    return {"type": repository_type, "settings": settings}, resolve_location(roots, name, settings.get("location"))


# ------------------------------------------------------------------ info documents

def _iso(millis: int) -> str:
    moment = datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_info(snapshot: str, index_names: list[str], version_number: str, include_global_state: bool,
             metadata: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    major, minor, patch = (version_number.split(".") + ["0", "0"])[:3]
    info: dict[str, Any] = {
        "snapshot": snapshot, "uuid": uuid_module.uuid4().hex[:22],
        "version_id": int(major) * 1000000 + int(minor) * 10000 + int(re.sub(r"\D.*", "", patch) or 0) * 100 + 99,
        "version": version_number, "indices": sorted(index_names), "data_streams": [],
        "include_global_state": include_global_state, "state": IN_PROGRESS,
        "start_time": _iso(now), "start_time_in_millis": now, "failures": [],
        "shards": {"total": 0, "failed": 0, "successful": 0}, "index_metadata": {}}
    if metadata is not None:
        info["metadata"] = metadata
    return info


def public_info(info: dict[str, Any]) -> dict[str, Any]:
    """The info as GET shows it (without the stored index metadata)."""
    return {key: value for key, value in info.items() if key != "index_metadata"}


# ------------------------------------------------------------------ taking a snapshot

async def _write_index_documents(services: Any, coordinator: Any, index_name: str, path: Path) -> tuple[int, int]:
    """Scroll ``index_name`` into ``path`` (zstd NDJSON, fsynced): (documents, bytes written)."""
    from node.api.reindex import ScrollReader, refresh_indices

    await refresh_indices(services, coordinator, index_name)
    writer = await trio.to_thread.run_sync(DumpWriter, path)
    reader = ScrollReader(coordinator)
    documents = 0
    try:
        hits = await reader.first(index_name, {"size": COPY_BATCH_DOCUMENTS, "sort": ["_doc"], "version": True,
                                               "query": {"match_all": {}}}, {"expand_wildcards": "all"})
        while hits:
            lines = b"".join(orjson.dumps({"_id": hit["_id"], "_routing": hit.get("_routing"),
                                           "_version": hit.get("_version"), "_source": hit.get("_source")})
                             + b"\n" for hit in hits)
            await trio.to_thread.run_sync(writer.write, lines)
            documents += len(hits)
            hits = await reader.next()
    except BaseException:
        await trio.to_thread.run_sync(writer.abandon)
        raise
    finally:
        await reader.close()
    return documents, await trio.to_thread.run_sync(writer.finish)


async def take_snapshot(services: Any, coordinator: Any, repository: Repository, info: dict[str, Any]) -> None:
    """Write every index's documents, then the info as SUCCESS (FAILED with the reason on error)."""
    directory = repository.directory_of(info["snapshot"])
    try:
        (directory / "indices").mkdir(parents=True, exist_ok=True)
        for index_name in info["indices"]:
            index = services.state.indices[index_name]
            metadata = {"settings": {key: value for key, value in index.settings.items()
                                     if key not in NOT_SNAPSHOTTED_SETTINGS},
                        "mappings": index.mappings,
                        "aliases": {name: alias_view(alias) for name, alias in sorted(index.aliases.items())},
                        "number_of_shards": index.number_of_shards}
            metadata["documents"], metadata["size_in_bytes"] = await _write_index_documents(
                services, coordinator, index_name, directory / "indices" / f"{index_name}{DOCUMENTS_SUFFIX}")
            info["index_metadata"][index_name] = metadata
            info["shards"]["total"] += index.number_of_shards
            info["shards"]["successful"] += index.number_of_shards
        info["state"] = SUCCESS
    except Exception as error:  # noqa: BLE001 — recorded as the snapshot's failure, which GET shows
        info["state"] = FAILED
        info["reason"] = str(error)
        info["failures"] = [{"reason": str(error), "status": "INTERNAL_SERVER_ERROR"}]
    finally:
        end = int(time.time() * 1000)
        info.update(end_time=_iso(end), end_time_in_millis=end, duration_in_millis=end - info["start_time_in_millis"])
        await trio.to_thread.run_sync(repository.write_info, info["snapshot"], info)


# ------------------------------------------------------------------ restoring

def _java_replacement(replacement: str) -> str:
    """Java's ``$1`` group references as Python's ``\\g<1>``."""
    return re.sub(r"\$(\d+)", r"\\g<\1>", replacement.replace("\\", "\\\\"))


async def restore_index(services: Any, coordinator: Any, repository: Repository, info: dict[str, Any],
                        source_name: str, target_name: str, settings: dict[str, Any], include_aliases: bool,
                        timeout_seconds: float) -> None:
    """Create ``target_name`` read-blocked, write every document of the snapshot's
    ``source_name``, then its final blocks, pipelines and aliases; delete it on failure."""
    from node.api.reindex import refresh_indices

    metadata = info["index_metadata"][source_name]
    creation = {key: value for key, value in settings.items() if key not in APPLIED_AFTER_THE_COPY}
    creation[READ_BLOCK] = "true"
    await services.create_index(target_name, {"settings": creation, "mappings": metadata["mappings"]},
                                wait_seconds=timeout_seconds)
    try:
        path = repository.directory_of(info["snapshot"]) / "indices" / f"{source_name}{DOCUMENTS_SUFFIX}"
        batches = read_dump_lines(path, COPY_BATCH_DOCUMENTS)
        try:
            while True:
                lines = await trio.to_thread.run_sync(next, batches, None)
                if lines is None:
                    break
                requests = []
                for line in lines:
                    document = orjson.loads(line)
                    write_params = {} if document.get("_version") is None else \
                        {"version": document["_version"], "version_type": "external"}
                    requests.append(WriteRequest("index", target_name, document["_id"], orjson.dumps(document["_source"]),
                                                 routing=document.get("_routing"), params=write_params))
                for outcome in await execute_writes(services, requests, timeout_seconds=timeout_seconds):
                    if outcome.status >= 300:
                        raise restore_error(repository.name, info["snapshot"], info["uuid"],
                                            f"restoring [{source_name}] as [{target_name}] failed: {outcome.body}")
        finally:
            await trio.to_thread.run_sync(batches.close)
        after = {key: value for key, value in settings.items() if key in APPLIED_AFTER_THE_COPY}
        after[READ_BLOCK] = settings.get(READ_BLOCK)
        commands: list[Any] = [c.UpdateIndexSettings(index_names=(target_name,), settings=after)]
        if include_aliases and metadata["aliases"]:
            commands.append(c.UpdateAliases(actions=tuple(
                {"add": {**definition, "index": target_name, "alias": alias}}
                for alias, definition in metadata["aliases"].items())))
        await services.submit(c.Batch(commands=tuple(commands)), timeout_seconds, index=target_name)
        await refresh_indices(services, coordinator, target_name)
    except BaseException:
        with trio.CancelScope(shield=True):
            await services.submit(c.DeleteIndex(index_name=target_name), timeout_seconds, index=target_name)
        raise


# ------------------------------------------------------------------ routes

def register(app: Any, services: Any) -> None:
    from node.api.indices import ack_timeout
    from node.api.search import coordinator_of

    context = services.context
    roots = context.config.snapshot_roots

    def definitions() -> dict[str, dict[str, Any]]:
        return {key[len(REPOSITORY_PREFIX):]: orjson.loads(value)
                for key, value in services.state.persistent_settings.items()
                if key.startswith(REPOSITORY_PREFIX) and isinstance(value, str)}

    def repository_of(name: str) -> Repository:
        definition = definitions().get(name)
        if definition is None:
            raise repository_missing(name)
        return Repository(name, definition, resolve_location(roots, name, definition["settings"].get("location")))

    async def in_background(work: Any) -> None:
        """Run ``work`` to completion whatever happens to the request that started it."""
        done, failure = trio.Event(), []

        async def runner() -> None:
            try:
                await work()
            except Exception as error:  # noqa: BLE001 — answered to the waiting client
                failure.append(error)
            finally:
                done.set()

        context.background.start_soon(runner)
        await done.wait()
        if failure:
            raise failure[0]

    # ---- repositories

    @app.route("/_snapshot/<repository>", methods=["PUT", "POST"])
    async def put_repository(repository: str) -> Any:
        query = params()
        definition, location = check_repository_definition(repository, await read_json_body(required=True), roots)
        if parse_boolean(query.get("verify"), "verify", True):
            await trio.to_thread.run_sync(_verify_location, repository, location)
        await services.submit(c.PutClusterSettings(persistent={REPOSITORY_PREFIX + repository: orjson.dumps(
            definition).decode()}), ack_timeout(query))
        return respond({"acknowledged": True})

    async def get_repositories(repositories: str | None = None) -> Any:
        known = definitions()
        if repositories in (None, "_all", "*"):
            return respond(dict(sorted(known.items())))
        wanted: dict[str, Any] = {}
        for pattern in repositories.split(","):
            matches = [name for name in known if fnmatch.fnmatchcase(name, pattern)]
            if not matches and "*" not in pattern:
                raise repository_missing(pattern)
            wanted.update({name: known[name] for name in matches})
        return respond(dict(sorted(wanted.items())))

    app.add_url_rule("/_snapshot", "get_all_repositories", get_repositories, methods=["GET"])
    app.add_url_rule("/_snapshot/<repositories>", "get_repositories", get_repositories, methods=["GET"])

    @app.route("/_snapshot/<repository>", methods=["DELETE"])
    async def delete_repository(repository: str) -> Any:
        repository_of(repository)
        await services.submit(c.PutClusterSettings(persistent={REPOSITORY_PREFIX + repository: None}),
                              ack_timeout(params()))
        return respond({"acknowledged": True})

    @app.route("/_snapshot/<repository>/_verify", methods=["POST"])
    async def verify_repository(repository: str) -> Any:
        found = repository_of(repository)
        await trio.to_thread.run_sync(_verify_location, repository, found.location)
        return respond({"nodes": {context.node_id: {"name": context.node_name}}})

    @app.route("/_snapshot/<repository>/_cleanup", methods=["POST"])
    async def cleanup_repository(repository: str) -> Any:
        repository_of(repository)
        return respond({"results": {"deleted_bytes": 0, "deleted_blobs": 0}})

    # ---- snapshots

    @app.route("/_snapshot/<repository>/<snapshot>", methods=["PUT", "POST"])
    async def create_snapshot(repository: str, snapshot: str) -> Any:
        query = params()
        body = await read_json_body(required=False) or {}
        found = repository_of(repository)
        check_snapshot_name(repository, snapshot)
        if found.readonly:
            raise repository_error(repository, "cannot create snapshot in a readonly repository")
        if await trio.to_thread.run_sync(found.read_info, snapshot) is not None:
            raise invalid_snapshot_name(repository, snapshot, "snapshot with the same name already exists")
        expression = body.get("indices") or "_all"
        if isinstance(expression, list):
            expression = ",".join(expression)
        options = IndicesOptions.from_params({"ignore_unavailable": str(body.get("ignore_unavailable", False)).lower(),
                                              "expand_wildcards": body.get("expand_wildcards", "open,hidden")})
        index_names = [name for name in resolve_indices(services.state, expression, options)
                       if services.state.indices[name].state == "open"]
        info = new_info(snapshot, index_names, context.config.version_number,
                        bool(body.get("include_global_state", True)), body.get("metadata"))
        await trio.to_thread.run_sync(found.write_info, snapshot, info)
        coordinator = coordinator_of(app)

        if not parse_boolean(query.get("wait_for_completion"), "wait_for_completion", False):
            context.background.start_soon(take_snapshot, services, coordinator, found, info)
            return respond({"accepted": True})
        await in_background(lambda: take_snapshot(services, coordinator, found, info))
        return respond({"snapshot": public_info(info)})

    def selected_infos(found: Repository, snapshots: str, ignore_unavailable: bool) -> list[dict[str, Any]]:
        infos = found.infos()
        if snapshots in ("_all", "*"):
            return infos
        if snapshots == "_current":
            return [info for info in infos if info["state"] == IN_PROGRESS]
        selected: list[dict[str, Any]] = []
        for pattern in snapshots.split(","):
            matches = [info for info in infos if fnmatch.fnmatchcase(info["snapshot"], pattern)]
            if not matches and "*" not in pattern and not ignore_unavailable:
                raise snapshot_missing(found.name, pattern)
            selected.extend(info for info in matches if info not in selected)
        return selected

    async def requested_infos(repository: str, snapshots: str, query: dict[str, str]) -> list[dict[str, Any]]:
        found = repository_of(repository)
        ignore = parse_boolean(query.get("ignore_unavailable"), "ignore_unavailable", False)
        return await trio.to_thread.run_sync(selected_infos, found, snapshots, ignore)

    @app.route("/_snapshot/<repository>/<snapshots>", methods=["GET"])
    async def get_snapshots(repository: str, snapshots: str) -> Any:
        query = params()
        infos = await requested_infos(repository, snapshots, query)
        if not parse_boolean(query.get("verbose"), "verbose", True):
            # OpenSearch's short form: what the repository's index knows without reading each info
            return respond({"snapshots": [{key: info[key] for key in ("snapshot", "uuid", "indices", "data_streams",
                                                                      "state")} for info in infos]})
        return respond({"snapshots": [public_info(info) for info in infos]})

    @app.route("/_snapshot/<repository>/<snapshots>/_status", methods=["GET"])
    async def snapshot_status(repository: str, snapshots: str) -> Any:
        infos = await requested_infos(repository, snapshots, params())
        return respond({"snapshots": [_status(repository, info) for info in infos]})

    @app.route("/_snapshot/<repository>/<snapshot>", methods=["DELETE"])
    async def delete_snapshot(repository: str, snapshot: str) -> Any:
        found = repository_of(repository)
        for name in snapshot.split(","):
            if await trio.to_thread.run_sync(found.read_info, name) is None:
                raise snapshot_missing(repository, name)
        for name in snapshot.split(","):
            await trio.to_thread.run_sync(found.delete, name)
        return respond({"acknowledged": True})

    @app.route("/_snapshot/<repository>/<snapshot>/_restore", methods=["POST"])
    async def restore_snapshot(repository: str, snapshot: str) -> Any:
        query = params()
        body = await read_json_body(required=False) or {}
        found = repository_of(repository)
        info = await trio.to_thread.run_sync(found.read_info, snapshot)
        if info is None:
            raise snapshot_missing(repository, snapshot)
        if info["state"] != SUCCESS:
            raise restore_error(repository, snapshot, info["uuid"], f"unsupported snapshot state [{info['state']}]")
        chosen = _restored_indices(repository, info, body)
        pattern, replacement = body.get("rename_pattern"), body.get("rename_replacement")
        overrides = body.get("index_settings") or {}
        ignored = body.get("ignore_index_settings") or []
        if isinstance(ignored, str):
            ignored = [part for part in ignored.split(",") if part]
        from raft.apply import normalize_index_settings

        overrides = normalize_index_settings(overrides)
        ignored_keys = {key if key.startswith("index.") else f"index.{key}" for key in ignored}
        plan = []
        for source_name in chosen:
            target_name = re.sub(pattern, _java_replacement(replacement or ""), source_name) \
                if pattern is not None and replacement is not None else source_name
            existing = services.state.indices.get(target_name)
            if existing is not None and existing.state == "open":
                raise restore_error(repository, snapshot, info["uuid"], (
                    f"cannot restore index [{target_name}] because an open index with same name already exists in "
                    f"the cluster. Either close or delete the existing index or restore the index under a different "
                    f"name by providing a rename pattern and replacement name"))
            settings = {key: value for key, value in info["index_metadata"][source_name]["settings"].items()
                        if key not in ignored_keys}
            settings.update({key: value for key, value in overrides.items() if value is not None})
            plan.append((source_name, target_name, settings, existing is not None))
        include_aliases = bool(body.get("include_aliases", True))
        coordinator = coordinator_of(app)
        timeout_seconds = ack_timeout(query)

        async def restore_all() -> None:
            for source_name, target_name, settings, replaces_closed in plan:
                if replaces_closed:
                    await services.submit(c.DeleteIndex(index_name=target_name), timeout_seconds, index=target_name)
                await restore_index(services, coordinator, found, info, source_name, target_name, settings,
                                    include_aliases, timeout_seconds)

        shards = sum(int(info["index_metadata"][name]["number_of_shards"]) for name in chosen)
        if not parse_boolean(query.get("wait_for_completion"), "wait_for_completion", False):
            async def logged() -> None:
                try:
                    await restore_all()
                except Exception:  # noqa: BLE001 — nobody waits: the restore's failure goes to the log
                    from node.logs import get_logger
                    get_logger("api").error("snapshot restore failed", exc_info=True,
                                            extra={"fields": {"repository": repository, "snapshot": snapshot}})

            context.background.start_soon(logged)
            return respond({"accepted": True})
        await in_background(restore_all)
        return respond({"snapshot": {"snapshot": snapshot, "indices": [target for _, target, _, _ in plan],
                                     "shards": {"total": shards, "failed": 0, "successful": shards}}})

    # ---- _cat

    @app.route("/_cat/repositories", methods=["GET"])
    async def cat_repositories() -> Any:
        table = CatTable([Column("id", ("repoId",), description="unique repository id"),
                          Column("type", ("t",), description="repository type")])
        table.rows = [{"id": name, "type": definition["type"]} for name, definition in sorted(definitions().items())]
        return render_table(table, params())

    async def cat_snapshots(repository: str | None = None) -> Any:
        query = params()
        table = CatTable([
            Column("id", ("snapshot",), description="unique snapshot"),
            Column("status", ("s",), description="snapshot status"),
            Column("start_epoch", ("ste", "startEpoch"), numeric=True, description="start time in seconds since 1970-01-01 00:00:00"),
            Column("start_time", ("sti", "startTime"), description="start time in HH:MM:SS"),
            Column("end_epoch", ("ete", "endEpoch"), numeric=True, description="end time in seconds since 1970-01-01 00:00:00"),
            Column("end_time", ("eti", "endTime"), description="end time in HH:MM:SS"),
            Column("duration", ("dur",), description="duration"),
            Column("indices", ("i",), numeric=True, description="number of indices"),
            Column("successful_shards", ("ss",), numeric=True, description="number of successful shards"),
            Column("failed_shards", ("fs",), numeric=True, description="number of failed shards"),
            Column("total_shards", ("ts",), numeric=True, description="number of total shards"),
            Column("reason", ("r",), default=False, description="reason for failures")])
        if "help" in query:
            return render_table(table, query)
        deprecated = repository is None
        if deprecated:
            # the old form: the repository as a parameter (or OpenSearch's q=repository:x)
            repository = query.get("repository") or (query.get("q") or "").partition("repository:")[2]
            if not repository:
                raise IllegalArgumentError("repository is missing")
        found = repository_of(repository)
        for info in await trio.to_thread.run_sync(found.infos):
            start = info["start_time_in_millis"]
            end = info.get("end_time_in_millis", start)
            table.rows.append({
                "id": info["snapshot"], "status": info["state"], "start_epoch": start // 1000,
                "start_time": time.strftime("%H:%M:%S", time.gmtime(start / 1000)), "end_epoch": end // 1000,
                "end_time": time.strftime("%H:%M:%S", time.gmtime(end / 1000)),
                "duration": f"{(end - start) / 1000:.1f}s", "indices": len(info["indices"]),
                "successful_shards": info["shards"]["successful"], "failed_shards": info["shards"]["failed"],
                "total_shards": info["shards"]["total"], "reason": info.get("reason", "")})
        response = render_table(table, query)
        if deprecated:
            response.headers["Warning"] = (f'299 OpenSearch-{context.config.version_number} "[/_cat/snapshots] is a '
                                           f'deprecated endpoint. Please use [/_cat/snapshots/{{repository}}] instead."')
        return response

    app.add_url_rule("/_cat/snapshots", "cat_snapshots_deprecated", cat_snapshots, methods=["GET"])
    app.add_url_rule("/_cat/snapshots/<repository>", "cat_snapshots", cat_snapshots, methods=["GET"])


def _verify_location(name: str, location: Path) -> None:
    """The location can be created and written (OpenSearch's repository verification)."""
    try:
        location.mkdir(parents=True, exist_ok=True)
        probe = location / f".verify-{uuid_module.uuid4().hex}"
        probe.write_bytes(b"quidditch")
        probe.unlink()
    except OSError as error:
        raise repository_error(name, f"cannot write to location [{location}]: {error.strerror}") from None


def _restored_indices(repository: str, info: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """The snapshot's indices the restore's ``indices`` names (all by default)."""
    expression = body.get("indices")
    if expression in (None, "", "_all", "*", []):
        return list(info["indices"])
    patterns = expression if isinstance(expression, list) else str(expression).split(",")
    chosen: list[str] = []
    for pattern in patterns:
        excluded = pattern.startswith("-")
        matches = [name for name in info["indices"] if fnmatch.fnmatchcase(name, pattern.lstrip("-"))]
        if excluded:
            chosen = [name for name in chosen if name not in matches]
            continue
        if not matches and "*" not in pattern and not body.get("ignore_unavailable"):
            raise ApiError(f"[{repository}:{info['snapshot']}] snapshot does not contain index [{pattern}]",
                           opensearch_type="snapshot_restore_exception", status=500)
        chosen.extend(name for name in matches if name not in chosen)
    return chosen


def _status(repository: str, info: dict[str, Any]) -> dict[str, Any]:
    """``_status`` for one snapshot: shard counts and sizes per index (from the files written)."""
    shards = info["shards"]
    done = shards["successful"] if info["state"] != IN_PROGRESS else 0
    end = info.get("end_time_in_millis", int(time.time() * 1000))
    indices = {}
    total_size = 0
    for name, metadata in info.get("index_metadata", {}).items():
        size = int(metadata.get("size_in_bytes", 0))
        total_size += size
        count = int(metadata["number_of_shards"])
        indices[name] = {"shards_stats": {"initializing": 0, "started": 0, "finalizing": 0, "done": count,
                                          "failed": 0, "total": count},
                         "stats": {"incremental": {"file_count": 1, "size_in_bytes": size},
                                   "total": {"file_count": 1, "size_in_bytes": size},
                                   "start_time_in_millis": info["start_time_in_millis"],
                                   "time_in_millis": end - info["start_time_in_millis"]}}
    files = len(indices)
    return {"snapshot": info["snapshot"], "repository": repository, "uuid": info["uuid"],
            "state": info["state"], "include_global_state": info["include_global_state"],
            "shards_stats": {"initializing": 0, "started": shards["total"] - done if info["state"] == IN_PROGRESS
                             else 0, "finalizing": 0, "done": done, "failed": shards["failed"],
                             "total": shards["total"]},
            "stats": {"incremental": {"file_count": files, "size_in_bytes": total_size},
                      "total": {"file_count": files, "size_in_bytes": total_size},
                      "start_time_in_millis": info["start_time_in_millis"],
                      "time_in_millis": end - info["start_time_in_millis"]},
            "indices": indices}
