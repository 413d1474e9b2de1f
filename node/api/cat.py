"""The _cat APIs: health, indices, nodes, shards, count, aliases, segments, master,
cluster_manager, allocation, recovery — text tables (``?v`` headers, ``?h=`` columns, ``?s=``
sorting with ``:asc``/``:desc``, ``?bytes=`` units, ``?help``) or ``?format=json`` (a list of
objects with string values, as OpenSearch).

Owns ``CatTable`` (column definitions with OpenSearch's names and aliases) and its rendering.
It must never compute a figure differently from the JSON APIs: it reads the same health,
statistics and state helpers.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import trio

from index.format import FORMAT_VERSION
from node.api import params, respond, text_response
from node.coordination.health import health_body, index_health, local_os_figures, master_node_id
from node.coordination.resolve import IndicesOptions, resolve_indices
from node.coordination.stats import gather_copy_statistics, gather_recoveries, gather_shard_statistics, recovery_percent
from node.errors import IllegalArgumentError

BYTE_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3, "tb": 1024 ** 4, "pb": 1024 ** 5}


# a segment's `version`: this build's segment file format (index/format.py) as a dotted number,
# where OpenSearch shows the Lucene version that wrote the segment
SEGMENT_FORMAT_VERSION = f"{FORMAT_VERSION}.0"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    aliases: tuple[str, ...] = ()
    default: bool = True
    numeric: bool = False
    bytes_value: bool = False
    description: str = ""


@dataclass
class CatTable:
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def column(self, wanted: str) -> Column | None:
        for column in self.columns:
            if wanted == column.name or wanted in column.aliases:
                return column
        return None


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("b", "kb", "mb", "gb", "tb"):
        if value < 1024 or unit == "tb":
            if unit == "b":
                return f"{int(value)}b"
            return f"{value:.1f}{unit}"
        value /= 1024
    return f"{size}b"


def _render_value(column: Column, value: Any, byte_unit: str | None) -> Any:
    if value is None:
        return None
    if column.bytes_value and isinstance(value, (int, float)):
        if byte_unit is not None:
            return str(int(value // BYTE_UNITS[byte_unit]))
        return human_bytes(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def render_table(table: CatTable, query: dict[str, str]) -> Any:
    if "help" in query:
        lines = [f"{column.name:<24} | {','.join(column.aliases):<20} | {column.description}"
                 for column in table.columns]
        return text_response("\n".join(lines) + "\n")
    byte_unit = query.get("bytes")
    if byte_unit is not None and byte_unit not in BYTE_UNITS:
        raise IllegalArgumentError(f"failed to parse [bytes]: expected one of {', '.join(BYTE_UNITS)}, got [{byte_unit}]")
    display_names: list[str] = []
    if query.get("h"):
        selected = []
        for wanted in query["h"].split(","):
            wanted = wanted.strip()
            exact = [column for column in table.columns if column.name == wanted or wanted in column.aliases]
            if exact:
                # a column asked for twice (cd,creation.date) shows twice, headed by the name asked
                # for (an alias stays the alias), as OpenSearch
                selected.append(exact[0])
                display_names.append(wanted)
                continue
            matches = [column for column in table.columns if fnmatch.fnmatchcase(column.name, wanted)]
            if not matches:
                raise IllegalArgumentError(f"Unable to find column [{wanted}] for the cat table")
            for column in matches:
                if column not in selected:
                    selected.append(column)
                    display_names.append(column.name)
    else:
        selected = [column for column in table.columns if column.default]
        display_names = [column.name for column in selected]
    rows = list(table.rows)
    if query.get("s"):
        for sort_key in reversed(query["s"].split(",")):
            name, _, direction = sort_key.partition(":")
            column = table.column(name.strip())
            if column is None:
                raise IllegalArgumentError(f"Unable to sort by unknown sort key `{name}`")

            def key(row: dict[str, Any], column: Column = column) -> Any:
                value = row.get(column.name)
                if column.numeric or column.bytes_value:
                    return (value is not None, float(value) if value is not None else 0.0)
                # an empty cell is the smallest, as OpenSearch's RestTable sorts (first ascending, last descending)
                return (value is not None, str(value) if value is not None else "")

            rows.sort(key=key, reverse=direction.strip().lower() == "desc")
    rendered = [[_render_value(column, row.get(column.name), byte_unit) for column in selected] for row in rows]
    if query.get("format") == "json":
        return respond([{name: value for name, value in zip(display_names, values)} for values in rendered])
    if query.get("format") not in (None, "", "text", "txt"):
        if query["format"] == "yaml":
            raise IllegalArgumentError("format [yaml] is not supported by the _cat APIs here; use json or text")
        raise IllegalArgumentError(f"unsupported format [{query['format']}]")
    verbose = query.get("v") in ("", "true")
    cells = [["" if value is None else value for value in values] for values in rendered]
    if verbose:
        cells.insert(0, list(display_names))
    widths = [max((len(row[i]) for row in cells), default=0) for i in range(len(selected))]
    lines = []
    last = len(selected) - 1
    for row_number, row in enumerate(cells):
        parts = []
        for i, (column, value) in enumerate(zip(selected, row)):
            is_header = verbose and row_number == 0
            if (column.numeric or column.bytes_value) and not is_header:
                parts.append(value.rjust(widths[i]))
            elif i == last:
                parts.append(value)  # OpenSearch pads every cell but a left-aligned last one
            else:
                parts.append(value.ljust(widths[i]))
        lines.append(" ".join(parts))
    return text_response("".join(line + "\n" for line in lines))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if number == 0:
            return text


def _time_text(seconds: float) -> str:
    milliseconds = int(round(seconds * 1000))
    return f"{milliseconds}ms" if milliseconds < 1000 else f"{milliseconds / 1000:.1f}s"


def time_value_text(nanos: int) -> str:
    """A duration as OpenSearch's TimeValue.toString shows it: the largest unit that keeps the
    number at least 1, one decimal, ``.0`` dropped (``1.2ms``, ``5s``, ``431.6micros``)."""
    for unit_name, unit_nanos in (("d", 86_400 * 10 ** 9), ("h", 3_600 * 10 ** 9), ("m", 60 * 10 ** 9),
                                  ("s", 10 ** 9), ("ms", 10 ** 6), ("micros", 10 ** 3)):
        if nanos >= unit_nanos:
            value = f"{nanos / unit_nanos:.1f}"
            return (value[:-2] if value.endswith(".0") else value) + unit_name
    return f"{nanos}nanos"


# _cat/shards columns in OpenSearch's order (3.2). Counters Quidditch keeps per copy are filled from
# the copy's statistics; caches and subsystems it does not have (fielddata, query cache,
# completion, warmers, concurrent/star-tree search) are zero; per-shard indexing/get/search
# counters are not kept (the node counts them per index, see _stats) and stay empty.
SHARD_COLUMNS: tuple[Column, ...] = (
    Column("index", ("i", "idx")), Column("shard", ("s", "sh"), numeric=True),
    Column("prirep", ("p", "pr", "primaryOrReplica")), Column("state", ("st",)),
    Column("docs", ("d", "dc"), numeric=True), Column("store", ("sto",), bytes_value=True), Column("ip", ()),
    Column("id", (), default=False), Column("node", ("n",)), Column("sync_id", (), default=False),
    Column("unassigned.reason", ("ur",), default=False), Column("unassigned.at", ("ua",), default=False),
    Column("unassigned.for", ("uf",), default=False), Column("unassigned.details", ("ud",), default=False),
    Column("recoverysource.type", ("rs",), default=False),
    Column("completion.size", ("cs", "completionSize"), default=False, bytes_value=True),
    Column("fielddata.memory_size", ("fm", "fielddataMemory"), default=False, bytes_value=True),
    Column("fielddata.evictions", ("fe", "fielddataEvictions"), default=False, numeric=True),
    Column("query_cache.memory_size", ("qcm", "queryCacheMemory"), default=False, bytes_value=True),
    Column("query_cache.evictions", ("qce", "queryCacheEvictions"), default=False, numeric=True),
    Column("flush.total", ("ft", "flushTotal"), default=False, numeric=True),
    Column("flush.total_time", ("ftt", "flushTotalTime"), default=False),
    Column("get.current", ("gc", "getCurrent"), default=False, numeric=True),
    Column("get.time", ("gti", "getTime"), default=False), Column("get.total", ("gto", "getTotal"), default=False),
    Column("get.exists_time", ("geti", "getExistsTime"), default=False),
    Column("get.exists_total", ("geto", "getExistsTotal"), default=False),
    Column("get.missing_time", ("gmti", "getMissingTime"), default=False),
    Column("get.missing_total", ("gmto", "getMissingTotal"), default=False),
    Column("indexing.delete_current", ("idc", "indexingDeleteCurrent"), default=False),
    Column("indexing.delete_time", ("idti", "indexingDeleteTime"), default=False),
    Column("indexing.delete_total", ("idto", "indexingDeleteTotal"), default=False),
    Column("indexing.index_current", ("iic", "indexingIndexCurrent"), default=False),
    Column("indexing.index_time", ("iiti", "indexingIndexTime"), default=False),
    Column("indexing.index_total", ("iito", "indexingIndexTotal"), default=False),
    Column("indexing.index_failed", ("iif", "indexingIndexFailed"), default=False),
    Column("merges.current", ("mc", "mergesCurrent"), default=False, numeric=True),
    Column("merges.current_docs", ("mcd", "mergesCurrentDocs"), default=False, numeric=True),
    Column("merges.current_size", ("mcs", "mergesCurrentSize"), default=False, bytes_value=True),
    Column("merges.total", ("mt", "mergesTotal"), default=False, numeric=True),
    Column("merges.total_docs", ("mtd", "mergesTotalDocs"), default=False, numeric=True),
    Column("merges.total_size", ("mts", "mergesTotalSize"), default=False),
    Column("merges.total_time", ("mtt", "mergesTotalTime"), default=False),
    Column("refresh.total", ("rto", "refreshTotal"), default=False, numeric=True),
    Column("refresh.time", ("rti", "refreshTime"), default=False),
    Column("refresh.external_total", ("rto", "refreshTotal"), default=False, numeric=True),
    Column("refresh.external_time", ("rti", "refreshTime"), default=False),
    Column("refresh.listeners", ("rli", "refreshListeners"), default=False, numeric=True),
    Column("search.fetch_current", ("sfc", "searchFetchCurrent"), default=False),
    Column("search.fetch_time", ("sfti", "searchFetchTime"), default=False),
    Column("search.fetch_total", ("sfto", "searchFetchTotal"), default=False),
    Column("search.open_contexts", ("so", "searchOpenContexts"), default=False, numeric=True),
    Column("search.query_current", ("sqc", "searchQueryCurrent"), default=False),
    Column("search.query_time", ("sqti", "searchQueryTime"), default=False),
    Column("search.query_total", ("sqto", "searchQueryTotal"), default=False),
    Column("search.concurrent_query_current", ("scqc", "searchConcurrentQueryCurrent"), default=False, numeric=True),
    Column("search.concurrent_query_time", ("scqti", "searchConcurrentQueryTime"), default=False),
    Column("search.concurrent_query_total", ("scqto", "searchConcurrentQueryTotal"), default=False, numeric=True),
    Column("search.concurrent_avg_slice_count", ("casc", "searchConcurrentAvgSliceCount"), default=False,
           numeric=True),
    Column("search.startree_query_current", ("stqc", "startreeQueryCurrent"), default=False, numeric=True),
    Column("search.startree_query_time", ("stqti", "startreeQueryTime"), default=False),
    Column("search.startree_query_total", ("stqto", "startreeQueryTotal"), default=False, numeric=True),
    Column("search.scroll_current", ("scc", "searchScrollCurrent"), default=False),
    Column("search.scroll_time", ("scti", "searchScrollTime"), default=False),
    Column("search.scroll_total", ("scto", "searchScrollTotal"), default=False),
    Column("search.point_in_time_current", ("spc", "searchPointInTimeCurrent"), default=False),
    Column("search.point_in_time_time", ("spti", "searchPointInTimeTime"), default=False),
    Column("search.point_in_time_total", ("spto", "searchPointInTimeTotal"), default=False),
    Column("search.search_idle_reactivate_count_total", ("ssirct", "searchSearchIdleReactivateCountTotal"),
           default=False),
    Column("segments.count", ("sc", "segmentsCount"), default=False, numeric=True),
    Column("segments.memory", ("sm", "segmentsMemory"), default=False, bytes_value=True),
    Column("segments.index_writer_memory", ("siwm", "segmentsIndexWriterMemory"), default=False, bytes_value=True),
    Column("segments.version_map_memory", ("svmm", "segmentsVersionMapMemory"), default=False, bytes_value=True),
    Column("segments.fixed_bitset_memory", ("sfbm", "fixedBitsetMemory"), default=False, bytes_value=True),
    Column("seq_no.max", ("sqm", "maxSeqNo"), default=False, numeric=True),
    Column("seq_no.local_checkpoint", ("sql", "localCheckpoint"), default=False, numeric=True),
    Column("seq_no.global_checkpoint", ("sqg", "globalCheckpoint"), default=False, numeric=True),
    Column("warmer.current", ("wc", "warmerCurrent"), default=False, numeric=True),
    Column("warmer.total", ("wto", "warmerTotal"), default=False, numeric=True),
    Column("warmer.total_time", ("wtt", "warmerTotalTime"), default=False),
    Column("path.data", ("pd", "dataPath"), default=False), Column("path.state", ("ps", "statsPath"), default=False),
    Column("docs.deleted", ("dd", "docsDeleted"), default=False, numeric=True),
)


def _shard_statistics_columns(statistics: dict[str, Any]) -> dict[str, Any]:
    zero_time = "0s"
    return {
        "docs": statistics["doc_count"], "docs.deleted": statistics.get("deleted_docs", 0),
        "store": statistics["size_bytes"] + statistics["translog_size_bytes"],
        "completion.size": 0, "fielddata.memory_size": 0, "fielddata.evictions": 0,
        "query_cache.memory_size": 0, "query_cache.evictions": 0,
        "flush.total": statistics.get("flush_total", 0),
        "flush.total_time": _time_text(statistics.get("flush_time_seconds", 0.0)),
        "get.current": 0, "merges.current": 0, "merges.current_docs": 0, "merges.current_size": 0,
        "merges.total": statistics.get("merge_total", 0), "merges.total_docs": statistics.get("merged_docs_total", 0),
        "merges.total_time": _time_text(statistics.get("merge_time_seconds", 0.0)),
        "refresh.total": statistics.get("refresh_total", 0),
        "refresh.time": _time_text(statistics.get("refresh_time_seconds", 0.0)),
        "refresh.external_total": statistics.get("refresh_total", 0),
        "refresh.external_time": _time_text(statistics.get("refresh_time_seconds", 0.0)),
        "refresh.listeners": 0, "search.open_contexts": statistics.get("open_reader_contexts", 0),
        "search.concurrent_query_current": 0, "search.concurrent_query_time": zero_time,
        "search.concurrent_query_total": 0, "search.concurrent_avg_slice_count": 0,
        "search.startree_query_current": 0, "search.startree_query_time": zero_time,
        "search.startree_query_total": 0,
        "segments.count": statistics.get("segment_count", 0), "segments.memory": 0,
        "segments.index_writer_memory": 0, "segments.version_map_memory": 0, "segments.fixed_bitset_memory": 0,
        "seq_no.max": statistics.get("max_seq_no"), "seq_no.local_checkpoint": statistics.get("local_checkpoint"),
        "seq_no.global_checkpoint": statistics.get("global_checkpoint"),
        "warmer.current": 0, "warmer.total": 0, "warmer.total_time": zero_time,
    }


def _local_resource_columns(figures: dict[str, Any]) -> dict[str, Any]:
    """The _cat/nodes resource columns of this node: heap.* is the front process's resident memory
    against the machine's memory (a Python process has no JVM heap), file descriptors of the front
    process, and the data directory's disk."""
    total_memory = figures["os"]["mem"]["total_in_bytes"]
    resident = figures["process"]["mem"]["resident_in_bytes"] or 0
    open_files = figures["process"]["open_file_descriptors"]
    max_files = figures["process"]["max_file_descriptors"]
    disk = figures["fs"]["total"]
    disk_used = max(0, disk["total_in_bytes"] - disk["available_in_bytes"])
    return {"heap.current": resident, "heap.max": total_memory,
            "heap.percent": int(100 * resident / total_memory) if total_memory else 0,
            "file_desc.current": open_files, "file_desc.max": max_files,
            "file_desc.percent": int(100 * open_files / max_files) if max_files and open_files >= 0 else 0,
            "disk.total": disk["total_in_bytes"], "disk.used": disk_used, "disk.avail": disk["available_in_bytes"],
            "disk.used_percent": f"{100 * disk_used / disk['total_in_bytes']:.2f}" if disk["total_in_bytes"] else None}


