"""The search coordinator against a dumb model: the real SearchCoordinator and worker methods over
three real in-process shards (workers.call dispatches straight to SEARCH_METHODS), checked by
hypothesis against sorting the documents in Python. Pages by from/size, by search_after and by
scroll must all equal the model's order, ties broken by shard then doc as OpenSearch does."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import DEFAULT_QUERY_REGISTRY
from index.shard import Shard, ShardSettings
from node.coordination.search import SearchCoordinator
from node.workers.registry import ShardRegistry
from node.workers.search_service import SEARCH_METHODS

SHARD_COUNT = 3
DOCUMENT_COUNT = 41
MAPPING = {"properties": {"rank": {"type": "long"}, "colour": {"type": "keyword"}, "note": {"type": "text"}}}
COLOURS = ["red", "green", "blue"]


def document(number):
    # few distinct ranks and colours: many ties, which is what the tie-break must get right
    return {"rank": (number * 7) % 5, "colour": COLOURS[number % 3], "note": "even" if number % 2 == 0 else "odd"}


class InProcessWorkers:
    """This node's workers; shards in ``unreachable_shards`` fail as a dead worker would."""

    def __init__(self, registry, unreachable_shards=()):
        self.registry = registry
        self.unreachable_shards = set(unreachable_shards)
        self.calls = []

    async def call(self, index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
        await trio.lowlevel.checkpoint()
        self.calls.append((shard_number, method))
        if shard_number in self.unreachable_shards:
            from node.workers.errors import WorkerUnavailableError

            raise WorkerUnavailableError(f"worker for shard {shard_number} died mid-call")
        return SEARCH_METHODS[method](self.registry, {**payload, "index_uuid": index_uuid,
                                                      "shard_number": shard_number}, body)


class OtherNode:
    """Another node holding a copy of every shard, reached through ``peers.request``."""

    def __init__(self, registry):
        self.workers = InProcessWorkers(registry)

    async def request(self, address, method, payload, body=b"", timeout_seconds=None):
        assert method == "shard/call" and address == "node-2:9300"
        return await self.workers.call(payload["index_uuid"], payload["shard_number"], payload["method"],
                                       payload["payload"], body)


class FakeState:
    def __init__(self, with_replicas=False):
        def copies(number):
            held = [SimpleNamespace(node_id="node-1", state="STARTED", primary=True)]
            if with_replicas:
                held.append(SimpleNamespace(node_id="node-2", state="STARTED", primary=False))
            return tuple(held)
        self.indices = {"model": SimpleNamespace(name="model", uuid="uuid", state="open", settings={}, aliases={},
                                                 number_of_shards=SHARD_COUNT, routing_num_shards=SHARD_COUNT)}
        self.routing_table = {"model": tuple(SimpleNamespace(shard_number=number, copies=copies(number))
                                             for number in range(SHARD_COUNT))}
        self.nodes = {"node-2": SimpleNamespace(transport_address="node-2:9300")}
        # an idle coordinator spreads a search's shards over the copies' nodes when asked (ADR 0351)
        self.cluster_settings = {"quidditch.search.spread_idle_searches": "true"}

    def all_alias_names(self):
        return frozenset()

    def setting(self, key, default=None):
        return self.cluster_settings.get(key, default)

    def resolve_alias(self, name):
        return []


def build_registry(directory):
    registry = ShardRegistry(directory)
    for shard_number in range(SHARD_COUNT):
        shard = Shard.open(registry.shard_path("uuid", shard_number), ShardSettings(refresh_interval_seconds=None),
                           Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
        mine = [number for number in range(DOCUMENT_COUNT) if number % SHARD_COUNT == shard_number]
        shard.apply_as_primary([IndexOperation(str(number), orjson.dumps(document(number))) for number in mine], 1)
        shard.refresh()
        registry.put("uuid", shard_number, shard)
    return registry


def build_coordinator(registry, with_replicas=False, unreachable_shards=()):
    context = SimpleNamespace(node_id="node-1", metadata=SimpleNamespace(state=FakeState(with_replicas)),
                              workers=InProcessWorkers(registry, unreachable_shards), peers=OtherNode(registry))
    # admission: no other search in flight, so a search without preference spreads its shards
    # over the copies' nodes (ADR 0332, asked for by the state's setting: ADR 0351) as on an idle node
    services = SimpleNamespace(context=context, director=SimpleNamespace(local={}),
                               query_registry=DEFAULT_QUERY_REGISTRY, admission=SimpleNamespace(search_requests=0),
                               record_search=lambda *arguments, **keywords: None)
    return SearchCoordinator(services)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    registry = build_registry(tmp_path_factory.mktemp("model-shards"))
    yield registry
    for shard in registry.shards.values():
        shard.close()


@pytest.fixture(scope="module")
def coordinator(registry):
    return build_coordinator(registry)


def model_order(query_colour, sort_field, descending):
    numbers = [number for number in range(DOCUMENT_COUNT)
               if query_colour is None or document(number)["colour"] == query_colour]
    if sort_field == "_doc":
        # _doc values are shard-local doc ids: equal values across shards, then the shard decides
        return [str(number) for number in sorted(numbers, key=lambda n: (n // SHARD_COUNT, n % SHARD_COUNT))]
    # ties: shard (shard_index), then the doc's position in its shard (its local doc id); Python's
    # sort is stable with reverse=True too, as the merge's is
    ordered = sorted(numbers, key=lambda n: (n % SHARD_COUNT, n // SHARD_COUNT))
    ordered.sort(key=lambda number: document(number)[sort_field], reverse=descending)
    return [str(number) for number in ordered]


def body_for(query_colour, sort_field, descending):
    body = {"query": {"term": {"colour": query_colour}} if query_colour else {"match_all": {}}}
    body["sort"] = ["_doc"] if sort_field == "_doc" else [{sort_field: "desc" if descending else "asc"}]
    return body


def ids(response):
    return [hit["_id"] for hit in response["hits"]["hits"]]


searches = st.tuples(st.sampled_from([None, "red", "blue"]), st.sampled_from(["rank", "colour"]), st.booleans(),
                     st.integers(1, 9))


@settings(max_examples=30, deadline=None)
@given(search=searches)
def test_from_size_pages_search_after_and_scroll_all_follow_the_model_order(coordinator, search):
    query_colour, sort_field, descending, page_size = search
    expected = model_order(query_colour, sort_field, descending)

    async def scenario():
        body = body_for(query_colour, sort_field, descending)
        by_from = []
        for start in range(0, len(expected), page_size):
            page = await coordinator.search("model", {**body, "from": start, "size": page_size}, {})
            assert page["hits"]["total"] == {"value": len(expected), "relation": "eq"}
            by_from += ids(page)
        by_after = []
        after = None
        while True:
            extra = {"search_after": after} if after is not None else {}
            page = await coordinator.search("model", {**body, "size": page_size, **extra}, {})
            if not page["hits"]["hits"]:
                break
            by_after += ids(page)
            after = page["hits"]["hits"][-1]["sort"]
        page = await coordinator.search("model", {**body, "size": page_size}, {"scroll": "1m"})
        by_scroll = ids(page)
        while page["hits"]["hits"]:
            page = await coordinator.scroll(page["_scroll_id"], "1m", {})
            by_scroll += ids(page)
        cleared, _ = await coordinator.clear_scroll([page["_scroll_id"]])
        assert cleared["num_freed"] == SHARD_COUNT
        return by_from, by_after, by_scroll

    by_from, by_after, by_scroll = trio.run(scenario)
    assert by_from == expected
    assert by_scroll == expected
    # search_after cannot tell tied hits apart (no tie-break value): it must still never repeat one
    assert len(by_after) == len(set(by_after))
    assert set(by_after) <= set(expected)


def test_count_and_point_in_time_agree_with_the_model(coordinator):
    async def scenario():
        counted = await coordinator.count("model", {"query": {"term": {"colour": "green"}}}, {})
        opened = await coordinator.open_point_in_time("model", {"keep_alive": "1m"})
        in_time = await coordinator.search(None, {"pit": {"id": opened["pit_id"]}, "size": 100,
                                                  "query": {"term": {"colour": "green"}}, "sort": ["_doc"]}, {})
        closed = await coordinator.close_point_in_time([opened["pit_id"]])
        return counted, in_time, closed

    counted, in_time, closed = trio.run(scenario)
    green = [str(number) for number in model_order("green", "_doc", False)]
    assert counted["count"] == len(green)
    assert ids(in_time) == green
    assert closed == [(in_time["pit_id"], SHARD_COUNT, SHARD_COUNT)]


def test_a_shard_whose_copy_is_unreachable_is_searched_on_another_copy(registry):
    coordinator = build_coordinator(registry, with_replicas=True, unreachable_shards={0})

    async def scenario():
        page = await coordinator.search("model", {"sort": [{"rank": "asc"}], "size": 100}, {})
        scrolled = await coordinator.search("model", {"sort": ["_doc"], "size": 100}, {"scroll": "1m"})
        following = await coordinator.scroll(scrolled["_scroll_id"], "1m", {})
        return page, scrolled, following

    page, scrolled, following = trio.run(scenario)
    assert page["_shards"] == {"total": 3, "successful": 3, "skipped": 0, "failed": 0}
    assert ids(page) == model_order(None, "rank", False)
    assert len(ids(scrolled)) == DOCUMENT_COUNT and following["_shards"]["failed"] == 0
    # shard 0's fetch and scroll pages went to the copy that answered its query phase
    assert ("search_shard", 0) in [(method, shard) for shard, method in coordinator.context.peers.workers.calls]


def test_without_another_copy_an_unreachable_shard_is_a_partial_failure(registry):
    coordinator = build_coordinator(registry, unreachable_shards={1})
    page = trio.run(coordinator.search, "model", {"size": 100}, {})
    assert page["_shards"]["failed"] == 1 and page["_shards"]["successful"] == 2
    assert page["_shards"]["failures"][0]["shard"] == 1
    assert page["_shards"]["failures"][0]["reason"]["type"] == "node_not_connected_exception"
    assert len(ids(page)) == DOCUMENT_COUNT - len(range(1, DOCUMENT_COUNT, SHARD_COUNT))


@pytest.mark.parametrize("sort_field, descending", [("rank", False), ("colour", True)])
def test_a_window_too_large_to_fetch_with_the_query_takes_the_fetch_phase_and_agrees(coordinator, sort_field,
                                                                                        descending):
    from node.coordination.search import FETCH_WITH_QUERY_MAX_WINDOW

    start, size = 3, FETCH_WITH_QUERY_MAX_WINDOW        # window start + size is past the limit
    body = {**body_for(None, sort_field, descending), "from": start, "size": size}
    page = trio.run(coordinator.search, "model", body, {})
    assert ids(page) == model_order(None, sort_field, descending)[start:start + size]
    assert all("_source" in hit for hit in page["hits"]["hits"])


@settings(max_examples=20, deadline=None)
@given(query_colour=st.sampled_from([None, "red", "green"]), page_size=st.integers(1, 9))
def test_a_scroll_ordered_by_score_equals_from_size_paging_and_hands_out_every_hit_once(coordinator, query_colour,
                                                                                        page_size):
    body = {"query": {"term": {"colour": query_colour}} if query_colour else {"match_all": {}}}
    expected_count = len(model_order(query_colour, "rank", False))

    async def scenario():
        by_from = []
        for start in range(0, expected_count, page_size):
            page = await coordinator.search("model", {**body, "from": start, "size": page_size}, {})
            by_from += ids(page)
        page = await coordinator.search("model", {**body, "size": page_size}, {"scroll": "1m"})
        by_scroll = ids(page)
        while page["hits"]["hits"]:
            page = await coordinator.scroll(page["_scroll_id"], "1m", {})
            by_scroll += ids(page)
        await coordinator.clear_scroll([page["_scroll_id"]])
        return by_from, by_scroll

    by_from, by_scroll = trio.run(scenario)
    assert by_scroll == by_from
    assert sorted(by_scroll, key=int) == sorted(model_order(query_colour, "rank", False), key=int)
    if query_colour is None:
        # match_all scores every doc 1.0: the order is the tie-break, shard then doc
        assert by_scroll == [str(n) for n in sorted(range(DOCUMENT_COUNT), key=lambda n: (n % 3, n // 3))]


@pytest.mark.parametrize("spread_setting, searched_remotely", [(None, False), ("false", False), ("true", True)])
def test_an_idle_coordinator_searches_its_own_copies_unless_spreading_is_asked_for(registry, spread_setting,
                                                                                   searched_remotely):
    coordinator = build_coordinator(registry, with_replicas=True)
    settings = coordinator.context.metadata.state.cluster_settings
    settings.pop("quidditch.search.spread_idle_searches")
    if spread_setting is not None:
        settings["quidditch.search.spread_idle_searches"] = spread_setting
    page = trio.run(coordinator.search, "model", {"size": 100}, {})
    assert page["_shards"]["successful"] == SHARD_COUNT
    remote_searches = [shard for shard, method in coordinator.context.peers.workers.calls if method == "search_shard"]
    assert bool(remote_searches) is searched_remotely
