"""Replicated operations cross the wire as (header, concatenated sources) and come back equal —
routing included — whatever the mix of kinds, ids, sources and routings."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from index.operations import ReplicatedOperation
from node.workers.shard_service import _operation_header, _operations_from_wire

optional_text = st.none() | st.text(min_size=1, max_size=12)


@st.composite
def operations(draw):
    kind = draw(st.sampled_from(["index", "delete", "noop"]))
    source = draw(st.binary(min_size=0, max_size=40)) if kind == "index" else None
    return ReplicatedOperation(kind, draw(st.integers(0, 10**9)), draw(st.integers(1, 100)), draw(st.integers(1, 10**6)),
                               draw(optional_text) if kind != "noop" else None, source,
                               draw(optional_text) if kind == "noop" else None,
                               draw(optional_text) if kind == "index" else None)


@given(st.lists(operations(), max_size=12))
def test_operations_survive_the_wire_with_their_routing(batch):
    headers = orjson.loads(orjson.dumps([_operation_header(operation) for operation in batch]))
    body = b"".join(operation.source or b"" for operation in batch)
    decoded = _operations_from_wire(headers, body)
    assert [(operation.kind, operation.seq_no, operation.primary_term, operation.version, operation.document_id,
             operation.source or b"", operation.reason, operation.routing) for operation in decoded] == \
        [(operation.kind, operation.seq_no, operation.primary_term, operation.version, operation.document_id,
          operation.source or b"", operation.reason, operation.routing) for operation in batch]
