"""The byte layout inside a segment file body: a JSON directory followed by named sections.

Owns: ``SectionWriter`` (collects named byte sections and numpy arrays, optionally zstd
compressed, and emits ``u64 directory length | directory JSON | sections``) and
``SectionReader`` (finds a section by name and decodes it on demand). The checksum header and
footer around the body are index/format.py's.

A directory entry is ``[offset, stored length, compressed, dtype, raw length]`` and, from format
version 2 on, an optional sixth element: how an integer array was packed before compression
(ADR 0285). ``["narrow", stored dtype]``: the values in the smallest integer type that holds
them; ``["delta", stored dtype, first]``: a non-decreasing array as the differences of
neighbours (the first one against ``first``); ``["delta_runs", stored dtype, runs section]``:
an array that ascends within runs (a postings entry's positions), as differences that restart
at every run, the run lengths being the named section (the entries' frequencies). The reader
returns the array in its own dtype, equal element for element to what was written: no caller
sees the packing. Offsets, ids, seq_nos, frequencies and positions shrink 3-10x before zstd,
which then also has less to do.

Must never: know what a section means; index/segment/builder.py and reader.py decide that.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import zstandard

DIRECTORY_LENGTH = struct.Struct("<Q")
_thread_local = threading.local()


# zstd levels (ADR 0335). A segment built from the indexing buffer (refresh, flush, a full buffer)
# is compressed at level 1: measured on 12,500 bench documents, its build costs 13-20 % less CPU than
# at level 3 for a 2.6 % larger file — and most such segments are small and merged away later. A
# merge writes the long-lived segments, at level 3. Readers do not care which level wrote a frame.
FRESH_SEGMENT_ZSTD_LEVEL = 1
MERGED_SEGMENT_ZSTD_LEVEL = 3


def compressor() -> zstandard.ZstdCompressor:
    """This thread's compressor at its current level (``FRESH_SEGMENT_ZSTD_LEVEL`` unless inside
    ``zstd_level``); one compressor per thread and level, reused."""
    level = getattr(_thread_local, "level", FRESH_SEGMENT_ZSTD_LEVEL)
    by_level = getattr(_thread_local, "compressors", None)
    if by_level is None:
        by_level = _thread_local.compressors = {}
    value = by_level.get(level)
    if value is None:
        value = by_level[level] = zstandard.ZstdCompressor(level=level)
    return value


@contextlib.contextmanager
def zstd_level(level: int) -> Iterator[None]:
    """Sections written by this thread inside the block are compressed at ``level`` (nests)."""
    previous = getattr(_thread_local, "level", FRESH_SEGMENT_ZSTD_LEVEL)
    _thread_local.level = level
    try:
        yield
    finally:
        _thread_local.level = previous


def decompressor() -> zstandard.ZstdDecompressor:
    value = getattr(_thread_local, "decompressor", None)
    if value is None:
        value = _thread_local.decompressor = zstandard.ZstdDecompressor()
    return value


def encode_strings(strings: list[str]) -> tuple[bytes, np.ndarray]:
    """(the UTF-8 bytes of the strings back to back, int64 offsets: string i is
    blob[offsets[i]:offsets[i + 1]])."""
    count = len(strings)
    if count == 0:
        return b"", np.zeros(1, dtype=np.int64)
    # one join and one encode with newlines between: the byte lengths come from where the
    # newlines are (numpy), not from a len() or an encode per string (~3x cheaper for the
    # 170k distinct terms of a body field, a tenth of them non-ASCII)
    raw = "\n".join(strings).encode("utf-8")
    if raw.count(b"\n") == count - 1:     # no string holds a newline of its own
        newlines = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10)
        offsets = np.empty(count + 1, dtype=np.int64)
        offsets[0] = 0
        offsets[1:count] = newlines - np.arange(count - 1, dtype=np.int64)
        offsets[count] = len(raw) - (count - 1)
        return raw.replace(b"\n", b""), offsets
    blob = "".join(strings).encode("utf-8")
    lengths = np.fromiter((len(string.encode("utf-8")) for string in strings), dtype=np.int64, count=count)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return blob, offsets


def decode_strings(blob: bytes, offsets: np.ndarray) -> list[str]:
    count = len(offsets) - 1
    if count <= 0:
        return []
    if int(offsets[0]) == 0 and int(offsets[-1]) == len(blob) and b"\n" not in blob:
        # a newline after every string, one decode and one split: no bytes object and no
        # decode call per string (a term dictionary or the _id list holds 100k+ of them)
        separated = np.empty(len(blob) + count, dtype=np.uint8)
        separators = offsets[1:].astype(np.int64) + np.arange(count, dtype=np.int64)
        is_text = np.ones(separated.size, dtype=bool)
        is_text[separators] = False
        separated[separators] = 10
        separated[is_text] = np.frombuffer(blob, dtype=np.uint8)
        strings = separated.tobytes().decode("utf-8").split("\n")
        strings.pop()          # after the last newline
        return strings
    bounds = offsets.tolist()
    return [blob[bounds[i]: bounds[i + 1]].decode("utf-8") for i in range(len(bounds) - 1)]


class SectionWriter:
    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._offset = 0
        self.sections: dict[str, list[Any]] = {}
        self.metadata: dict[str, Any] = {}
        self._run_lengths: dict[str, np.ndarray] = {}

    def add_bytes(self, name: str, data: bytes, compress: bool = True) -> None:
        if name in self.sections:
            raise ValueError(f"segment section {name!r} written twice")
        stored = compressor().compress(data) if compress and data else data
        self.sections[name] = [self._offset, len(stored), bool(compress and data), None, len(data)]
        self._parts.append(stored)
        self._offset += len(stored)

    def add_array(self, name: str, array: np.ndarray, compress: bool = True, runs: str | None = None) -> None:
        """``runs``: the name of an array section already written whose values are run lengths
        covering ``array`` (``array`` ascends within each run): the positions of a field, whose
        runs are its entries' frequencies. Integer arrays are packed (module docstring)."""
        array = np.ascontiguousarray(array)
        packed, encoding = _pack_integers(array, self._run_lengths.get(runs) if runs is not None else None, runs)
        self.add_bytes(name, packed.tobytes(), compress)
        self.sections[name][3] = array.dtype.str
        if encoding is not None:
            self.sections[name].append(encoding)
        if array.dtype.kind in "iu" and array.ndim == 1:
            self._run_lengths[name] = array    # another array's runs may be these values

    def add_strings(self, name: str, strings: list[str]) -> None:
        blob, offsets = encode_strings(strings)
        self.add_bytes(name + ".blob", blob)
        self.add_array(name + ".offsets", offsets)

    def encode(self) -> bytes:
        directory = orjson.dumps({"sections": self.sections, "metadata": self.metadata})
        return DIRECTORY_LENGTH.pack(len(directory)) + directory + b"".join(self._parts)

    # A build split across processes (builder.py, ADR 0310): one process's sections travel as
    # bytes and are put in front of another's, so the directory and the data are exactly those
    # one writer adding every section in the same order would have produced.

    def export(self, extra: Any) -> bytes:
        """This writer's sections, data and ``extra`` (JSON-able) as one blob for ``imported``."""
        header = orjson.dumps({"sections": self.sections, "extra": extra})
        return DIRECTORY_LENGTH.pack(len(header)) + header + b"".join(self._parts)

    @classmethod
    def imported(cls, blob: bytes) -> tuple[SectionWriter, Any]:
        """A writer holding what ``export`` wrote (no metadata, no run lengths), and its ``extra``."""
        (header_length,) = DIRECTORY_LENGTH.unpack_from(blob, 0)
        start = DIRECTORY_LENGTH.size
        header = orjson.loads(blob[start:start + header_length])
        writer = cls()
        writer.sections = header["sections"]
        writer._parts = [blob[start + header_length:]]
        writer._offset = len(writer._parts[0])
        if writer._offset != sum(entry[1] for entry in writer.sections.values()):
            raise ValueError(f"exported sections hold {writer._offset} bytes, their directory says "
                             f"{sum(entry[1] for entry in writer.sections.values())}")
        return writer, header["extra"]

    def followed_by(self, other: SectionWriter) -> SectionWriter:
        """A new writer: this one's sections, then ``other``'s shifted past them. Metadata is left
        for the caller to set (its key order is part of the bytes)."""
        clash = self.sections.keys() & other.sections.keys()
        if clash:
            raise ValueError(f"segment sections {sorted(clash)!r} written twice")
        combined = SectionWriter()
        combined.sections = dict(self.sections)
        for name, entry in other.sections.items():
            combined.sections[name] = [entry[0] + self._offset, *entry[1:]]
        combined._parts = self._parts + other._parts
        combined._offset = self._offset + other._offset
        return combined


