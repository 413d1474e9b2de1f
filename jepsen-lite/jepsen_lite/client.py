"""HTTP operations against one node, as a user's client would make them.

Owns: NodeClient (one keep-alive http.client connection, so one per worker thread), the
mapping of HTTP answers to Jepsen outcomes, and the handful of admin calls the runner and
checkers need (health, cluster state, _cat/shards, metrics). Must never import the project
and never retry a write by itself: a retried write would hide exactly what we look for.

Outcome rules (why: an outcome of ``fail`` is a promise the write did NOT happen, so it is
only given when the server said so definitely):

    2xx                         ok
    4xx except 408              fail   (rejected before applying: 400, 404, 409, 429 ...)
    408, 5xx                    info   (the write may or may not have been applied)
    timeout / connection error  info
"""

from __future__ import annotations

import http.client
import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class HttpAnswer:
    """status 0 means no answer arrived (timeout or connection error; ``error`` says which)."""

    status: int
    body: Any
    error: str | None = None

    @property
    def outcome(self) -> str:
        return outcome_of_status(self.status)


def outcome_of_status(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if 400 <= status < 500 and status != 408:
        return "fail"
    return "info"


@dataclass(frozen=True)
class DocumentRead:
    outcome: str
    found: bool = False
    source: dict | None = None
    seq_no: int | None = None
    primary_term: int | None = None
    error: str | None = None


class NodeClient:
    """One node's REST API over one persistent connection. Not thread-safe by design: each
    worker thread owns its clients. ``address`` is ``host:port``."""

    def __init__(self, address: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"node address: expected host:port, got {address!r}")
        self.address = address
        self.host = host.strip("[]")
        self.port = int(port)
        self.timeout_seconds = timeout_seconds
        self.connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(self, method: str, path: str, body: Any = None, ndjson: bytes | None = None,
                timeout_seconds: float | None = None) -> HttpAnswer:
        headers = {}
        payload: bytes | None = None
        if ndjson is not None:
            payload, headers["Content-Type"] = ndjson, "application/x-ndjson"
        elif body is not None:
            payload, headers["Content-Type"] = orjson.dumps(body), "application/json"
        timeout = timeout_seconds or self.timeout_seconds
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            else:
                self.connection.timeout = timeout
                if self.connection.sock is not None:
                    self.connection.sock.settimeout(timeout)
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException, socket.timeout) as error:
            # the connection's state is unknown after an error: never reuse it
            self.close()
            return HttpAnswer(0, None, f"{type(error).__name__}: {error}")
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = raw.decode("utf-8", "replace")
        return HttpAnswer(status, parsed)

    # ------------------------------------------------------------------ documents

    def index_document(self, index: str, document_id: str, source: dict, refresh: str | None = None) -> HttpAnswer:
        query = f"?refresh={refresh}" if refresh else ""
        return self.request("PUT", f"/{quote(index)}/_doc/{quote(document_id)}{query}", source)

    def conditional_write(self, index: str, document_id: str, source: dict, if_seq_no: int | None,
                          if_primary_term: int | None) -> HttpAnswer:
        """Compare-and-set on the document's version: with no seq_no the document must not
        exist yet (op_type=create)."""
        if if_seq_no is None:
            return self.request("PUT", f"/{quote(index)}/_create/{quote(document_id)}", source)
        return self.request("PUT", f"/{quote(index)}/_doc/{quote(document_id)}"
                                   f"?if_seq_no={if_seq_no}&if_primary_term={if_primary_term}", source)

    def bulk_index(self, index: str, documents: list[tuple[str, dict]]) -> tuple[HttpAnswer, list[str]]:
        """Returns the answer and one outcome per document, in order. When the whole request
        has no definite answer, every item is ``info``."""
        lines = []
        for document_id, source in documents:
            lines.append(orjson.dumps({"index": {"_index": index, "_id": document_id}}))
            lines.append(orjson.dumps(source))
        answer = self.request("POST", "/_bulk", ndjson=b"\n".join(lines) + b"\n")
        if answer.status != 200 or not isinstance(answer.body, dict) or "items" not in answer.body:
            whole = answer.outcome if answer.outcome != "ok" else "info"
            return answer, [whole] * len(documents)
        items = answer.body["items"]
        if len(items) != len(documents):
            return answer, ["info"] * len(documents)
        outcomes = []
        for item in items:
            (result,) = item.values()
            outcomes.append(outcome_of_status(int(result.get("status", 0))))
        return answer, outcomes

    def get_document(self, index: str, document_id: str) -> DocumentRead:
        answer = self.request("GET", f"/{quote(index)}/_doc/{quote(document_id)}")
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status == 200 and body.get("found"):
            return DocumentRead("ok", True, body.get("_source"), body.get("_seq_no"), body.get("_primary_term"))
        if answer.status == 404 and body.get("found") is False:
            return DocumentRead("ok", False)
        # 404 index_not_found and friends: the read did not happen
        return DocumentRead("fail" if answer.outcome == "fail" else "info", error=answer.error or str(answer.body)[:200])

    def multi_get_ids(self, index: str, document_ids: list[str]) -> tuple[set[str], set[str]]:
        """(ids found, ids whose presence this call could not determine), through _mget."""
        answer = self.request("POST", f"/{quote(index)}/_mget", {"ids": document_ids, "_source": False},
                              timeout_seconds=max(self.timeout_seconds, 30.0))
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status != 200 or not isinstance(body.get("docs"), list):
            return set(), set(document_ids)
        found, undetermined = set(), set(document_ids)
        for document in body["docs"]:
            document_id = str(document.get("_id"))
            if "error" in document or "found" not in document:
                continue
            undetermined.discard(document_id)
            if document["found"]:
                found.add(document_id)
        return found, undetermined

    def search_ids(self, index: str, size: int = 10000, preference: str | None = "_primary") -> tuple[str, list[str] | None, Any]:
        """Every id a match_all search finds, page by page through a scroll (one search returns at
        most ``size`` hits; a soak's set holds more than the 10,000 of index.max_result_window —
        a single page read them as lost). A page with failed shards is a failed read (partial
        results would look like lost documents)."""
        query = "?scroll=1m" + (f"&preference={preference}" if preference else "")
        answer = self.request("POST", f"/{quote(index)}/_search{query}",
                              {"size": size, "query": {"match_all": {}}, "_source": False, "sort": ["_doc"]})
        ids: list[str] = []
        scroll_id = None
        try:
            while True:
                body = answer.body if isinstance(answer.body, dict) else {}
                if answer.status != 200 or "hits" not in body:
                    return ("fail" if answer.outcome == "fail" else "info"), None, answer.error or str(answer.body)[:200]
                shards = body.get("_shards", {})
                if shards.get("failed", 0) or shards.get("successful", 0) != shards.get("total", 0):
                    return "fail", None, shards
                page = body["hits"]["hits"]
                ids.extend(hit["_id"] for hit in page)
                scroll_id = body.get("_scroll_id")
                if not page or scroll_id is None:
                    return "ok", ids, None
                answer = self.request("POST", "/_search/scroll", {"scroll": "1m", "scroll_id": scroll_id})
        finally:
            if scroll_id is not None:
                self.request("DELETE", "/_search/scroll", {"scroll_id": scroll_id})

    def refresh(self, index: str) -> HttpAnswer:
        return self.request("POST", f"/{quote(index)}/_refresh")

    # ------------------------------------------------------------------ admin

    def create_index(self, index: str, shards: int, replicas: int) -> HttpAnswer:
        return self.request("PUT", f"/{quote(index)}", {"settings": {"number_of_shards": shards,
                                                                    "number_of_replicas": replicas}},
                            timeout_seconds=60)

    def health(self, wait_for_status: str | None = None, wait_for_nodes: int | None = None,
               timeout_seconds: float = 5.0) -> HttpAnswer:
        parameters = {}
        if wait_for_status:
            parameters["wait_for_status"] = wait_for_status
        if wait_for_nodes:
            parameters["wait_for_nodes"] = str(wait_for_nodes)
        if parameters:
            parameters["timeout"] = f"{max(1, int(timeout_seconds))}s"
        query = ("?" + urllib.parse.urlencode(parameters)) if parameters else ""
        return self.request("GET", f"/_cluster/health{query}", timeout_seconds=timeout_seconds + 5)

    def cluster_state(self) -> HttpAnswer:
        return self.request("GET", "/_cluster/state/version,master_node,nodes")

    def cat_shards(self, index: str) -> HttpAnswer:
        return self.request("GET", f"/_cat/shards/{quote(index)}?format=json")

    def nodes_local(self) -> HttpAnswer:
        return self.request("GET", "/_nodes/_local")

    def raft_metrics(self) -> dict[str, float] | None:
        """raft_term, raft_is_leader and cluster_state_version from /_prometheus/metrics."""
        answer = self.request("GET", "/_prometheus/metrics")
        if answer.status != 200 or not isinstance(answer.body, str):
            return None
        wanted = {"quidditch_raft_term": "raft_term", "quidditch_raft_is_leader": "raft_is_leader",
                  "quidditch_cluster_state_version": "cluster_state_version"}
        found: dict[str, float] = {}
        for line in answer.body.splitlines():
            if line.startswith("#"):
                continue
            name, _, value = line.partition(" ")
            name = name.split("{", 1)[0]
            if name in wanted:
                try:
                    found[wanted[name]] = float(value.split()[0])
                except (ValueError, IndexError):
                    continue
        return found if len(found) == len(wanted) else None


def quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")
