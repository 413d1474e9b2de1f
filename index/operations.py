"""The values that describe shard writes and their outcomes (contracts §4).

Owns: the frozen dataclasses node/ builds to drive a shard (IndexOperation, DeleteOperation,
UpdateOperation), the replicated form every copy applies and the write-ahead log stores
(ReplicatedOperation), and what a write returns (OperationResult, StoredDocument).

Also owns ``frozen_dataclass_builder``: a cheap constructor for frozen slotted dataclasses on the
write path's hot loop (ADR 0205) — the instances it returns are of the very same class, equal to
and as immutable as those ``__init__`` builds.

Must never: hold behaviour beyond validation of its own fields; the engine is index/shard.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from index.errors import IndexEngineError

VERSION_TYPES = ("internal", "external", "external_gte")
REPLICATED_KINDS = ("index", "delete", "noop")


@dataclass(frozen=True, slots=True)
class IndexOperation:
    document_id: str | None            # None: the shard generates one (auto-id)
    source: bytes
    op_type: str = "index"             # "index" | "create"
    routing: str | None = None
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    version: int | None = None
    version_type: str = "internal"


@dataclass(frozen=True, slots=True)
class DeleteOperation:
    document_id: str
    routing: str | None = None
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    version: int | None = None
    version_type: str = "internal"


@dataclass(frozen=True, slots=True)
class UpdateOperation:
    document_id: str
    doc: dict[str, Any] | None = None
    upsert: dict[str, Any] | None = None
    doc_as_upsert: bool = False
    detect_noop: bool = True
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    routing: str | None = None


@dataclass(frozen=True, slots=True)
class ReplicatedOperation:
    """An operation as the primary decided it: what replicas apply and the log stores."""

    kind: str                          # "index" | "delete" | "noop"
    seq_no: int
    primary_term: int
    version: int
    document_id: str | None = None
    source: bytes | None = None
    reason: str | None = None          # noop only: why the seq_no was filled
    routing: str | None = None         # index only: the custom routing value, returned as _routing


@dataclass(frozen=True, slots=True)
class OperationResult:
    document_id: str | None
    result: str                        # "created" | "updated" | "deleted" | "not_found" | "noop"
    seq_no: int
    primary_term: int
    version: int
    error: IndexEngineError | None = None
    replicated: ReplicatedOperation | None = None   # what to forward to replicas (None: nothing)
    source: bytes | None = None        # the resulting _source (updates return it for `_source` in get)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    document_id: str
    source: bytes
    seq_no: int
    primary_term: int
    version: int
    routing: str | None = None


@dataclass(frozen=True, slots=True)
class CommitSnapshot:
    """A commit point and the files it needs, pinned (not deleted) while the snapshot is open."""

    directory: Any                     # pathlib.Path of the shard
    commit_file: str                   # file name of the commit point, relative to directory
    files: tuple[str, ...]             # every file name the commit needs, relative to directory
    local_checkpoint: int
    max_seq_no: int


def frozen_dataclass_builder(cls: type) -> Callable[..., Any]:
    """A function taking every field of the frozen, slotted dataclass ``cls`` positionally (no
    defaults) and returning an instance of ``cls`` equal to ``cls(*values)``.

    Why: a frozen dataclass's ``__init__`` stores each field through ``object.__setattr__``
    (measured ~2 µs for 8 fields here, the write path builds three such objects per document).
    The builder fills a mutable twin class with the identical ``__slots__`` layout by plain
    attribute stores and then retypes the object as ``cls`` (CPython allows ``__class__``
    assignment between heap types of the same layout and raises TypeError otherwise, so a layout
    change fails loudly at import). ~4x cheaper; the object is then an ordinary frozen instance.
    """
    names = tuple(field.name for field in fields(cls))
    if tuple(getattr(cls, "__slots__", ())) != names or cls.__setattr__ is object.__setattr__:
        raise TypeError(f"frozen_dataclass_builder expects a frozen dataclass with slots=True, got {cls.__name__}")
    twin = type(f"_Mutable{cls.__name__}", (), {"__slots__": names})
    assignments = "".join(f"    instance.{name} = {name}\n" for name in names)
    source = (f"def build({', '.join(names)}):\n"
              f"    instance = _twin()\n{assignments}"
              f"    instance.__class__ = _cls\n"
              f"    return instance\n")
    namespace: dict[str, Any] = {"_twin": twin, "_cls": cls}
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's own field names only
    build = namespace["build"]
    build.__name__ = f"build_{cls.__name__}"
    build.__doc__ = f"{cls.__name__}({', '.join(names)}) without the frozen __init__'s per-field setattr"
    # fail at import, not on the write path, if the layouts ever stop matching
    probe = build(*([None] * len(names)))
    if type(probe) is not cls:
        raise TypeError(f"frozen_dataclass_builder could not retype a twin as {cls.__name__}")
    return build


build_replicated_operation = frozen_dataclass_builder(ReplicatedOperation)
build_operation_result = frozen_dataclass_builder(OperationResult)