class SectionReader:
    def __init__(self, body: memoryview) -> None:
        (directory_length,) = DIRECTORY_LENGTH.unpack_from(body, 0)
        start = DIRECTORY_LENGTH.size
        directory = orjson.loads(bytes(body[start: start + directory_length]))
        self._data = body[start + directory_length:]
        self.sections: dict[str, list[Any]] = directory["sections"]
        self.metadata: dict[str, Any] = directory["metadata"]

    def has(self, name: str) -> bool:
        return name in self.sections

    def raw(self, name: str) -> memoryview:
        offset, length = self.sections[name][0], self.sections[name][1]
        return self._data[offset: offset + length]

    def bytes(self, name: str) -> bytes:
        offset, length, compressed, _, raw_length = self.sections[name][:5]
        stored = self._data[offset: offset + length]
        if compressed:
            return decompressor().decompress(stored, max_output_size=raw_length)
        return bytes(stored)

    def array(self, name: str) -> np.ndarray:
        entry = self.sections[name]
        dtype = np.dtype(entry[3])
        if len(entry) < 6:     # stored as it is (every format 1 section)
            return np.frombuffer(self.bytes(name), dtype=dtype)
        values = _unpack_integers(self.bytes(name), dtype, entry[5], self.array, name)
        values.flags.writeable = False     # as read-only as an unpacked section's frombuffer view
        return values

    def strings(self, name: str) -> list[str]:
        return decode_strings(self.bytes(name + ".blob"), self.array(name + ".offsets"))


