"""The one mapping-update retry loop both write paths share (node/coordination/writes.py
``write_on_primary``), and the column-built success items of the columnar path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import given, strategies as st

from node.coordination.writes import MAX_MAPPING_ROUNDS, STATUS_BY_RESULT, _success_items, write_on_primary
from node.errors import ApiError, IndexNotFoundError


@dataclass(frozen=True)
class FakeIndex:
    name: str
    uuid: str
    mapping_version: int
    mappings: dict


@dataclass(frozen=True)
class FakeShard:
    copies: tuple = ("primary",)


@dataclass
class FakeState:
    indices: dict


@dataclass
class FakeDirector:
    """Answers ``write`` from a script; records every call with the payload it got."""
    services: "FakeServices"
    write_answers: list[dict]
    calls: list[tuple[str, dict]] = field(default_factory=list)

    async def call_primary(self, index_name: str, shard_number: int, method: str, payload: dict,
                           body: bytes, timeout_seconds: float) -> tuple[dict, bytes, Any, Any]:
        self.calls.append((method, payload))
        index = self.services.state.indices[index_name]
        if method == "write":
            return self.write_answers.pop(0), b"answer-body", index, FakeShard()
        return {"mapping_version": payload["mapping_version"]}, b"", index, FakeShard()


class FakeServices:
    def __init__(self, write_answers: list[dict]) -> None:
        self.state = FakeState({"idx": FakeIndex("idx", "uuid-1", 1, {"properties": {}})})
        self.director = FakeDirector(self, write_answers)
        self.committed_updates: list[dict] = []

    async def commit_mapping_update(self, index_name: str, update: dict) -> FakeIndex:
        self.committed_updates.append(update)
        current = self.state.indices[index_name]
        newer = FakeIndex(current.name, current.uuid, current.mapping_version + 1, {"properties": update})
        self.state.indices[index_name] = newer
        return newer


def payload_naming_the_mapping(index: FakeIndex) -> dict:
    return {"items": ["x"], "mapping_version": index.mapping_version}


async def test_a_write_that_needs_no_mapping_update_is_one_call():
    services = FakeServices([{"results": ["ok"]}])
    written = await write_on_primary(services, "idx", 0, payload_naming_the_mapping, b"body", 5.0)
    assert written.answer == {"results": ["ok"]} and written.body == b"answer-body"
    assert [method for method, _ in services.director.calls] == ["write"]
    assert written.index.mapping_version == 1 and written.elapsed_millis >= 0


async def test_a_mapping_update_is_committed_pushed_to_the_primary_and_the_write_resent_naming_it():
    services = FakeServices([{"mapping_update": {"title": {"type": "text"}}}, {"results": ["ok"]}])
    written = await write_on_primary(services, "idx", 0, payload_naming_the_mapping, b"body", 5.0)
    assert services.committed_updates == [{"title": {"type": "text"}}]
    methods = [(method, payload.get("mapping_version")) for method, payload in services.director.calls]
    assert methods == [("write", 1), ("update_mapping", 2), ("write", 2)]
    assert services.director.calls[1][1]["mappings"] == {"properties": {"title": {"type": "text"}}}
    assert written.answer == {"results": ["ok"]} and written.index.mapping_version == 2


async def test_a_primary_with_a_stale_mapping_gets_the_current_one_without_a_raft_commit():
    services = FakeServices([{"stale_mapping": 0}, {"results": ["ok"]}])
    written = await write_on_primary(services, "idx", 0, payload_naming_the_mapping, b"body", 5.0)
    assert services.committed_updates == []
    assert [method for method, _ in services.director.calls] == ["write", "update_mapping", "write"]
    assert written.answer == {"results": ["ok"]}


async def test_a_write_that_keeps_needing_mapping_updates_gives_up_after_the_round_limit():
    services = FakeServices([{"stale_mapping": 0}] * (MAX_MAPPING_ROUNDS + 5))
    with pytest.raises(ApiError) as raised:
        await write_on_primary(services, "idx", 0, payload_naming_the_mapping, b"body", 5.0)
    assert raised.value.opensearch_type == "illegal_state_exception"
    assert f"gave up after {MAX_MAPPING_ROUNDS} rounds" in str(raised.value.reason)
    assert [method for method, _ in services.director.calls].count("write") == MAX_MAPPING_ROUNDS


async def test_a_missing_index_is_index_not_found_before_anything_is_sent():
    services = FakeServices([])
    with pytest.raises(IndexNotFoundError):
        await write_on_primary(services, "gone", 0, payload_naming_the_mapping, b"body", 5.0)
    assert services.director.calls == []


def general_path_item(action: str, document_id: str, version: int, result: str, seq_no: int, index_name: str,
                      shards: dict, primary_term: int, forced: bool) -> dict:
    body = {"_index": index_name, "_id": document_id, "_version": version, "result": result}
    if forced:
        body["forced_refresh"] = True
    body.update({"_shards": shards, "_seq_no": seq_no, "_primary_term": primary_term,
                 "status": STATUS_BY_RESULT[result]})
    return {action: body}


ids = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10)


@given(st.lists(st.tuples(ids, st.sampled_from(["index", "create"]), st.sampled_from(["created", "updated"]),
                          st.integers(1, 3)), min_size=1, max_size=20),
       st.booleans(), st.booleans(), st.text(min_size=1, max_size=8))
def test_success_items_equal_the_general_paths_items_whether_uniform_or_not(rows, uniform, forced, index_name):
    if uniform:
        rows = [(document_id, rows[0][1], rows[0][2], rows[0][3]) for document_id, *_ in rows]
    document_ids = [row[0] for row in rows]
    actions = [row[1] for row in rows]
    results = {"result": [row[2] for row in rows], "version": [row[3] for row in rows],
               "seq_no": list(range(40, 40 + len(rows))), "primary_term": 7}
    shards = {"total": 2, "successful": 2, "failed": 0}
    encoded = _success_items(actions, document_ids, index_name, results, shards, forced)
    expected = [general_path_item(action, document_id, version, result, seq_no, index_name, shards, 7, forced)
                for document_id, action, result, version, seq_no
                in zip(document_ids, actions, results["result"], results["version"], results["seq_no"])]
    assert [orjson.loads(item) for item in encoded] == expected
    assert encoded == [orjson.dumps(item) for item in expected]     # byte for byte, key order included