def _node_host(state: Any, node_id: str | None) -> tuple[str | None, str | None]:
    node = state.nodes.get(node_id) if node_id else None
    if node is None:
        return None, None
    return node.http_address.rsplit(":", 1)[0], node.name


def _cat_recovery_row(state: Any, index_name: str, shard: Any, shard_copy: Any, record: dict | None,
                      now_millis: int) -> dict[str, Any]:
    """One _cat/recovery row from the copy's recovery record (node/coordination/replication.py
    RecoveryProgress); without one (its node kept none or did not answer), from the routing table
    with 0 of 0 figures."""
    target_host, target_node = _node_host(state, shard_copy.node_id)
    if record is None:
        done = shard_copy.state in ("STARTED", "RELOCATING")
        record = {"recovery_type": "EXISTING_STORE" if shard_copy.primary else "PEER",
                  "stage": "DONE" if done else "INIT", "start_time_millis": None, "stop_time_millis": None,
                  "source_node_id": None, "files_total": 0, "files_recovered": 0, "bytes_total": 0,
                  "bytes_recovered": 0, "operations_total": 0, "operations_recovered": 0}
    finished = record["stage"] == "DONE"
    start_millis, stop_millis = record["start_time_millis"], record["stop_time_millis"]
    elapsed_millis = 0 if start_millis is None else max(0, (stop_millis or now_millis) - start_millis)
    source_host, source_node = (_node_host(state, record["source_node_id"]) if record["recovery_type"] == "PEER"
                                else (None, None))
    return {
        "index": index_name, "shard": shard.shard_number,
        "start_time": _iso_millis(start_millis) if start_millis is not None else None,
        "start_time_millis": start_millis,
        "stop_time": _iso_millis(stop_millis) if stop_millis is not None else None,
        "stop_time_millis": stop_millis, "time": _duration(elapsed_millis),
        "type": record["recovery_type"].lower(), "stage": record["stage"].lower(),
        "source_host": source_host or "n/a", "source_node": source_node or "n/a",
        "target_host": target_host, "target_node": target_node, "repository": "n/a", "snapshot": "n/a",
        "files": record["files_total"], "files_recovered": record["files_recovered"],
        "files_percent": recovery_percent(record["files_recovered"], record["files_total"], finished),
        "files_total": record["files_total"], "bytes": record["bytes_total"],
        "bytes_recovered": record["bytes_recovered"],
        "bytes_percent": recovery_percent(record["bytes_recovered"], record["bytes_total"], finished),
        "bytes_total": record["bytes_total"], "translog_ops": record["operations_total"],
        "translog_ops_recovered": record["operations_recovered"],
        "translog_ops_percent": recovery_percent(record["operations_recovered"], record["operations_total"],
                                                 finished)}


