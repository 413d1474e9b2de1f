"""The one module that defines every file a shard writes.

Owns: the magic bytes of each file kind, the format version written today, the oldest version
this code can still read, the checksum footer, and the helpers that write a file atomically
and read it back verified. Every other storage module (translog, segment, commit point, live
docs) goes through these helpers, so a format change is made here and nowhere else.

Layout of a "checked" file (segment, live docs, commit point, translog checkpoint):

    magic (4 bytes) | format version (uint32 LE) | body ... | crc32 (uint32 LE) | b"QEND"

The crc32 (zlib) covers everything before it. The translog data files share the header but
have no footer: they are appended to, and each record carries its own crc (index/translog).

Must never: import anything above index/ (node, raft, udf), or know what the bodies mean.
"""

from __future__ import annotations

import errno
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from index import failpoints
from index.errors import CorruptedIndexError, StorageError

FORMAT_VERSION = 2   # 2: segment sections may pack integer arrays (index/segment/layout.py, ADR 0285)
OLDEST_READABLE_FORMAT_VERSION = 1

HEADER = struct.Struct("<4sI")
FOOTER = struct.Struct("<I4s")
FOOTER_MAGIC = b"QEND"


@dataclass(frozen=True, slots=True)
class FileKind:
    """One kind of file: its magic bytes and a human name used in error messages."""

    name: str
    magic: bytes


TRANSLOG_DATA = FileKind("translog generation", b"QTLG")
TRANSLOG_CHECKPOINT = FileKind("translog checkpoint", b"QTCK")
SEGMENT = FileKind("segment", b"QSEG")
LIVE_DOCS = FileKind("live docs", b"QLIV")
COMMIT_POINT = FileKind("commit point", b"QCMT")

ALL_FILE_KINDS = (TRANSLOG_DATA, TRANSLOG_CHECKPOINT, SEGMENT, LIVE_DOCS, COMMIT_POINT)


def encode_header(kind: FileKind, version: int = FORMAT_VERSION) -> bytes:
    return HEADER.pack(kind.magic, version)


def check_header(path: Path, kind: FileKind, data: bytes, error_class: type = CorruptedIndexError) -> int:
    """Validate magic and version at the start of ``data``; return the version."""
    if len(data) < HEADER.size:
        raise error_class(
            f"{kind.name} file [{path}] is truncated: expected at least {HEADER.size} header bytes, got {len(data)}",
            file=str(path),
        )
    magic, version = HEADER.unpack_from(data, 0)
    if magic != kind.magic:
        raise error_class(
            f"{kind.name} file [{path}] has wrong magic: expected {kind.magic!r}, got {magic!r}",
            file=str(path),
        )
    if not OLDEST_READABLE_FORMAT_VERSION <= version <= FORMAT_VERSION:
        raise error_class(
            f"{kind.name} file [{path}] has format version {version}: this build reads versions "
            f"{OLDEST_READABLE_FORMAT_VERSION} to {FORMAT_VERSION}",
            file=str(path),
        )
    return version


def encode_checked_file(kind: FileKind, body: bytes, version: int = FORMAT_VERSION) -> bytes:
    """Header + body + crc footer, as one bytes object."""
    head_and_body = encode_header(kind, version) + body
    return head_and_body + FOOTER.pack(zlib.crc32(head_and_body), FOOTER_MAGIC)


def decode_checked_file(path: Path, kind: FileKind, data: bytes | memoryview) -> tuple[int, memoryview]:
    """Verify header and footer of a checked file's bytes; return (version, body view)."""
    data = memoryview(data)
    version = check_header(path, kind, bytes(data[: HEADER.size]))
    if len(data) < HEADER.size + FOOTER.size:
        raise CorruptedIndexError(
            f"{kind.name} file [{path}] is truncated: no checksum footer ({len(data)} bytes)", file=str(path)
        )
    stored_crc, footer_magic = FOOTER.unpack_from(data, len(data) - FOOTER.size)
    if footer_magic != FOOTER_MAGIC:
        raise CorruptedIndexError(
            f"{kind.name} file [{path}] has a bad footer: expected {FOOTER_MAGIC!r}, got {footer_magic!r}",
            file=str(path),
        )
    actual_crc = zlib.crc32(data[: len(data) - FOOTER.size])
    if actual_crc != stored_crc:
        raise CorruptedIndexError(
            f"{kind.name} file [{path}] fails its checksum: expected crc32 {stored_crc:#010x}, got {actual_crc:#010x}",
            file=str(path),
        )
    return version, data[HEADER.size : len(data) - FOOTER.size]


def read_checked_file(path: Path, kind: FileKind) -> tuple[int, memoryview]:
    """Read a whole checked file and verify it; CorruptedIndexError names the file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise CorruptedIndexError(f"{kind.name} file [{path}] is missing", file=str(path)) from None
    except OSError as error:
        raise StorageError(f"cannot read {kind.name} file [{path}]: {error}", file=str(path)) from error
    return decode_checked_file(path, kind, data)


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_file_durably(path: Path, data: bytes, failpoint_name: str = "segment.write", durable: bool = True) -> None:
    """Write a new file (not yet referenced by anything) and, if ``durable``, fsync it (else the
    caller must ``fsync_file`` it before a commit point names it). StorageError on failure."""
    try:
        failpoints.check(failpoint_name)
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
    except OSError as error:
        _remove_quietly(path)
        raise StorageError(f"cannot write file [{path}]: {error}", file=str(path)) from error


def replace_file_atomically(path: Path, data: bytes, failpoint_name: str = "commit.rename") -> None:
    """Write temp, fsync, rename over ``path``, fsync the directory: readers see old or new, never half."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        failpoints.check(failpoint_name + ".write")
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        failpoints.check(failpoint_name)
        os.replace(temporary, path)
        fsync_directory(path.parent)
    except OSError as error:
        _remove_quietly(temporary)
        raise StorageError(f"cannot replace file [{path}]: {error}", file=str(path)) from error


def write_checked_file(path: Path, kind: FileKind, body: bytes, failpoint_name: str = "segment.write",
                       durable: bool = True) -> int:
    """Write a new checked file (fsynced if ``durable``); return its size in bytes."""
    data = encode_checked_file(kind, body)
    write_file_durably(path, data, failpoint_name, durable)
    return len(data)


def fsync_file(path: Path, failpoint_name: str = "segment.fsync") -> None:
    """fsync a file written earlier without it. StorageError naming the file on failure."""
    try:
        failpoints.check(failpoint_name)
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as error:
        raise StorageError(f"cannot fsync file [{path}]: {error}", file=str(path)) from error


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno == errno.ENOSPC
