"""The shard engine against a dict model: random writes, refreshes, flushes, merges, clean restarts
and crashes (log not fsynced beyond what "request" durability already synced), checked after
every step through realtime get and, after a refresh, through the searcher."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from index.operations import DeleteOperation, IndexOperation, UpdateOperation
from index.shard import Shard, ShardSettings

IDS = st.sampled_from(["a", "b", "c", "d", "e"])
WORDS = st.sampled_from(["red", "green", "blue"])


@dataclass(frozen=True)
class _Batch:
    terms: list
    text_index: np.ndarray
    positions: np.ndarray


class _Analyzer:
    def terms_and_positions(self, text):
        terms = re.findall(r"\w+", text.lower())
        return terms, list(range(len(terms)))

    def analyze_batch(self, texts):
        terms, index, positions = [], [], []
        for number, text in enumerate(texts):
            found, found_positions = self.terms_and_positions(text)
            terms += found
            index += [number] * len(found)
            positions += found_positions
        return _Batch(terms, np.asarray(index, dtype=np.int32), np.asarray(positions, dtype=np.int32))


class _Analysis:
    def get(self, name):
        return _Analyzer()


@dataclass(frozen=True)
class _Field:
    path: str
    type: str
    analyzer: str = "standard"
    index: bool = True
    doc_values: bool = True


class _Parsed:
    def __init__(self, values):
        self.values = values


class _Mapping:
    types = {"color": "text", "count": "long"}

    def field(self, path):
        return _Field(path, self.types[path]) if path in self.types else None

    def parse_document(self, source, document_id=None):
        return _Parsed({key: [value] for key, value in source.items()})


class ShardAgainstDictModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="shard-model-"))
        self.shard = self._open()
        self.model: dict[str, tuple[dict, int]] = {}          # id -> (source, version)
        self.versions_seen: dict[str, int] = {}                # id -> last version incl. deletes
        self.refreshed_model: dict[str, dict] = {}
        # a merge may drop delete tombstones (as OpenSearch forgets them after index.gc_deletes):
        # re-creating such an id may restart its version at 1
        self.forgettable_deletes: set[str] = set()

    def _open(self) -> Shard:
        return Shard.open(self.directory, ShardSettings(translog_retention_operations=0, merge_segments_per_tier=2),
                          _Mapping(), _Analysis())

    def teardown(self) -> None:
        self.shard.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @rule(document_id=IDS, color=WORDS, count=st.integers(0, 3))
    def index(self, document_id, color, count):
        source = {"color": color, "count": count}
        [result] = self.shard.apply_as_primary([IndexOperation(document_id, orjson.dumps(source))], 1)
        expected_version = self.versions_seen.get(document_id, 0) + 1
        if document_id in self.forgettable_deletes and result.version == 1:
            expected_version = 1
        assert result.version == expected_version
        self.forgettable_deletes.discard(document_id)
        assert result.result == ("updated" if document_id in self.model else "created")
        self.model[document_id] = (source, expected_version)
        self.versions_seen[document_id] = expected_version

    @rule(document_id=IDS)
    def delete(self, document_id):
        [result] = self.shard.apply_as_primary([DeleteOperation(document_id)], 1)
        assert result.result == ("deleted" if document_id in self.model else "not_found")
        if document_id in self.forgettable_deletes and result.version == 1:
            self.versions_seen[document_id] = 0
        assert result.version == self.versions_seen.get(document_id, 0) + 1
        self.versions_seen[document_id] = result.version
        self.forgettable_deletes.discard(document_id)
        self.model.pop(document_id, None)

    @rule(document_id=IDS, count=st.integers(0, 3))
    def update(self, document_id, count):
        [result] = self.shard.apply_as_primary([UpdateOperation(document_id, doc={"count": count})], 1)
        if document_id not in self.model:
            assert result.error is not None
            return
        source, version = self.model[document_id]
        if source["count"] == count:
            assert result.result == "noop"
            return
        assert result.result == "updated" and result.version == version + 1
        self.model[document_id] = ({**source, "count": count}, version + 1)
        self.versions_seen[document_id] = version + 1

    @rule()
    def refresh(self):
        self.shard.refresh()
        self.refreshed_model = {key: value[0] for key, value in self.model.items()}

    @rule()
    def flush(self):
        self.shard.flush()
        self.refreshed_model = {key: value[0] for key, value in self.model.items()}

    @rule()
    def merge(self):
        if self.shard.maybe_merge():    # a merge commits, and a commit refreshes (as flush does)
            self.refreshed_model = {key: value[0] for key, value in self.model.items()}
            self.forgettable_deletes |= set(self.versions_seen) - set(self.model)

    @rule()
    def force_merge(self):
        self.shard.force_merge(1)
        self.refreshed_model = {key: value[0] for key, value in self.model.items()}
        self.forgettable_deletes |= set(self.versions_seen) - set(self.model)

    @rule()
    def restart_cleanly(self):
        self.shard.close()
        self.shard = self._open()
        self.refreshed_model = {}   # unknown until the next refresh: checked via realtime get

    @rule()
    def crash(self):
        self.shard._translog.close_without_sync_for_tests()
        self.shard = self._open()
        self.refreshed_model = {}

    @invariant()
    def realtime_get_matches_the_model(self):
        for document_id in ["a", "b", "c", "d", "e"]:
            stored = self.shard.get(document_id)
            if document_id in self.model:
                source, version = self.model[document_id]
                assert stored is not None, document_id
                assert orjson.loads(stored.source) == source and stored.version == version
            else:
                assert stored is None, document_id
        assert self.shard.local_checkpoint == self.shard.max_seq_no

    @invariant()
    def the_searcher_matches_the_last_refresh(self):
        if not self.refreshed_model:
            return
        searcher = self.shard.acquire_searcher()
        live = {}
        for segment in searcher.segments:
            for doc in segment.live_docs():
                document_id = segment.document_id(doc)
                assert document_id not in live, f"{document_id} live twice"
                live[document_id] = orjson.loads(segment.source(doc))
        assert live == self.refreshed_model
        for color in ["red", "green", "blue"]:
            matching = {segment.document_id(doc) for segment in searcher.segments
                        for doc in segment.postings("color", color) & segment.live_docs()}
            assert matching == {key for key, source in self.refreshed_model.items() if source["color"] == color}


ShardAgainstDictModel.TestCase.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
test_shard_against_dict_model = ShardAgainstDictModel.TestCase
