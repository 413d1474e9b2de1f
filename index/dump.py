"""Logical dump files: NDJSON lines in one zstd stream, written durably (snapshots, ADR 0377).

Owns ``DumpWriter`` (append lines, then ``finish``: flush the frame, fsync, rename into place,
fsync the directory — the file exists under its name only once whole) and ``read_dump_lines`` (the
lines back, a batch at a time). It knows nothing of what the lines hold. Calls block: node/ runs
them in a thread.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Iterator

import zstandard

from index.format import fsync_directory

DUMP_COMPRESSION_LEVEL = 3


class DumpWriter:
    """Lines appended to ``<path>.tmp``; ``finish`` makes ``path`` durable and returns its size."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(path.name + ".tmp")
        self.handle = open(self.temporary, "wb")
        self.writer = zstandard.ZstdCompressor(level=DUMP_COMPRESSION_LEVEL).stream_writer(self.handle, closefd=False)

    def write(self, lines: bytes) -> None:
        self.writer.write(lines)

    def finish(self) -> int:
        self.writer.flush(zstandard.FLUSH_FRAME)
        self.handle.flush()
        os.fsync(self.handle.fileno())
        size = self.handle.tell()
        self.handle.close()
        os.replace(self.temporary, self.path)
        fsync_directory(self.path.parent)
        return size

    def abandon(self) -> None:
        """Close and remove the unfinished file."""
        self.handle.close()
        self.temporary.unlink(missing_ok=True)


def read_dump_lines(path: Path, batch_lines: int) -> Iterator[list[bytes]]:
    """The file's lines, ``batch_lines`` at a time."""
    with open(path, "rb") as handle:
        reader = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(handle))
        while True:
            batch = []
            for _ in range(batch_lines):
                line = reader.readline()
                if not line:
                    break
                batch.append(line)
            if not batch:
                return
            yield batch
