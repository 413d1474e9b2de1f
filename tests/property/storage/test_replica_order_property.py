"""A replica that receives the primary's operations in any order, with repeats, ends up with the
primary's documents, versions and checkpoint (DESIGN §10: applying operations is idempotent)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from index.operations import DeleteOperation, IndexOperation
from index.shard import Shard, ShardSettings


class _Parsed:
    def __init__(self, values):
        self.values = values


class _FlatMapping:
    def field(self, path):
        return None

    def parse_document(self, source, document_id=None):
        return _Parsed({key: [value] for key, value in source.items()})


def _documents(shard: Shard) -> dict:
    return {document_id: (stored.source, stored.version, stored.seq_no)
            for document_id in "abcd" if (stored := shard.get(document_id)) is not None}


writes = st.lists(st.tuples(st.sampled_from("abcd"), st.booleans(), st.integers(0, 9)), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None)
@given(writes=writes, data=st.data())
def test_any_delivery_order_with_repeats_converges_to_the_primary(writes, data):
    root = Path(tempfile.mkdtemp(prefix="replica-order-"))
    try:
        primary = Shard.open(root / "primary", ShardSettings(), _FlatMapping(), None)
        history = []
        for document_id, is_delete, value in writes:
            operation = (DeleteOperation(document_id) if is_delete
                         else IndexOperation(document_id, orjson.dumps({"value": value})))
            history.extend(result.replicated for result in primary.apply_as_primary([operation], 1))
        deliveries = data.draw(st.permutations(history + data.draw(st.lists(st.sampled_from(history), max_size=5))))
        replica = Shard.open(root / "replica", ShardSettings(), _FlatMapping(), None)
        cut = data.draw(st.integers(0, len(deliveries)))
        replica.apply_as_replica(deliveries[:cut])
        if data.draw(st.booleans()):
            replica.refresh()
        replica.apply_as_replica(deliveries[cut:])
        assert _documents(replica) == _documents(primary)
        assert (replica.local_checkpoint, replica.max_seq_no) == (primary.local_checkpoint, primary.max_seq_no)
        replica.close()
        reopened = Shard.open(root / "replica", ShardSettings(), _FlatMapping(), None)
        assert _documents(reopened) == _documents(primary)
        reopened.close()
        primary.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