def _iso_millis(millis: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis / 1000)) + f".{millis % 1000:03d}Z"


def _duration(millis: int) -> str:
    """OpenSearch's short time values: 850ms, 1.2s, 3.5m."""
    if millis < 1000:
        return f"{millis}ms"
    if millis < 60_000:
        return f"{millis / 1000:.1f}s"
    return f"{millis / 60_000:.1f}m"


def register(app: Any, services: Any) -> None:
    context = services.context

    @app.route("/_cat", methods=["GET"])
    async def cat_index() -> Any:
        endpoints = ["health", "indices", "indices/{index}", "nodes", "shards", "shards/{index}", "count",
                     "count/{index}", "aliases", "aliases/{alias}", "segments", "segments/{index}", "master",
                     "cluster_manager", "allocation", "recovery", "recovery/{index}", "thread_pool", "nodeattrs",
                     "plugins", "pending_tasks", "fielddata", "fielddata/{fields}", "templates", "tasks"]
        return text_response("=^.^=\n" + "".join(f"/_cat/{endpoint}\n" for endpoint in endpoints))

    @app.route("/_cat/health", methods=["GET"])
    async def cat_health() -> Any:
        query = params()
        state = services.state
        body = health_body(state, context.metadata.status(), None)
        now = time.time()
        table = CatTable([Column("epoch", ("t", "time"), numeric=True), Column("timestamp", ("ts", "hms", "hhmmss")),
                          Column("cluster", ("cl",)), Column("status", ("st",)),
                          Column("node.total", ("nt", "nodeTotal"), numeric=True),
                          Column("node.data", ("nd", "nodeData"), numeric=True),
                          Column("discovered_cluster_manager", ("dcm",)),
                          Column("shards", ("t", "sh", "shards.total"), numeric=True),
                          Column("pri", ("p", "shards.primary"), numeric=True),
                          Column("relo", ("r", "shards.relocating"), numeric=True),
                          Column("init", ("i", "shards.initializing"), numeric=True),
                          Column("unassign", ("u", "shards.unassigned"), numeric=True),
                          Column("pending_tasks", ("pt",), numeric=True),
                          Column("max_task_wait_time", ("mtwt",)),
                          Column("active_shards_percent", ("asp",))])
        if query.get("ts") in ("false", "0", "off", "no"):
            table.columns = table.columns[2:]  # ts=false drops epoch and timestamp, as OpenSearch
        table.rows.append({"epoch": int(now), "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)),
                           "cluster": state.cluster_name, "status": body["status"],
                           "node.total": body["number_of_nodes"], "node.data": body["number_of_data_nodes"],
                           "discovered_cluster_manager": body["discovered_cluster_manager"],
                           "shards": body["active_shards"], "pri": body["active_primary_shards"],
                           "relo": body["relocating_shards"], "init": body["initializing_shards"],
                           "unassign": body["unassigned_shards"], "pending_tasks": 0, "max_task_wait_time": "-",
                           "active_shards_percent": f"{body['active_shards_percent_as_number']:.1f}%"})
        return render_table(table, query)

    async def cat_indices(index: str | None = None) -> Any:
        query = params()
        state = services.state
        options = IndicesOptions.from_params(query, IndicesOptions(expand_closed=True))
        names = resolve_indices(state, index, options)
        answers = await gather_shard_statistics(services, names)
        every_copy = await gather_copy_statistics(services, names)
        table = CatTable([Column("health", ("h",)), Column("status", ("s",)), Column("index", ("i", "idx")),
                          Column("uuid", ("id",)), Column("pri", ("p", "shards.primary"), numeric=True),
                          Column("rep", ("r", "shards.replica"), numeric=True),
                          Column("docs.count", ("dc", "docsCount"), numeric=True),
                          Column("docs.deleted", ("dd", "docsDeleted"), numeric=True),
                          Column("store.size", ("ss", "storeSize"), bytes_value=True),
                          Column("pri.store.size", (), bytes_value=True),
                          Column("creation.date", ("cd",), default=False, numeric=True),
                          Column("creation.date.string", ("cds",), default=False)])
        wanted_health = query.get("health")
        if wanted_health is not None and wanted_health not in ("green", "yellow", "red"):
            raise IllegalArgumentError(f"failed to parse [health]: expected green, yellow or red, "
                                       f"got [{wanted_health}]")
        for name in names:
            metadata = state.indices[name]
            statistics = [answer.statistics for answer in answers
                          if answer.index_name == name and answer.statistics is not None]
            # a closed index keeps its shard copies (replicated since OpenSearch 7.2): it has a health
            health = index_health(state, name)[0]
            if wanted_health and health != wanted_health:
                continue
            opened = metadata.state == "open"
            size = sum(s["size_bytes"] + s["translog_size_bytes"] for s in statistics) if opened else None
            table.rows.append({
                "health": health, "status": metadata.state, "index": name, "uuid": metadata.uuid,
                "pri": metadata.number_of_shards, "rep": metadata.number_of_replicas,
                "docs.count": sum(s["doc_count"] for s in statistics) if opened else None,
                "docs.deleted": sum(s["deleted_docs"] for s in statistics) if opened else None,
                "store.size": sum(s["size_bytes"] + s["translog_size_bytes"]
                                  for (index_name, _, _), s in every_copy.items() if index_name == name)
                if opened else None,
                "pri.store.size": size, "creation.date": metadata.creation_date,
                "creation.date.string": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                                      time.gmtime(metadata.creation_date / 1000))})
        return render_table(table, query)

    app.add_url_rule("/_cat/indices", "cat_indices", cat_indices, methods=["GET"])
    app.add_url_rule("/_cat/indices/<index>", "cat_indices_index", cat_indices, methods=["GET"])

    @app.route("/_cat/nodes", methods=["GET"])
    async def cat_nodes() -> Any:
        query = params()
        state = services.state
        master = master_node_id(state, context.metadata.status())
        figures = local_os_figures(context.config.data_directory)
        table = CatTable([Column("ip", ("i",)), Column("heap.percent", ("hp", "heapPercent"), numeric=True),
                          Column("ram.percent", ("rp", "ramPercent"), numeric=True),
                          Column("cpu", (), numeric=True), Column("load_1m", ("l",)), Column("load_5m", ("l",)),
                          Column("load_15m", ("l",)), Column("node.role", ("r", "role", "nodeRole")),
                          Column("node.roles", ("rs", "all roles")),
                          Column("cluster_manager", ("cm", "m", "master")), Column("name", ("n",)),
                          Column("id", ("nodeId",), default=False), Column("http_address", ("http",), default=False),
                          Column("port", ("po",), default=False),
                          # "heap" is the front process's resident memory against the machine's (no JVM here)
                          Column("heap.current", ("hc", "heapCurrent"), default=False, bytes_value=True),
                          Column("heap.max", ("hm", "heapMax"), default=False, bytes_value=True),
                          Column("file_desc.current", ("fdc", "fileDescriptorCurrent"), default=False, numeric=True),
                          Column("file_desc.percent", ("fdp", "fileDescriptorPercent"), default=False, numeric=True),
                          Column("file_desc.max", ("fdm", "fileDescriptorMax"), default=False, numeric=True),
                          Column("disk.total", ("dt", "diskTotal"), default=False, bytes_value=True),
                          Column("disk.used", ("du", "diskUsed"), default=False, bytes_value=True),
                          Column("disk.avail", ("d", "da", "disk", "diskAvail"), default=False, bytes_value=True),
                          Column("disk.used_percent", ("dup", "diskUsedPercent"), default=False, numeric=True)])
        # heap.percent sits among the defaults; the other heap columns are asked for by name (heap.*)
        table.columns.insert(1, table.columns.pop(table.columns.index(table.column("heap.current"))))
        table.columns.insert(3, table.columns.pop(table.columns.index(table.column("heap.max"))))
        letters = {"cluster_manager": "m", "data": "d", "ingest": "i", "remote_cluster_client": "r"}
        for node_id, node in sorted(state.nodes.items()):
            local = node_id == context.node_id
            load = figures["os"]["cpu"]["load_average"] if local else {}
            table.rows.append({
                "ip": node.http_address.rsplit(":", 1)[0],
                "ram.percent": figures["os"]["mem"]["used_percent"] if local else None,
                "cpu": figures["os"]["cpu"]["percent"] if local else None,
                "load_1m": load.get("1m"), "load_5m": load.get("5m"), "load_15m": load.get("15m"),
                "node.role": "".join(sorted(letters.get(role, "-") for role in node.roles)) or "-",
                "node.roles": ",".join(sorted(node.roles)), "cluster_manager": "*" if node_id == master else "-",
                "name": node.name, "id": node_id[:4] if query.get("full_id") not in ("true", "") else node_id,
                "http_address": node.http_address, "port": node.transport_address.rsplit(":", 1)[-1],
                **(_local_resource_columns(figures) if local else {})})
        return render_table(table, query)

    async def cat_shards(index: str | None = None) -> Any:
        query = params()
        state = services.state
        names = resolve_indices(state, index, IndicesOptions(expand_closed=True, expand_hidden=True))
        by_copy = await gather_copy_statistics(services, names)
        table = CatTable(list(SHARD_COLUMNS))
        for name in names:
            for shard in state.routing_table.get(name, ()):
                for shard_copy in shard.copies:
                    statistics = by_copy.get((name, shard.shard_number, shard_copy.allocation_id))
                    ip, node_name = _node_host(state, shard_copy.node_id)
                    table.rows.append({
                        "index": name, "shard": shard.shard_number, "prirep": "p" if shard_copy.primary else "r",
                        "state": shard_copy.state, "ip": ip, "node": node_name, "id": shard_copy.node_id,
                        "unassigned.reason": shard_copy.unassigned_reason if shard_copy.state == "UNASSIGNED" else None,
                        "path.data": str(context.config.data_directory) if shard_copy.node_id == context.node_id
                        else None,
                        **(_shard_statistics_columns(statistics) if statistics else {})})
        return render_table(table, query)

    app.add_url_rule("/_cat/shards", "cat_shards", cat_shards, methods=["GET"])
    app.add_url_rule("/_cat/shards/<index>", "cat_shards_index", cat_shards, methods=["GET"])

    async def cat_count(index: str | None = None) -> Any:
        query = params()
        names = resolve_indices(services.state, index, IndicesOptions())
        answers = await gather_shard_statistics(services, names)
        count = sum(answer.statistics["doc_count"] for answer in answers if answer.statistics is not None)
        now = time.time()
        table = CatTable([Column("epoch", ("t", "time"), numeric=True), Column("timestamp", ("ts", "hms")),
                          Column("count", ("dc", "docs.count", "docsCount"), numeric=True)])
        table.rows.append({"epoch": int(now), "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)),
                           "count": count})
        return render_table(table, query)

    app.add_url_rule("/_cat/count", "cat_count", cat_count, methods=["GET"])
    app.add_url_rule("/_cat/count/<index>", "cat_count_index", cat_count, methods=["GET"])

    async def cat_aliases(name: str | None = None) -> Any:
        query = params()
        state = services.state
        patterns = [part for part in (name or "").split(",") if part]
        table = CatTable([Column("alias", ("a",)), Column("index", ("i", "idx")), Column("filter", ("f", "fi")),
                          Column("routing.index", ("ri", "routingIndex")),
                          Column("routing.search", ("rs", "routingSearch")),
                          Column("is_write_index", ("w", "isWriteIndex"))])
        # _cat/aliases expands to every alias by default; an expand_wildcards without "hidden"
        # (or "all") leaves out hidden aliases and the aliases of hidden indices, as OpenSearch
        expand = {part.strip() for part in query.get("expand_wildcards", "all").split(",") if part.strip()}
        show_hidden = bool(expand & {"all", "hidden"})
        for index_name, index in sorted(state.indices.items()):
            index_hidden = str(index.settings.get("index.hidden", "false")).lower() == "true"
            for alias_name, alias in sorted(index.aliases.items()):
                if patterns and not any(fnmatch.fnmatchcase(alias_name, pattern) for pattern in patterns):
                    continue
                if not show_hidden and (alias.is_hidden or index_hidden):
                    continue
                table.rows.append({"alias": alias_name, "index": index_name,
                                   "filter": "*" if alias.filter else "-",
                                   "routing.index": alias.index_routing or "-",
                                   "routing.search": alias.search_routing or "-",
                                   "is_write_index": "-" if alias.is_write_index is None else alias.is_write_index})
        table.rows.sort(key=lambda row: (row["alias"], row["index"]))
        return render_table(table, query)

    app.add_url_rule("/_cat/aliases", "cat_aliases", cat_aliases, methods=["GET"])
    app.add_url_rule("/_cat/aliases/<name>", "cat_aliases_name", cat_aliases, methods=["GET"])

    async def cat_segments(index: str | None = None) -> Any:
        query = params()
        state = services.state
        names = resolve_indices(state, index, IndicesOptions())
        table = CatTable([Column("index", ("i", "idx")), Column("shard", ("s", "sh"), numeric=True),
                          Column("prirep", ("p", "pr")), Column("ip", ()), Column("segment", ("seg",)),
                          Column("generation", ("g", "gen"), numeric=True),
                          Column("docs.count", ("dc",), numeric=True), Column("docs.deleted", ("dd",), numeric=True),
                          Column("size", ("si",), bytes_value=True), Column("size.memory", ("sm",), numeric=True),
                          Column("committed", ("ic",)), Column("searchable", ("is",)), Column("version", ("v",)),
                          Column("compound", ("ico",))])
        rows: list[dict[str, Any]] = []

        async def one(index_name: str, shard_number: int, node_id: str | None) -> None:
            try:
                payload, _, _, _ = await services.director.call_primary(index_name, shard_number, "segments", {},
                                                                        b"", timeout_seconds=10.0)
            except Exception:  # noqa: BLE001 — an unreachable shard lists no segments
                return
            ip, _ = _node_host(state, node_id)
            for segment in payload["segments"]:
                rows.append({"index": index_name, "shard": shard_number, "prirep": "p", "ip": ip,
                             # named as _segments names them (_<generation in base 36>), as Lucene's _0, _1 ...
                             "segment": f"_{_base36(int(segment['generation']))}",
                             "generation": segment["generation"],
                             "docs.count": segment["docs.count"], "docs.deleted": segment["docs.deleted"],
                             "size": segment["size"], "size.memory": 0, "committed": True, "searchable": True,
                             "version": SEGMENT_FORMAT_VERSION, "compound": False})

        async with trio.open_nursery() as nursery:
            for name in names:
                for shard in state.routing_table.get(name, ()):
                    primary = shard.primary()
                    if primary is not None and primary.state == "STARTED":
                        nursery.start_soon(one, name, shard.shard_number, primary.node_id)
        table.rows = sorted(rows, key=lambda row: (row["index"], row["shard"], row["generation"]))
        return render_table(table, query)

    app.add_url_rule("/_cat/segments", "cat_segments", cat_segments, methods=["GET"])
    app.add_url_rule("/_cat/segments/<index>", "cat_segments_index", cat_segments, methods=["GET"])

    async def cat_master() -> Any:
        query = params()
        state = services.state
        master = master_node_id(state, context.metadata.status())
        table = CatTable([Column("id", ()), Column("host", ("h",)), Column("ip", ()), Column("node", ("n",))])
        if master is not None:
            node = state.nodes[master]
            host = node.http_address.rsplit(":", 1)[0]
            table.rows.append({"id": master, "host": host, "ip": host, "node": node.name})
        return render_table(table, query)

    async def cat_nodeattrs() -> Any:
        """One row per node attribute (the --attr / node.attr.* values each node registered)."""
        query = params()
        state = services.state
        table = CatTable([Column("node", ("name",)), Column("id", ("nodeId",), default=False),
                          Column("pid", ("p",), default=False), Column("host", ("h",)), Column("ip", ("i",)),
                          Column("port", ("po",), default=False), Column("attr", ("attr.name",)),
                          Column("value", ("attr.value",))])
        for node_id, node in sorted(state.nodes.items()):
            host = node.http_address.rsplit(":", 1)[0]
            for attribute, value in sorted(node.attributes.items()):
                table.rows.append({"node": node.name, "id": node_id[:4], "host": host, "ip": host,
                                   "port": node.transport_address.rsplit(":", 1)[-1], "attr": attribute,
                                   "value": value})
        return render_table(table, query)

    app.add_url_rule("/_cat/nodeattrs", "cat_nodeattrs", cat_nodeattrs, methods=["GET"])

    # tables of things Quidditch does not have: their rows are truly none (no plugins, no queued
    # cluster-state tasks — state changes are Raft commands —, no fielddata, no index templates)
    async def cat_plugins() -> Any:
        return render_table(CatTable([Column("id", (), default=False), Column("name", ("n",)),
                                      Column("component", ("c",)), Column("version", ("v",)),
                                      Column("description", ("d",), default=False)]), params())

    async def cat_pending_tasks() -> Any:
        return render_table(CatTable([Column("insertOrder", ("o",), numeric=True), Column("timeInQueue", ("t",)),
                                      Column("priority", ("p",)), Column("source", ("s",))]), params())

    async def cat_fielddata(fields: str | None = None) -> Any:
        return render_table(CatTable([Column("id", ()), Column("host", ("h",)), Column("ip", ()),
                                      Column("node", ("n",)), Column("field", ("f",)),
                                      Column("size", ("s",), bytes_value=True)]), params())

    async def cat_templates(name: str | None = None) -> Any:
        from node.api.templates import template_rows  # local: templates imports the indices module

        return render_table(CatTable([Column("name", ("n",)), Column("index_patterns", ("t",)),
                                      Column("order", ("o", "p"), numeric=True), Column("version", ("v",)),
                                      Column("composed_of", ("c",))], template_rows(services.state, name)), params())

    async def cat_tasks() -> Any:
        """OpenSearch's _cat/tasks: the running tasks of the cluster (node/api/tasks.py gathers
        them from every node), one row per task; ``detailed`` fills ``description``."""
        from quart import request as current_request

        from node.api.tasks import gather_task_infos, tasks_of

        query = params()
        headers = {"X-Opaque-Id": current_request.headers["X-Opaque-Id"]} \
            if "X-Opaque-Id" in current_request.headers else {}
        infos, _ = await gather_task_infos(services, tasks_of(app), query, headers)
        state = services.state
        table = CatTable([Column("id", (), default=False), Column("action", ("ac",)), Column("task_id", ("ti",)),
                          Column("parent_task_id", ("pti",)), Column("type", ("ty",)),
                          Column("start_time", ("start",), numeric=True), Column("timestamp", ("ts", "hms", "hhmmss")),
                          Column("running_time_ns", (), default=False, numeric=True),
                          Column("running_time", ("time",)), Column("node_id", ("ni",), default=False),
                          Column("ip", ("i",)), Column("port", ("po",), default=False), Column("node", ("n",)),
                          Column("version", ("v",), default=False), Column("x_opaque_id", ("x",), default=False),
                          Column("description", ("desc",), default=False)])
        for info in infos:
            node = state.nodes.get(info["node"])
            host, _, port = (node.transport_address if node is not None else "").rpartition(":")
            table.rows.append({
                "id": f"{info['node']}:{info['id']}", "action": info["action"],
                "task_id": f"{info['node']}:{info['id']}", "parent_task_id": info.get("parent_task_id", "-"),
                "type": info["type"], "start_time": info["start_time_in_millis"],
                "timestamp": time.strftime("%H:%M:%S", time.gmtime(info["start_time_in_millis"] / 1000)),
                "running_time_ns": info["running_time_in_nanos"],
                "running_time": time_value_text(info["running_time_in_nanos"]), "node_id": info["node"],
                "ip": host or None, "port": port or None, "node": node.name if node is not None else info["node"],
                "version": context.config.version_number,
                "x_opaque_id": info.get("headers", {}).get("X-Opaque-Id", "-"),
                "description": info.get("description", "-")})
        if "detailed" in query and query.get("detailed") not in ("false", "0"):
            table.columns[-1] = Column("description", ("desc",))
        return render_table(table, query)

    app.add_url_rule("/_cat/tasks", "cat_tasks", cat_tasks, methods=["GET"])
    app.add_url_rule("/_cat/plugins", "cat_plugins", cat_plugins, methods=["GET"])
    app.add_url_rule("/_cat/pending_tasks", "cat_pending_tasks", cat_pending_tasks, methods=["GET"])
    app.add_url_rule("/_cat/fielddata", "cat_fielddata", cat_fielddata, methods=["GET"])
    app.add_url_rule("/_cat/fielddata/<fields>", "cat_fielddata_fields", cat_fielddata, methods=["GET"])
    app.add_url_rule("/_cat/templates", "cat_templates", cat_templates, methods=["GET"])
    app.add_url_rule("/_cat/templates/<name>", "cat_templates_name", cat_templates, methods=["GET"])

    app.add_url_rule("/_cat/master", "cat_master", cat_master, methods=["GET"])
    app.add_url_rule("/_cat/cluster_manager", "cat_cluster_manager", cat_master, methods=["GET"])

    @app.route("/_cat/allocation", methods=["GET"])
    @app.route("/_cat/allocation/<node_filter>", methods=["GET"])
    async def cat_allocation(node_filter: str | None = None) -> Any:
        query = params()
        state = services.state
        figures = local_os_figures(context.config.data_directory)["fs"]["total"]
        table = CatTable([Column("shards", (), numeric=True), Column("disk.indices", ("di",), bytes_value=True),
                          Column("disk.used", ("du",), bytes_value=True), Column("disk.avail", ("da",), bytes_value=True),
                          Column("disk.total", ("dt",), bytes_value=True), Column("disk.percent", ("dp",), numeric=True),
                          Column("host", ("h",)), Column("ip", ()), Column("node", ("n",))])
        counts: dict[str, int] = {}
        unassigned = 0
        for shards in state.routing_table.values():
            for shard in shards:
                for shard_copy in shard.copies:
                    if shard_copy.node_id is None:
                        unassigned += 1
                    else:
                        counts[shard_copy.node_id] = counts.get(shard_copy.node_id, 0) + 1
        # disk.indices: what the copies each node holds take (their segments and logs)
        copy_statistics = await gather_copy_statistics(services, sorted(state.indices))
        index_bytes: dict[str, int] = {}
        for (index_name, shard_number, allocation_id), statistics in copy_statistics.items():
            shard = state.routing_table[index_name][shard_number]
            shard_copy = shard.copy_with_allocation_id(allocation_id)
            if shard_copy is not None and shard_copy.node_id is not None:
                index_bytes[shard_copy.node_id] = index_bytes.get(shard_copy.node_id, 0) + \
                    int(statistics.get("size_bytes", 0)) + int(statistics.get("translog_size_bytes", 0))
        from node.api.cluster import selected_node_ids

        wanted_nodes = set(selected_node_ids(services, node_filter)) if node_filter else set(state.nodes)
        for node_id, node in sorted(state.nodes.items()):
            if node_id not in wanted_nodes:
                continue
            host = node.http_address.rsplit(":", 1)[0]
            local = node_id == context.node_id
            total, available = figures["total_in_bytes"], figures["available_in_bytes"]
            table.rows.append({"shards": counts.get(node_id, 0), "disk.indices": index_bytes.get(node_id, 0),
                               "disk.used": total - available if local else None,
                               "disk.avail": available if local else None, "disk.total": total if local else None,
                               "disk.percent": int(100 * (total - available) / total) if local and total else None,
                               "host": host, "ip": host, "node": node.name})
        if unassigned and not node_filter:
            table.rows.append({"shards": unassigned, "node": "UNASSIGNED"})
        return render_table(table, query)

    async def cat_recovery(index: str | None = None) -> Any:
        query = params()
        state = services.state
        names = resolve_indices(state, index, IndicesOptions())
        active_only = query.get("active_only") in ("true", "")
        table = CatTable([Column("index", ("i", "idx")), Column("shard", ("s", "sh"), numeric=True),
                          Column("start_time", ("start",), default=False),
                          Column("start_time_millis", ("start_millis",), default=False, numeric=True),
                          Column("stop_time", ("stop",), default=False),
                          Column("stop_time_millis", ("stop_millis",), default=False, numeric=True),
                          Column("time", ("t", "ti")), Column("type", ("ty",)), Column("stage", ("st",)),
                          Column("source_host", ("shost",)), Column("source_node", ("snode",)),
                          Column("target_host", ("thost",)), Column("target_node", ("tnode",)),
                          Column("repository", ("rep",)), Column("snapshot", ("snap",)),
                          Column("files", ("f",), numeric=True), Column("files_recovered", ("fr",), numeric=True),
                          Column("files_percent", ("fp",)), Column("files_total", ("tf",), numeric=True),
                          Column("bytes", ("b",), bytes_value=True), Column("bytes_recovered", ("br",), bytes_value=True),
                          Column("bytes_percent", ("bp",)), Column("bytes_total", ("tb",), bytes_value=True),
                          Column("translog_ops", ("to",), numeric=True),
                          Column("translog_ops_recovered", ("tor",), numeric=True),
                          Column("translog_ops_percent", ("top",))])
        records = await gather_recoveries(services, names)
        now_millis = int(time.time() * 1000)
        for name in names:
            index_uuid = state.indices[name].uuid if name in state.indices else None
            for shard in state.routing_table.get(name, ()):
                for shard_copy in shard.copies:
                    if shard_copy.state == "UNASSIGNED":
                        continue
                    row = _cat_recovery_row(state, name, shard, shard_copy, records.get(
                        (index_uuid, shard.shard_number, shard_copy.allocation_id)), now_millis)
                    if active_only and row["stage"] == "done":
                        continue
                    table.rows.append(row)
        return render_table(table, query)

    @app.route("/_cat/thread_pool", methods=["GET"])
    @app.route("/_cat/thread_pool/<pools>", methods=["GET"])
    async def cat_thread_pool(pools: str | None = None) -> Any:
        # the front's admission limits play the part of OpenSearch's write/search pool queues
        query = params()
        admission = services.admission
        node = services.state.nodes.get(context.node_id)
        table = CatTable([Column("node_name", ("nn",)), Column("name", ("n",)),
                          Column("active", ("a",), numeric=True), Column("queue", ("q",), numeric=True),
                          Column("rejected", ("r",), numeric=True), Column("size", ("sz",), default=False,
                                                                           numeric=True)])
        wanted = [pool for pool in (pools or "").split(",") if pool]
        rows = [("search", admission.search_requests, admission.rejected_searches),
                ("write", admission.write_requests, admission.rejected_writes)]
        for name, active, rejected in rows:
            if wanted and not any(fnmatch.fnmatchcase(name, pattern) for pattern in wanted):
                continue
            table.rows.append({"node_name": node.name if node is not None else context.node_name, "name": name,
                               "active": active, "queue": 0, "rejected": rejected,
                               "size": context.config.workers})
        return render_table(table, query)

    app.add_url_rule("/_cat/recovery", "cat_recovery", cat_recovery, methods=["GET"])
    app.add_url_rule("/_cat/recovery/<index>", "cat_recovery_index", cat_recovery, methods=["GET"])


__all__ = ["CatTable", "Column", "render_table", "orjson"]
