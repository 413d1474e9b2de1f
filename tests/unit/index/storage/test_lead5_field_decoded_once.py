"""A segment's term dictionary is decoded once per field even when many searches ask for it at the
same moment (the cold start of a new segment under concurrent searches)."""

import threading
import time

import orjson

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.segment.builder import SegmentDocument, write_segment_file
from index.segment.reader import SegmentCore


def test_concurrent_first_lookups_of_a_field_decode_it_once(tmp_path, monkeypatch):
    mapping = Mapping.from_json({"properties": {"title": {"type": "text"}}})
    documents = [SegmentDocument(f"d{n}", orjson.dumps({"title": f"word{n} common"}), {"title": [f"word{n} common"]}, n, 1, 1)
                 for n in range(50)]
    write_segment_file(tmp_path, "seg", documents, mapping, AnalysisRegistry.from_index_settings({}))
    core = SegmentCore(tmp_path, "seg")
    decodes = []
    original = SegmentCore._decode_inverted_field
    started = threading.Barrier(8)

    def counted(self, field, meta):
        decodes.append(field)
        time.sleep(0.05)  # a decode that takes a while, as a large field's does: the others arrive meanwhile
        return original(self, field, meta)

    monkeypatch.setattr(SegmentCore, "_decode_inverted_field", counted)

    def first_search():
        started.wait()
        core._inverted_field("title")

    threads = [threading.Thread(target=first_search) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert decodes == ["title"]
    assert core._inverted_field("title") is core._inverted_field("title")
