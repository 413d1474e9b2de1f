"""The shards one worker process hosts: (index uuid, shard number) → ``index.Shard``.

Owned by the worker process; shard_service.py (node-api) opens, uses and closes shards through
it. It must never be touched from the front process, and never opens a shard by itself.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from node.workers.errors import ShardNotHostedError

ShardKey = tuple[str, int]


class ShardRegistry:
    def __init__(self, data_directory: Path, worker_number: int = 0) -> None:
        self.data_directory = Path(data_directory)
        self.worker_number = worker_number
        self.shards: dict[ShardKey, Any] = {}
        # methods run on several threads at once; the dict itself is guarded for put/pop
        self.lock = threading.Lock()

    def shard_path(self, index_uuid: str, shard_number: int) -> Path:
        return self.data_directory / "indices" / index_uuid / str(shard_number)

    def get(self, index_uuid: str, shard_number: int) -> Any:
        shard = self.shards.get((index_uuid, shard_number))
        if shard is None:
            raise ShardNotHostedError(
                f"shard [{shard_number}] of index uuid [{index_uuid}] is not open on worker "
                f"{self.worker_number}")
        return shard

    def put(self, index_uuid: str, shard_number: int, shard: Any) -> None:
        with self.lock:
            self.shards[(index_uuid, shard_number)] = shard

    def pop(self, index_uuid: str, shard_number: int) -> Any | None:
        with self.lock:
            return self.shards.pop((index_uuid, shard_number), None)

    def close_all(self, logger: logging.Logger, flush: bool = True) -> int:
        """Flush (so the next start replays nothing) and close every shard; returns how many
        closed cleanly. A failed flush still closes: the write-ahead log holds the operations."""
        with self.lock:
            shards, self.shards = self.shards, {}
        closed = 0
        for (index_uuid, shard_number), shard in shards.items():
            try:
                if flush:
                    try:
                        shard.flush()
                    except Exception:  # noqa: BLE001 — closing matters more; the log has the ops
                        logger.warning("flushing shard on shutdown failed", exc_info=True, extra={
                            "fields": {"index_uuid": index_uuid, "shard": shard_number}})
                shard.close()
                closed += 1
            except Exception:  # noqa: BLE001 — one bad shard must not keep the others open
                logger.error("closing shard failed", exc_info=True,
                             extra={"fields": {"index_uuid": index_uuid, "shard": shard_number}})
        return closed
