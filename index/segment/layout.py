"""The byte layout inside a segment file body: a JSON directory followed by named sections.

Owns: ``SectionWriter`` (collects named byte sections and numpy arrays, optionally zstd
compressed, and emits ``u64 directory length | directory JSON | sections``) and
``SectionReader`` (finds a section by name and decodes it on demand). The checksum header and
footer around the body are index/format.py's.

Must never: know what a section means; index/segment/builder.py and reader.py decide that.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

import numpy as np
import orjson
import zstandard

DIRECTORY_LENGTH = struct.Struct("<Q")
_thread_local = threading.local()


def compressor() -> zstandard.ZstdCompressor:
    value = getattr(_thread_local, "compressor", None)
    if value is None:
        value = _thread_local.compressor = zstandard.ZstdCompressor(level=3)
    return value


def decompressor() -> zstandard.ZstdDecompressor:
    value = getattr(_thread_local, "decompressor", None)
    if value is None:
        value = _thread_local.decompressor = zstandard.ZstdDecompressor()
    return value


def encode_strings(strings: list[str]) -> tuple[bytes, np.ndarray]:
    joined = "".join(strings)
    if joined.isascii():   # the common case: one encode, and a character is a byte
        blob = joined.encode("ascii")
        lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    else:   # one encode of the whole; only the non-ASCII strings are encoded again for their length
        blob = joined.encode("utf-8")
        lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        non_ascii = np.flatnonzero(~np.fromiter(map(str.isascii, strings), dtype=bool, count=len(strings)))
        for number in non_ascii.tolist():
            lengths[number] = len(strings[number].encode("utf-8"))
    offsets = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return blob, offsets


def decode_strings(blob: bytes, offsets: np.ndarray) -> list[str]:
    bounds = offsets.tolist()
    return [blob[bounds[i]: bounds[i + 1]].decode("utf-8") for i in range(len(bounds) - 1)]


class SectionWriter:
    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._offset = 0
        self.sections: dict[str, list[Any]] = {}
        self.metadata: dict[str, Any] = {}

    def add_bytes(self, name: str, data: bytes, compress: bool = True) -> None:
        if name in self.sections:
            raise ValueError(f"segment section {name!r} written twice")
        stored = compressor().compress(data) if compress and data else data
        self.sections[name] = [self._offset, len(stored), bool(compress and data), None, len(data)]
        self._parts.append(stored)
        self._offset += len(stored)

    def add_array(self, name: str, array: np.ndarray, compress: bool = True) -> None:
        array = np.ascontiguousarray(array)
        self.add_bytes(name, array.tobytes(), compress)
        self.sections[name][3] = array.dtype.str

    def add_strings(self, name: str, strings: list[str]) -> None:
        blob, offsets = encode_strings(strings)
        self.add_bytes(name + ".blob", blob)
        self.add_array(name + ".offsets", offsets)

    def encode(self) -> bytes:
        directory = orjson.dumps({"sections": self.sections, "metadata": self.metadata})
        return DIRECTORY_LENGTH.pack(len(directory)) + directory + b"".join(self._parts)


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
        offset, length, compressed, _, raw_length = self.sections[name]
        stored = self._data[offset: offset + length]
        if compressed:
            return decompressor().decompress(stored, max_output_size=raw_length)
        return bytes(stored)

    def array(self, name: str) -> np.ndarray:
        dtype = self.sections[name][3]
        return np.frombuffer(self.bytes(name), dtype=np.dtype(dtype))

    def strings(self, name: str) -> list[str]:
        return decode_strings(self.bytes(name + ".blob"), self.array(name + ".offsets"))
