"""Which shard copies this node holds on disk, by allocation id — reported to the master.

When the master loses every in-sync copy of a shard (its node died), the shard stays red until a
node reports holding one of the in-sync copies (raft.allocation restores exactly that copy as
primary — never an empty one). A node learns which allocation id its copy has from the applied
cluster state; after the master fails the copy, the state no longer says so, so the node keeps
its own record in <data>/held_copies.json, updated whenever an applied state assigns it a copy.
A copy is reported only while its directory (<data>/indices/<uuid>/<n>) exists and its index
still exists in the state.

Each report also says whether that directory holds data of a copy that was STARTED here at some
point (``holds_started_data``, sticky per shard until the index is deleted): the master gives a
replica back to such a node rather than recovering one from nothing elsewhere (ADR 0270) — the
copy it holds replays only the operations it missed. A copy that was only ever INITIALIZING here
(a recovery cut short) does not count, so two nodes can never keep taking a shard from each other.

This module must never open, delete or touch shard data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson

from raft.allocation import ReportedCopy

HELD_COPIES_FILE_NAME = "held_copies.json"


class HeldCopies:
    def __init__(self, data_directory: Path, node_id: str, logger: logging.Logger) -> None:
        self.data_directory = Path(data_directory)
        self.node_id = node_id
        self.logger = logger
        self.path = self.data_directory / HELD_COPIES_FILE_NAME
        # "<index uuid>/<shard number>" → allocation id
        self.allocation_ids: dict[str, str] = {}
        # the keys whose directory holds data of a copy that was started on this node
        self.started_keys: set[str] = set()
        self._load()

    def _load(self) -> None:
        try:
            loaded = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, orjson.JSONDecodeError) as error:
            self.logger.warning("ignoring unreadable held copies file", extra={"fields": {
                "file": str(self.path), "error": str(error)}})
            return
        if not isinstance(loaded, dict):
            return
        for key, value in loaded.items():
            # older files map key → allocation id; newer ones key → {"allocation_id", "started"}
            if isinstance(value, dict):
                if value.get("allocation_id") is None:
                    continue
                self.allocation_ids[str(key)] = str(value["allocation_id"])
                if value.get("started"):
                    self.started_keys.add(str(key))
            else:
                self.allocation_ids[str(key)] = str(value)

    def _save(self) -> None:
        document = {key: {"allocation_id": allocation_id, "started": key in self.started_keys}
                    for key, allocation_id in self.allocation_ids.items()}
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_bytes(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
        os.replace(temporary, self.path)

    def on_state_applied(self, previous: Any, state: Any) -> None:
        """Record every copy the state assigns to this node (a quick, synchronous callback)."""
        changed = False
        for index_name, shards in state.routing_table.items():
            index = state.indices.get(index_name)
            if index is None:
                continue
            for shard in shards:
                for shard_copy in shard.copies:
                    if shard_copy.node_id != self.node_id or shard_copy.allocation_id is None:
                        continue
                    key = f"{index.uuid}/{shard.shard_number}"
                    if self.allocation_ids.get(key) != shard_copy.allocation_id:
                        self.allocation_ids[key] = shard_copy.allocation_id
                        changed = True
                    if shard_copy.state in ("STARTED", "RELOCATING") and key not in self.started_keys:
                        self.started_keys.add(key)
                        changed = True
        # Forget only indices seen deleted (present before, gone now). Never infer deletion from
        # absence: at start-up the first state can be empty until Raft has replayed its journal.
        previous_uuids = {index.uuid for index in previous.indices.values()} if previous is not None else set()
        deleted_uuids = previous_uuids - {index.uuid for index in state.indices.values()}
        for key in [key for key in self.allocation_ids if key.split("/", 1)[0] in deleted_uuids]:
            del self.allocation_ids[key]
            self.started_keys.discard(key)
            changed = True
        if changed:
            try:
                self._save()
            except OSError as error:
                self.logger.warning("cannot save held copies", extra={"fields": {
                    "file": str(self.path), "error": str(error)}})

    def reported_copies(self, state: Any) -> list[ReportedCopy]:
        names_by_uuid = {index.uuid: name for name, index in state.indices.items()}
        reported = []
        for key, allocation_id in sorted(self.allocation_ids.items()):
            index_uuid, _, shard_text = key.partition("/")
            index_name = names_by_uuid.get(index_uuid)
            if index_name is None:
                continue
            if not (self.data_directory / "indices" / index_uuid / shard_text).is_dir():
                continue
            reported.append(ReportedCopy(index_name=index_name, shard_number=int(shard_text),
                                         allocation_id=allocation_id,
                                         holds_started_data=key in self.started_keys))
        return reported

    def to_wire(self, state: Any) -> list[dict]:
        return [{"index_name": copy.index_name, "shard_number": copy.shard_number,
                 "allocation_id": copy.allocation_id, "holds_started_data": copy.holds_started_data}
                for copy in self.reported_copies(state)]


def reported_copies_from_wire(items: Any) -> list[ReportedCopy]:
    copies = []
    for item in items or ():
        try:
            copies.append(ReportedCopy(index_name=str(item["index_name"]),
                                       shard_number=int(item["shard_number"]),
                                       allocation_id=str(item["allocation_id"]),
                                       # absent from an older node's report: not known to hold data
                                       holds_started_data=item.get("holds_started_data") is True))
        except (KeyError, TypeError, ValueError):
            continue  # a malformed report is ignored, never fatal
    return copies
