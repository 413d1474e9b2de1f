"""The commit point: the one small file that says which segments make up the shard on disk.

Owns: ``CommitPoint`` (segments with their live-docs generation, the local checkpoint — every
seq_no at or below it is in those segments —, max_seq_no, the translog uuid and generation to
replay from, the mapping version, the next segment number) and its file ``commit.qcp``,
replaced atomically (write temp, fsync, rename, fsync the directory).

Replay starts after ``local_checkpoint``, never after ``max_seq_no``: replicas receive
operations out of order, so the segments can hold seq 10 without seq 9.

Must never: be modified in place, or reference a file that is not yet durable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from index.errors import CorruptedIndexError
from index.format import COMMIT_POINT, encode_checked_file, read_checked_file, replace_file_atomically
from index.segment import live_docs_file_name, segment_file_name

COMMIT_FILE_NAME = "commit.qcp"


@dataclass(frozen=True, slots=True)
class CommittedSegment:
    name: str
    max_doc: int
    live_docs_generation: int      # 0: no deletes file (every non-tombstone doc is live)
    deleted_count: int

    def file_names(self) -> tuple[str, ...]:
        names = [segment_file_name(self.name)]
        if self.live_docs_generation:
            names.append(live_docs_file_name(self.name, self.live_docs_generation))
        return tuple(names)


@dataclass(frozen=True, slots=True)
class CommitPoint:
    generation: int
    segments: tuple[CommittedSegment, ...]
    local_checkpoint: int
    max_seq_no: int
    translog_uuid: str
    translog_generation: int
    mapping_version: int = 0
    next_segment_number: int = 0
    global_checkpoint: int = -1
    user_data: dict = field(default_factory=dict)

    def file_names(self) -> tuple[str, ...]:
        return tuple(name for segment in self.segments for name in segment.file_names())

    def to_json(self) -> dict:
        return {
            "generation": self.generation,
            "segments": [[s.name, s.max_doc, s.live_docs_generation, s.deleted_count] for s in self.segments],
            "local_checkpoint": self.local_checkpoint,
            "max_seq_no": self.max_seq_no,
            "translog_uuid": self.translog_uuid,
            "translog_generation": self.translog_generation,
            "mapping_version": self.mapping_version,
            "next_segment_number": self.next_segment_number,
            "global_checkpoint": self.global_checkpoint,
            "user_data": self.user_data,
        }

    @classmethod
    def from_json(cls, data: dict) -> CommitPoint:
        return cls(
            generation=data["generation"],
            segments=tuple(CommittedSegment(*entry) for entry in data["segments"]),
            local_checkpoint=data["local_checkpoint"],
            max_seq_no=data["max_seq_no"],
            translog_uuid=data["translog_uuid"],
            translog_generation=data["translog_generation"],
            mapping_version=data.get("mapping_version", 0),
            next_segment_number=data.get("next_segment_number", 0),
            global_checkpoint=data.get("global_checkpoint", -1),
            user_data=data.get("user_data", {}),
        )


def write_commit_point(directory: Path, commit: CommitPoint) -> None:
    body = orjson.dumps(commit.to_json())
    replace_file_atomically(Path(directory) / COMMIT_FILE_NAME, encode_checked_file(COMMIT_POINT, body), "commit.rename")


def read_commit_point(directory: Path) -> CommitPoint | None:
    """The current commit point, or None when the shard directory has never been committed."""
    path = Path(directory) / COMMIT_FILE_NAME
    if not path.exists():
        return None
    _, body = read_checked_file(path, COMMIT_POINT)
    try:
        return CommitPoint.from_json(orjson.loads(bytes(body)))
    except (KeyError, TypeError, ValueError) as error:
        raise CorruptedIndexError(f"commit point [{path}] does not decode: {error}", file=str(path)) from None
