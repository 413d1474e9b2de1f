"""records.encode_index_batch (the primary's bulk fast path) writes byte-for-byte what
encode_operations writes for the same index operations, so the log format, its reader and every
existing log stay as they are; and Translog.append_encoded records what append records."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.operations import ReplicatedOperation
from index.translog import Translog
from index.translog.records import decode_operations, encode_index_batch, encode_operations

batch_rows = st.lists(st.tuples(st.text(min_size=1, max_size=6), st.binary(max_size=20), st.integers(1, 2 ** 40),
                                st.one_of(st.none(), st.text(max_size=4))), max_size=12)


@settings(max_examples=300, deadline=None)
@given(batch_rows, st.integers(0, 2 ** 40), st.integers(1, 2 ** 20))
def test_a_batch_encodes_to_the_bytes_of_its_replicated_operations(rows, first_seq_no, primary_term) -> None:
    operations = [ReplicatedOperation("index", first_seq_no + number, primary_term, version, document_id, source,
                                      None, routing)
                  for number, (document_id, source, version, routing) in enumerate(rows)]
    routings = [routing for _, _, _, routing in rows]
    encoded = encode_index_batch(first_seq_no, primary_term, [version for _, _, version, _ in rows],
                                 [document_id for document_id, _, _, _ in rows], [source for _, source, _, _ in rows],
                                 routings if any(routing is not None for routing in routings) else None)
    assert encoded == encode_operations(operations)
    assert decode_operations(encoded) == operations


def test_an_encoded_batch_is_read_back_from_the_log_after_a_reopen(tmp_path) -> None:
    translog = Translog(tmp_path)
    first = [ReplicatedOperation("delete", 0, 1, 2, "gone")]
    translog.append(first)
    encoded = encode_index_batch(1, 1, [1, 3], ["a", "b"], [b'{"x":1}', b'{}'], ["r", None])
    location = translog.append_encoded(encoded, 2, 1, 2)
    translog.ensure_synced(location)
    assert translog.statistics().operations == 3
    translog.close()
    reopened = Translog(tmp_path)
    assert list(reopened.read_operations()) == first + [
        ReplicatedOperation("index", 1, 1, 1, "a", b'{"x":1}', None, "r"),
        ReplicatedOperation("index", 2, 1, 3, "b", b"{}")]
    assert reopened.min_retained_seq_no() == 0 and reopened.statistics().operations == 3
    reopened.close()
