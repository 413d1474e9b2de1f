"""The YAML REST test runner: Elasticsearch's client conformance files against a real node.

Owns: loading the files (YAML without timestamp parsing, so `2016-05-03` stays a string), the
API table (each API name the files use → HTTP method + path + query parameters), the steps
(`do` with `catch`, `match`, `length`, `is_true`, `is_false`, `set`, `gt`, `gte`, `lt`, `lte`,
`skip`/`requires`, `setup`/`teardown`), stashed values (`$name`), and the per-test verdict with
its reason. It talks HTTP with the standard library only (no client library shapes the requests)
and never imports the project: like jepsen-lite, it is a user.

The explicit skip list (SKIPPED_TESTS) holds every test or step that is not run and why;
docs/compat.md repeats it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REQUEST_TIMEOUT_SECONDS = 60.0


# --------------------------------------------------------------------------- loading


class _NoTimestampLoader(yaml.SafeLoader):
    pass


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class YamlTest:
    file: str                      # relative to the tests folder, e.g. "search/10_basic.yml"
    name: str
    steps: tuple
    setup: tuple
    teardown: tuple
    requires: dict

    @property
    def test_id(self) -> str:
        return f"{self.file}::{self.name}"


def load_tests(tests_directory: Path) -> list[YamlTest]:
    loaded = []
    for path in sorted(tests_directory.rglob("*.yml")):
        relative = path.relative_to(tests_directory).as_posix()
        # a document that is not a mapping (a stray top-level list) names no test: left out
        documents = [document for document in yaml.load_all(path.read_text(), Loader=_NoTimestampLoader)
                     if isinstance(document, dict) and document]
        setup: tuple = ()
        teardown: tuple = ()
        requires: dict = {}
        named = []
        for document in documents:
            for key, value in document.items():
                if key == "requires":
                    requires = value or {}
                elif key == "setup":
                    setup = tuple(value or ())
                elif key == "teardown":
                    teardown = tuple(value or ())
                else:
                    named.append((key, tuple(value or ())))
        for name, steps in named:
            loaded.append(YamlTest(relative, str(name), steps, setup, teardown, requires))
    return loaded


# --------------------------------------------------------------------------- the API table

# name → list of (HTTP method, path template); the first template whose {parts} are all given wins
API_ROUTES: dict[str, list[tuple[str, str]]] = {
    "bulk": [("POST", "/{index}/_bulk"), ("POST", "/_bulk")],
    "cat.aliases": [("GET", "/_cat/aliases/{name}"), ("GET", "/_cat/aliases")],
    "cat.count": [("GET", "/_cat/count/{index}"), ("GET", "/_cat/count")],
    "cat.health": [("GET", "/_cat/health")],
    "cat.indices": [("GET", "/_cat/indices/{index}"), ("GET", "/_cat/indices")],
    "cat.master": [("GET", "/_cat/master")],
    "cat.nodes": [("GET", "/_cat/nodes")],
    "cat.segments": [("GET", "/_cat/segments/{index}"), ("GET", "/_cat/segments")],
    "cat.shards": [("GET", "/_cat/shards/{index}"), ("GET", "/_cat/shards")],
    "clear_scroll": [("DELETE", "/_search/scroll/{scroll_id}"), ("DELETE", "/_search/scroll")],
    "close_point_in_time": [("DELETE", "/_pit")],
    "cluster.get_settings": [("GET", "/_cluster/settings")],
    "cluster.health": [("GET", "/_cluster/health/{index}"), ("GET", "/_cluster/health")],
    "cluster.state": [("GET", "/_cluster/state/{metric}/{index}"), ("GET", "/_cluster/state/{metric}"),
                      ("GET", "/_cluster/state")],
    "cluster.stats": [("GET", "/_cluster/stats")],
    "count": [("POST", "/{index}/_count"), ("POST", "/_count")],
    "create": [("PUT", "/{index}/_create/{id}")],
    "delete": [("DELETE", "/{index}/_doc/{id}")],
    "exists": [("HEAD", "/{index}/_doc/{id}")],
    "exists_source": [("HEAD", "/{index}/_source/{id}")],
    "explain": [("POST", "/{index}/_explain/{id}")],
    "field_caps": [("POST", "/{index}/_field_caps"), ("POST", "/_field_caps")],
    "get": [("GET", "/{index}/_doc/{id}")],
    "get_source": [("GET", "/{index}/_source/{id}")],
    "index": [("PUT", "/{index}/_doc/{id}"), ("POST", "/{index}/_doc")],
    "indices.analyze": [("POST", "/{index}/_analyze"), ("POST", "/_analyze")],
    "indices.close": [("POST", "/{index}/_close")],
    "indices.create": [("PUT", "/{index}")],
    "indices.delete": [("DELETE", "/{index}")],
    "indices.delete_alias": [("DELETE", "/{index}/_alias/{name}")],
    "indices.exists": [("HEAD", "/{index}")],
    "indices.exists_alias": [("HEAD", "/{index}/_alias/{name}"), ("HEAD", "/_alias/{name}")],
    "indices.flush": [("POST", "/{index}/_flush"), ("POST", "/_flush")],
    "indices.forcemerge": [("POST", "/{index}/_forcemerge"), ("POST", "/_forcemerge")],
    "indices.get": [("GET", "/{index}")],
    "indices.get_alias": [("GET", "/{index}/_alias/{name}"), ("GET", "/_alias/{name}"), ("GET", "/{index}/_alias"),
                          ("GET", "/_alias")],
    "indices.get_field_mapping": [("GET", "/{index}/_mapping/field/{fields}"), ("GET", "/_mapping/field/{fields}")],
    "indices.get_mapping": [("GET", "/{index}/_mapping"), ("GET", "/_mapping")],
    "indices.get_settings": [("GET", "/{index}/_settings/{name}"), ("GET", "/_settings/{name}"),
                             ("GET", "/{index}/_settings"), ("GET", "/_settings")],
    "indices.open": [("POST", "/{index}/_open")],
    "indices.put_alias": [("PUT", "/{index}/_alias/{name}"), ("PUT", "/_alias/{name}"), ("PUT", "/{index}/_alias"),
                          ("PUT", "/_alias")],
    "indices.put_mapping": [("PUT", "/{index}/_mapping")],
    "indices.put_settings": [("PUT", "/{index}/_settings"), ("PUT", "/_settings")],
    "indices.recovery": [("GET", "/{index}/_recovery"), ("GET", "/_recovery")],
    "indices.refresh": [("POST", "/{index}/_refresh"), ("POST", "/_refresh")],
    "indices.segments": [("GET", "/{index}/_segments"), ("GET", "/_segments")],
    "indices.stats": [("GET", "/{index}/_stats/{metric}"), ("GET", "/_stats/{metric}"), ("GET", "/{index}/_stats"),
                      ("GET", "/_stats")],
    "indices.update_aliases": [("POST", "/_aliases")],
    "mget": [("POST", "/{index}/_mget"), ("POST", "/_mget")],
    "msearch": [("POST", "/{index}/_msearch"), ("POST", "/_msearch")],
    "nodes.hot_threads": [("GET", "/_nodes/{node_id}/hot_threads"), ("GET", "/_nodes/hot_threads")],
    "nodes.info": [("GET", "/_nodes/{node_id}/{metric}"), ("GET", "/_nodes/{node_id}"), ("GET", "/_nodes/{metric}"),
                   ("GET", "/_nodes")],
    "nodes.reload_secure_settings": [("POST", "/_nodes/{node_id}/reload_secure_settings"),
                                     ("POST", "/_nodes/reload_secure_settings")],
    "nodes.stats": [("GET", "/_nodes/{node_id}/stats/{metric}/{index_metric}"), ("GET", "/_nodes/stats/{metric}/{index_metric}"),
                    ("GET", "/_nodes/{node_id}/stats/{metric}"), ("GET", "/_nodes/stats/{metric}"),
                    ("GET", "/_nodes/{node_id}/stats"), ("GET", "/_nodes/stats")],
    "nodes.usage": [("GET", "/_nodes/{node_id}/usage"), ("GET", "/_nodes/usage")],
    "open_point_in_time": [("POST", "/{index}/_pit")],
    "ping": [("HEAD", "/")],
    "scroll": [("POST", "/_search/scroll")],
    "search": [("POST", "/{index}/_search"), ("POST", "/_search")],
    "search_shards": [("GET", "/{index}/_search_shards"), ("GET", "/_search_shards")],
    "update": [("POST", "/{index}/_update/{id}")],
    "update_by_query": [("POST", "/{index}/_update_by_query")],
}

# APIs that OpenSearch's own rest-api-spec tests (opensearch-project/OpenSearch,
# rest-api-spec/src/main/resources/rest-api-spec/test/) use beyond the shared suite's files. An API
# Quidditch does not serve still gets its route: the node answers it (usually 400 "no handler"), and
# the test fails with that instead of being skipped, so the sweep shows what is missing.
API_ROUTES.update({
    "cat.allocation": [("GET", "/_cat/allocation/{node_id}"), ("GET", "/_cat/allocation")],
    "cat.cluster_manager": [("GET", "/_cat/cluster_manager")],
    "cat.fielddata": [("GET", "/_cat/fielddata/{fields}"), ("GET", "/_cat/fielddata")],
    "cat.help": [("GET", "/_cat")],
    "cat.nodeattrs": [("GET", "/_cat/nodeattrs")],
    "cat.pending_tasks": [("GET", "/_cat/pending_tasks")],
    "cat.plugins": [("GET", "/_cat/plugins")],
    "cat.recovery": [("GET", "/_cat/recovery/{index}"), ("GET", "/_cat/recovery")],
    "cat.repositories": [("GET", "/_cat/repositories")],
    "cat.snapshots": [("GET", "/_cat/snapshots/{repository}"), ("GET", "/_cat/snapshots")],
    "cat.tasks": [("GET", "/_cat/tasks")],
    "cat.templates": [("GET", "/_cat/templates/{name}"), ("GET", "/_cat/templates")],
    "cat.thread_pool": [("GET", "/_cat/thread_pool/{thread_pool_patterns}"), ("GET", "/_cat/thread_pool")],
    "cluster.allocation_explain": [("POST", "/_cluster/allocation/explain")],
    "cluster.pending_tasks": [("GET", "/_cluster/pending_tasks")],
    "cluster.put_settings": [("PUT", "/_cluster/settings")],
    "indices.simulate_index_template": [("POST", "/_index_template/_simulate_index/{name}")],
    "indices.simulate_template": [("POST", "/_index_template/_simulate/{name}"), ("POST", "/_index_template/_simulate")],
    "cluster.put_component_template": [("PUT", "/_component_template/{name}")],
    "cluster.get_component_template": [("GET", "/_component_template/{name}"), ("GET", "/_component_template")],
    "cluster.delete_component_template": [("DELETE", "/_component_template/{name}")],
    "cluster.exists_component_template": [("HEAD", "/_component_template/{name}")],
    "ingest.put_pipeline": [("PUT", "/_ingest/pipeline/{id}")],
    "ingest.get_pipeline": [("GET", "/_ingest/pipeline/{id}"), ("GET", "/_ingest/pipeline")],
    "ingest.delete_pipeline": [("DELETE", "/_ingest/pipeline/{id}")],
    "ingest.simulate": [("POST", "/_ingest/pipeline/{id}/_simulate"), ("POST", "/_ingest/pipeline/_simulate")],
    "cluster.remote_info": [("GET", "/_remote/info")],
    "cluster.reroute": [("POST", "/_cluster/reroute")],
    "create_pit": [("POST", "/{index}/_search/point_in_time")],
    "delete_all_pits": [("DELETE", "/_search/point_in_time/_all")],
    "delete_by_query": [("POST", "/{index}/_delete_by_query")],
    "delete_pit": [("DELETE", "/_search/point_in_time")],
    "get_all_pits": [("GET", "/_search/point_in_time/_all")],
    "indices.add_block": [("PUT", "/{index}/_block/{block}")],
    "indices.clear_cache": [("POST", "/{index}/_cache/clear"), ("POST", "/_cache/clear")],
    "indices.clone": [("PUT", "/{index}/_clone/{target}")],
    "indices.delete_index_template": [("DELETE", "/_index_template/{name}")],
    "indices.delete_template": [("DELETE", "/_template/{name}")],
    "indices.exists_index_template": [("HEAD", "/_index_template/{name}")],
    "indices.exists_template": [("HEAD", "/_template/{name}")],
    "indices.get_index_template": [("GET", "/_index_template/{name}"), ("GET", "/_index_template")],
    "indices.get_template": [("GET", "/_template/{name}"), ("GET", "/_template")],
    "indices.put_index_template": [("PUT", "/_index_template/{name}")],
    "indices.put_template": [("PUT", "/_template/{name}")],
    "indices.resolve_index": [("GET", "/_resolve/index/{name}")],
    "indices.rollover": [("POST", "/{alias}/_rollover/{new_index}"), ("POST", "/{alias}/_rollover")],
    "indices.shrink": [("PUT", "/{index}/_shrink/{target}")],
    "indices.split": [("PUT", "/{index}/_split/{target}")],
    "indices.validate_query": [("POST", "/{index}/_validate/query"), ("POST", "/_validate/query")],
    "info": [("GET", "/")],
    "mtermvectors": [("POST", "/{index}/_mtermvectors"), ("POST", "/_mtermvectors")],
    "reindex": [("POST", "/_reindex")],
    "tasks.list": [("GET", "/_tasks")],
    "tasks.get": [("GET", "/_tasks/{task_id}")],
    "tasks.cancel": [("POST", "/_tasks/{task_id}/_cancel"), ("POST", "/_tasks/_cancel")],
    "termvectors": [("POST", "/{index}/_termvectors/{id}"), ("POST", "/{index}/_termvectors")],
    # session 7: snapshots and data streams (node/api/snapshots.py, node/api/data_streams.py)
    "snapshot.create_repository": [("PUT", "/_snapshot/{repository}")],
    "snapshot.get_repository": [("GET", "/_snapshot/{repository}"), ("GET", "/_snapshot")],
    "snapshot.delete_repository": [("DELETE", "/_snapshot/{repository}")],
    "snapshot.verify_repository": [("POST", "/_snapshot/{repository}/_verify")],
    "snapshot.cleanup_repository": [("POST", "/_snapshot/{repository}/_cleanup")],
    "snapshot.create": [("PUT", "/_snapshot/{repository}/{snapshot}")],
    "snapshot.get": [("GET", "/_snapshot/{repository}/{snapshot}")],
    "snapshot.delete": [("DELETE", "/_snapshot/{repository}/{snapshot}")],
    "snapshot.status": [("GET", "/_snapshot/{repository}/{snapshot}/_status"), ("GET", "/_snapshot/{repository}/_status"),
                        ("GET", "/_snapshot/_status")],
    "snapshot.restore": [("POST", "/_snapshot/{repository}/{snapshot}/_restore")],
    "snapshot.clone": [("PUT", "/_snapshot/{repository}/{snapshot}/_clone/{target_snapshot}")],
    "indices.create_data_stream": [("PUT", "/_data_stream/{name}")],
    "indices.get_data_stream": [("GET", "/_data_stream/{name}"), ("GET", "/_data_stream")],
    "indices.delete_data_stream": [("DELETE", "/_data_stream/{name}")],
    "indices.data_streams_stats": [("GET", "/_data_stream/{name}/_stats"), ("GET", "/_data_stream/_stats")],
})

NDJSON_APIS = {"bulk", "msearch"}

# tests (file::name, or file alone for all its tests) that are not run, and why (docs/compat.md)
SKIPPED_TESTS: dict[str, str] = {
    "indices/stats.yml::Index - blank": "expects shards in an empty cluster: Elasticsearch 8 always holds system "
                                        "indices (.security ...); an empty OpenSearch cluster has none",
    "cat/shards.yml::cat.shards": "expects a shard row in an empty cluster: Elasticsearch 8 always holds system "
                                  "indices; an empty OpenSearch cluster lists no shards",
}

# API calls (with the assertions that follow them, up to the next `do`) that are skipped, and why
SKIPPED_STEPS: dict[str, str] = {
    "nodes.get_repositories_metering_info": "Elasticsearch 8 x-pack repository metering API; OpenSearch has none",
    "nodes.clear_repositories_metering_archive": "Elasticsearch 8 x-pack repository metering API; OpenSearch has "
                                                 "none",
}

CATCH_STATUSES = {"bad_request": (400,), "unauthorized": (401,), "forbidden": (403,), "missing": (404,),
                  "request_timeout": (408,), "conflict": (409,), "unavailable": (503,)}

SUPPORTED_FEATURES = {"headers", "warnings", "allowed_warnings", "contains", "stash_in_path", "arbitrary_key",
                      "node_selector", "allowed_warnings_regex", "warnings_regex", "yaml"}


class StepFailure(AssertionError):
    pass


class SkipTest(Exception):
    pass


# --------------------------------------------------------------------------- the runner


@dataclass
class Response:
    status: int
    body: Any
    text: str


@dataclass
class TestOutcome:
    test_id: str
    verdict: str                      # "pass" | "fail" | "skip"
    reason: str = ""


@dataclass
class Runner:
    base_url: str
    stash: dict[str, Any] = field(default_factory=dict)
    last: Response | None = None
    # the version `skip: version:` ranges are read against (e.g. "3.0.0" for OpenSearch's own files);
    # None ignores version ranges, as the shared suite's files need (their ranges name Elasticsearch
    # versions, which say nothing about an OpenSearch-compatible node)
    skip_version: str | None = None

    # ---------------------------------------------------------------- http

    def request(self, method: str, path: str, query: dict[str, str], body: bytes | None,
                content_type: str = "application/json", extra_headers: dict[str, str] | None = None) -> Response:
        url = self.base_url + urllib.parse.quote(path, safe="/,*_-.")
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Content-Type": content_type} if body is not None else {}
        # the `headers` feature: a step's own headers (X-Opaque-Id, ...) go with its request
        headers.update({str(name): str(value) for name, value in (extra_headers or {}).items()})
        prepared = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(prepared, timeout=REQUEST_TIMEOUT_SECONDS) as answer:
                status, raw, content_type = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, raw, content_type = error.code, error.read(), error.headers.get("Content-Type", "")
        text = raw.decode("utf-8", errors="replace")
        if method == "HEAD":
            return Response(status, status == 200, text)
        if content_type.startswith("text/plain"):
            return Response(status, text, text)  # _cat text: "1\n" is a body, not the number 1
        if content_type.startswith(("application/yaml", "application/x-yaml")):
            import yaml   # the `yaml` feature: a YAML answer is parsed as the Java runner parses it

            return Response(status, yaml.safe_load(text) if text.strip() else "", text)
        try:
            parsed = json.loads(text) if text.strip() else ""
        except ValueError:
            parsed = text
        return Response(status, parsed, text)

    # ---------------------------------------------------------------- stash

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("$") and value[1:] in self.stash:
                return self.stash[value[1:]]
            if value.startswith("${") and value.endswith("}") and value[2:-1] in self.stash:
                return self.stash[value[2:-1]]
            return value
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            return {self.resolve(key): self.resolve(item) for key, item in value.items()}
        return value

    # ---------------------------------------------------------------- do

    def do(self, specification: dict) -> None:
        specification = dict(specification)
        catch = specification.pop("catch", None)
        step_headers = self.resolve(specification.pop("headers", None) or {})
        for ignored in ("warnings", "allowed_warnings", "warnings_regex", "allowed_warnings_regex",
                        "node_selector"):
            specification.pop(ignored, None)
        if len(specification) != 1:
            raise StepFailure(f"do: expected exactly one API call, got {sorted(specification)}")
        (api_name, arguments), = specification.items()
        if api_name not in API_ROUTES:
            raise SkipTest(f"API [{api_name}] is not in the runner's API table")
        arguments = self.resolve(dict(arguments or {}))
        # a null argument is an absent one (`index: null` asks for the route without an index)
        arguments = {key: value for key, value in arguments.items() if value is not None}
        # `ignore: 404` (or a list): the client's own parameter — those statuses are not errors
        ignored = arguments.pop("ignore", [])
        ignored_statuses = {int(status) for status in (ignored if isinstance(ignored, list) else [ignored])}
        body = arguments.pop("body", None)
        if catch == "param":
            # a required path part is missing: the Java client refuses it before sending
            # (newer specs give some APIs routes without those parts; the node must then answer 400)
            try:
                self._route(api_name, arguments, body is not None)
            except StepFailure:
                return
            catch = "bad_request"
        method, path, used = self._route(api_name, arguments, body is not None)
        query = {key: _query_value(value) for key, value in arguments.items() if key not in used}
        if body is None:
            data = None
            content_type = "application/json"
        elif api_name in NDJSON_APIS:
            data = _ndjson(body)
            content_type = "application/x-ndjson"
        elif isinstance(body, str):
            data = body.encode("utf-8")
            content_type = "application/json"
        else:
            data = json.dumps(body).encode("utf-8")
            content_type = "application/json"
        response = self.request(method, path, query, data, content_type, step_headers)
        self.last = response
        if catch is not None:
            self._check_catch(catch, response, api_name)
        elif response.status >= 400 and not (method == "HEAD" and response.status == 404) and \
                response.status not in ignored_statuses:
            raise StepFailure(f"{api_name} {method} {path}: expected success, got {response.status}: "
                              f"{response.text[:500]}")

    def _route(self, api_name: str, arguments: dict, has_body: bool) -> tuple[str, str, set[str]]:
        for method, template in API_ROUTES[api_name]:
            parts = re.findall(r"{(\w+)}", template)
            if all(part in arguments for part in parts):
                path = template
                for part in parts:
                    path = path.replace("{" + part + "}", _query_value(arguments[part]))
                return method, path, set(parts)
        raise StepFailure(f"{api_name}: no route fits the arguments {sorted(arguments)}")

    def _check_catch(self, catch: str, response: Response, api_name: str) -> None:
        if catch in CATCH_STATUSES:
            if response.status not in CATCH_STATUSES[catch]:
                raise StepFailure(f"{api_name}: expected catch [{catch}] {CATCH_STATUSES[catch]}, got "
                                  f"{response.status}: {response.text[:300]}")
            return
        if catch == "request":
            if response.status < 400 or response.status in (404, 409, 408, 403, 401):
                raise StepFailure(f"{api_name}: expected a generic request error, got {response.status}")
            return
        if catch.startswith("/") and catch.endswith("/"):
            if response.status < 400:
                raise StepFailure(f"{api_name}: expected an error matching {catch}, got {response.status}")
            # a plain regex, as the Java runner's catch (only `match` regexes are in verbose mode):
            # "must be greater than zero" has to keep its spaces
            # the Java runner matches `error.toString()` (the parsed error as a Java map: quotes
            # unescaped); the raw JSON text is tried too
            error_text = _java_to_string(response.body.get("error")) if isinstance(response.body, dict) else ""
            if not re.search(catch[1:-1], response.text) and not re.search(catch[1:-1], error_text):
                raise StepFailure(f"{api_name}: error does not match {catch}: {response.text[:300]}")
            return
        raise SkipTest(f"catch [{catch}] is not supported by the runner")

    # ---------------------------------------------------------------- assertions

    def value_at(self, path: str) -> Any:
        if self.last is None:
            raise StepFailure(f"no response to read [{path}] from")
        body = self.last.body
        if path in ("$body", ""):
            return body
        path = self.resolve(path) if path.startswith("$") else path
        current = body
        for part in _split_path(path):
            part = self.resolve(part) if part.startswith("$") else part
            if isinstance(current, list):
                try:
                    current = current[int(part)]
                except (ValueError, IndexError):
                    raise StepFailure(f"[{path}]: no element [{part}] in a list of {len(current)}") from None
            elif isinstance(current, dict):
                if part == "_arbitrary_key_" and current:
                    current = next(iter(current))  # the `arbitrary_key` feature: any one key of the object
                    continue
                if part not in current:
                    return _Missing(path, part)
                current = current[part]
            else:
                return _Missing(path, part)
        return current

    def match(self, assertion: dict) -> None:
        for path, expected in assertion.items():
            actual = self.value_at(path)
            expected = self.resolve(expected)
            if isinstance(expected, str) and len(expected) > 1 and expected.startswith("/") and \
                    expected.rstrip().endswith("/"):
                pattern = expected.strip()[1:-1]
                if isinstance(actual, _Missing):
                    raise StepFailure(f"match [{path}]: {actual!r} does not match /{pattern}/")
                text = actual if isinstance(actual, str) else json.dumps(actual)
                if not re.search(pattern, str(text), re.X):
                    raise StepFailure(f"match [{path}]: {actual!r} does not match /{pattern}/")
                continue
            if not _equal(actual, expected):
                raise StepFailure(f"match [{path}]: expected {expected!r}, got {actual!r}")

    def run_step(self, step: dict) -> None:
        (kind, argument), = step.items()
        if kind == "do":
            self.do(argument)
        elif kind == "match":
            self.match(argument)
        elif kind == "set":
            for path, name in argument.items():
                value = self.value_at(path)
                if isinstance(value, _Missing):
                    raise StepFailure(f"set: nothing at [{path}]")
                self.stash[name] = value
        elif kind in ("is_true", "is_false"):
            value = self.value_at(argument)
            # as the Java runner: false when absent, null, "", "false" (any case) or "0" — so 0 is false too
            truthy = not (isinstance(value, _Missing) or value is None or value is False or
                          (not isinstance(value, (dict, list)) and _java_string(value) in ("", "false", "0")))
            if truthy != (kind == "is_true"):
                raise StepFailure(f"{kind} [{argument}]: got {value!r}")
        elif kind == "length":
            for path, expected in argument.items():
                value = self.value_at(path)
                if isinstance(value, _Missing) or len(value) != self.resolve(expected):
                    raise StepFailure(f"length [{path}]: expected {expected}, got {value!r}")
        elif kind in ("gt", "gte", "lt", "lte"):
            for path, expected in argument.items():
                value = self.value_at(path)
                expected = self.resolve(expected)
                if isinstance(value, _Missing) or not _compare(kind, value, expected):
                    raise StepFailure(f"{kind} [{path}]: {value!r} vs {expected!r}")
        elif kind == "skip":
            version_range = argument.get("version") if isinstance(argument, dict) else None
            if version_range and self.skip_version and version_in_ranges(self.skip_version, str(version_range)):
                raise SkipTest(f"skipped for version {self.skip_version}: {argument.get('reason', '')}")
            features = argument.get("features", []) if isinstance(argument, dict) else []
            features = [features] if isinstance(features, str) else features
            unsupported = [feature for feature in features if feature not in SUPPORTED_FEATURES]
            if unsupported:
                raise SkipTest(f"needs runner features {unsupported}")
        else:
            raise SkipTest(f"step [{kind}] is not supported by the runner")

    def run_test(self, test: YamlTest) -> TestOutcome:
        for key in (test.test_id, test.file):
            if key in SKIPPED_TESTS:
                return TestOutcome(test.test_id, "skip", SKIPPED_TESTS[key])
        self.stash = {}
        self.last = None
        skipped_reasons: list[str] = []
        try:
            try:
                for step in test.setup:
                    self.run_step(step)
                skipping = False
                for step in test.steps:
                    if "do" in step:
                        api_names = [name for name in step["do"] if name in SKIPPED_STEPS]
                        skipping = bool(api_names)
                        if skipping:
                            skipped_reasons.append(f"{api_names[0]}: {SKIPPED_STEPS[api_names[0]]}")
                            continue
                    if skipping:
                        continue
                    self.run_step(step)
            finally:
                for step in test.teardown:
                    try:
                        self.run_step(step)
                    except (StepFailure, SkipTest):
                        pass
                self.wipe()
        except SkipTest as skip:
            return TestOutcome(test.test_id, "skip", str(skip))
        except StepFailure as failure:
            return TestOutcome(test.test_id, "fail", str(failure))
        return TestOutcome(test.test_id, "pass", "; ".join(f"step skipped: {reason}" for reason in skipped_reasons))

    def wipe(self) -> None:
        """Each test starts from an empty cluster: every index, scroll, point in time and ingest pipeline goes."""
        self.request("DELETE", "/_search/scroll/_all", {}, None)
        self.request("DELETE", "/_ingest/pipeline/*", {}, None)
        self.request("DELETE", "/_index_template/*", {}, None)
        self.request("DELETE", "/_component_template/*", {}, None)
        self.request("DELETE", "/_template/*", {}, None)
        self.request("DELETE", "/_search/point_in_time/_all", {}, None)
        self.request("DELETE", "/*", {"expand_wildcards": "all"}, None)
        self.request("PUT", "/_cluster/settings", {}, json.dumps(
            {"persistent": {"*": None}, "transient": {"*": None}}).encode())


class _Missing:
    def __init__(self, path: str, part: str) -> None:
        self.path, self.part = path, part

    def __repr__(self) -> str:
        return f"<nothing at [{self.part}] of [{self.path}]>"


def _split_path(path: str) -> list[str]:
    parts, current, escaped = [], "", False
    for character in path:
        if escaped:
            current += character
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == ".":
            parts.append(current)
            current = ""
        else:
            current += character
    parts.append(current)
    return parts


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, _Missing):
        # the Java runner's ObjectPath reads a missing key as null, so `match: {x: null}` holds for it
        return expected is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected or (isinstance(actual, str) and actual == str(expected).lower())
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(actual) == float(expected)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(_equal(actual[key], expected[key]) for key in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(_equal(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, (int, float)) and isinstance(actual, str):
        try:
            return float(actual) == float(expected)
        except ValueError:
            return False
    return actual == expected


def _compare(kind: str, value: Any, expected: Any) -> bool:
    try:
        value, expected = float(value), float(expected)
    except (TypeError, ValueError):
        return False
    return {"gt": value > expected, "gte": value >= expected, "lt": value < expected, "lte": value <= expected}[kind]


# Elasticsearch majors that OpenSearch's Version reads as legacy (LegacyESVersion, 5.x-7.x): their ids
# are not masked, so every one of them sorts below OpenSearch 1.0.0 (a skip " - 6.9.99" runs on 3.0.0)
FIRST_LEGACY_ELASTICSEARCH_MAJOR = 5


def _version_tuple(text: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", text)
    parts = tuple(int(number) for number in numbers[:3]) + (0,) * (3 - min(len(numbers), 3))
    is_opensearch = parts[0] < FIRST_LEGACY_ELASTICSEARCH_MAJOR
    return (int(is_opensearch),) + parts


def version_in_ranges(version: str, ranges: str) -> bool:
    """Whether ``version`` falls in a YAML ``skip: version:`` value: ``all``, or comma-separated
    ``low - high`` ranges where either end may be empty (open)."""
    if ranges.strip().lower() == "all":
        return True
    wanted = _version_tuple(version)
    for one_range in ranges.split(","):
        if "-" not in one_range:
            continue
        low, _, high = one_range.partition("-")
        if (not low.strip() or _version_tuple(low) <= wanted) and (not high.strip() or wanted <= _version_tuple(high)):
            return True
    return False


def _java_to_string(value: Any) -> str:
    """A parsed JSON value as Java's toString shows it: maps ``{key=value, ...}``, lists ``[a, b]``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_java_to_string(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java_to_string(item) for item in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _java_string(value: Any) -> str:
    """A JSON scalar as Java's toString shows it, lowercased (true/false, 0, 1.5)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_query_value(item) for item in value)
    return str(value)


def _ndjson(body: Any) -> bytes:
    if isinstance(body, str):
        return (body if body.endswith("\n") else body + "\n").encode("utf-8")
    lines = []
    for item in body:
        lines.append(item if isinstance(item, str) else json.dumps(item))
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_summary(outcomes: list[TestOutcome], path: Path) -> str:
    counts = {verdict: sum(1 for outcome in outcomes if outcome.verdict == verdict)
              for verdict in ("pass", "fail", "skip")}
    lines = [f"YAML REST compat: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"]
    for outcome in outcomes:
        lines.append(f"{outcome.verdict.upper():4} {outcome.test_id}" + (f" — {outcome.reason}" if outcome.reason else ""))
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text
