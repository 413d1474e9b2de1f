"""index.dump: lines written to a dump file come back in batches, byte for byte; the file exists
under its name only after ``finish`` (an abandoned one leaves nothing)."""

from index.dump import DumpWriter, read_dump_lines


def test_lines_come_back_in_batches_and_only_a_finished_file_exists(tmp_path):
    path = tmp_path / "docs.ndjson.zst"
    writer = DumpWriter(path)
    lines = [b'{"_id":"%d"}\n' % number for number in range(2500)]
    writer.write(b"".join(lines[:1000]))
    assert not path.exists()
    writer.write(b"".join(lines[1000:]))
    assert writer.finish() == path.stat().st_size
    assert [len(batch) for batch in read_dump_lines(path, 1000)] == [1000, 1000, 500]
    assert [line for batch in read_dump_lines(path, 1000) for line in batch] == lines

    abandoned = DumpWriter(tmp_path / "other.ndjson.zst")
    abandoned.write(b"x\n")
    abandoned.abandon()
    assert sorted(item.name for item in tmp_path.iterdir()) == ["docs.ndjson.zst"]