# -- integer packing (format version 2) -------------------------------------------------------
_UNSIGNED_TYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32))
_SIGNED_TYPES = (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32))
_PACKABLE_KINDS = frozenset(np.dtype(name).str for name in ("int64", "int32", "uint32", "uint16", "int16"))


def _smallest_type(low: int, high: int) -> np.dtype | None:
    for candidate in (_UNSIGNED_TYPES if low >= 0 else _SIGNED_TYPES):
        limits = np.iinfo(candidate)
        if limits.min <= low and high <= limits.max:
            return candidate
    return None


def _pack_integers(array: np.ndarray, run_lengths: np.ndarray | None, runs: str | None
                   ) -> tuple[np.ndarray, list[Any] | None]:
    """(what to store, its directory encoding or None for "as it is")."""
    # 2-D arrays (term locations: block, start, length per term) interleave unrelated
    # columns: packed flat they compressed worse than as they are
    if array.dtype.str not in _PACKABLE_KINDS or array.ndim != 1 or array.size < 2:
        return array, None
    values = array.astype(np.int64, copy=False)
    if run_lengths is not None:
        if int(run_lengths.sum(dtype=np.int64)) != values.size:
            raise ValueError(f"segment section runs {runs!r}: expected run lengths adding up to "
                             f"{values.size}, got {int(run_lengths.sum(dtype=np.int64))}")
        differences = np.empty_like(values)
        differences[0] = values[0]
        np.subtract(values[1:], values[:-1], out=differences[1:])
        run_starts = np.cumsum(run_lengths, dtype=np.int64)[:-1]
        run_starts = run_starts[run_starts < values.size]    # empty runs at the end start nowhere
        differences[run_starts] = values[run_starts]        # every run restarts from its own value
        stored = _smallest_type(int(differences.min()), int(differences.max()))
        if stored is not None and stored.itemsize < array.dtype.itemsize:
            return differences.astype(stored), ["delta_runs", stored.str, runs]
    else:
        differences = np.diff(values)
        if differences.size and int(differences.min()) >= 0:    # non-decreasing: offsets, ids, seq_nos
            stored = _smallest_type(0, int(differences.max()))
            if stored is not None:
                packed = np.empty(values.size, dtype=stored)
                packed[0] = 0
                packed[1:] = differences
                return packed, ["delta", stored.str, int(values[0])]
    low, high = int(values.min()), int(values.max())
    stored = _smallest_type(low, high)
    if stored is not None and stored.itemsize < array.dtype.itemsize:
        return values.astype(stored), ["narrow", stored.str]
    return array, None


def _unpack_integers(data: bytes, dtype: np.dtype, encoding: list[Any], read_array: Any, name: str) -> np.ndarray:
    kind = encoding[0]
    stored = np.frombuffer(data, dtype=np.dtype(encoding[1]))
    if kind == "narrow":
        return stored.astype(dtype)
    if kind == "delta":
        values = np.cumsum(stored, dtype=np.int64)
        values += int(encoding[2])
        return values.astype(dtype, copy=False)
    if kind == "delta_runs":
        run_lengths = read_array(encoding[2]).astype(np.int64)
        if int(run_lengths.sum()) != stored.size:
            raise ValueError(f"segment section {name!r}: runs {encoding[2]!r} cover {int(run_lengths.sum())} "
                             f"values, expected {stored.size}")
        running = np.zeros(stored.size + 1, dtype=np.int64)
        np.cumsum(stored, dtype=np.int64, out=running[1:])
        # from every element, subtract the running total just before its run started
        run_starts = np.zeros(run_lengths.size, dtype=np.int64)
        np.cumsum(run_lengths[:-1], out=run_starts[1:])
        values = running[1:] - np.repeat(running[run_starts], run_lengths)
        return values.astype(dtype, copy=False)
    raise ValueError(f"segment section {name!r}: unknown integer packing {kind!r}")
