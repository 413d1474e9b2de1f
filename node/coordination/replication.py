"""Primary–replica replication and peer recovery by operations (DESIGN §5, §10).

Owns, on the node holding a primary: ``primary_write`` — run the batch on the local worker
(which assigns seq_nos under the shard's primary term and makes it durable), forward exactly
what it applied to every started replica copy and to copies in recovery, and acknowledge only
when every in-sync copy answered; a started copy that did not answer is removed from the in-sync
set through Raft (``RemoveFromInSync``, fenced by the primary term the write ran under) BEFORE the
acknowledgement, and if that cannot be committed the write fails.
On the node holding a replica: ``shard/replicate`` applies forwarded operations (after the
mapping version the primary used is applied here), and recovery — open the copy, register with
the primary as "recovering" (so new writes reach it), fetch the history above the copy's local
checkpoint, apply it, then ``StartCopy``.

The global checkpoint (minimum local checkpoint over the in-sync copies that confirmed a write)
is computed here and piggybacked on the next write to the primary and to the replicas; when no
write follows within GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS, it is sent on its own (an empty
``shard/replicate`` to the replicas, ``set_global_checkpoint`` to the primary's worker), as
OpenSearch's global checkpoint sync does — so after a burst every copy knows the final one, and a
copy restarted later has nothing above it to roll back (ADR 0294).

When the primary's log no longer holds that history, recovery is by files: the primary's node
pins its last commit, pushes the files in chunks, the target installs them (with a fresh log)
and reopens, and the history above the commit follows while the commit is still pinned.

On promotion (this node's replica became primary under a new term) the new primary fills its
seq_no gaps with no-ops and resyncs every other started copy from the global checkpoint up
(each rolls back above it, then applies the new primary's operations re-stamped with the new
term) before it takes writes; a copy that cannot be resynced is failed through Raft.

A primary reopened as the same STARTED primary (its process restarted before the master failed
it), or one whose ``write`` worker call failed with an unknown outcome, catches its started
replicas up from their local checkpoints (ADR 0225). The primary's node also sets its worker's
retention floor — min(global checkpoint, each registered recovery's start) — so the log keeps the
history its copies will ask for (ADR 0226). Each node keeps a ``RecoveryProgress`` record per copy
it holds (type, stage, files/bytes, operations, times), served by ``recovery/progress`` to
``_recovery`` and ``_cat/recovery`` (ADR 0227).

Transport methods: ``shard/write`` (coordinator → primary node), ``shard/replicate`` (primary →
replica node), ``shard/recover`` (replica node → primary node), ``recovery/progress``. It must
never acknowledge a write an in-sync copy did not confirm unless that copy's removal was
committed first.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import trio

from node.cluster.errors import ClusterError, PrimaryMovedError
from node.errors import ApiError
from raft.commands import RemoveFromInSync, StartCopy

PRIMARY_WRITE_METHOD = "shard/write"
REPLICATE_METHOD = "shard/replicate"
RECOVER_METHOD = "shard/recover"
REPLICATION_TIMEOUT_SECONDS = 30.0
MAPPING_WAIT_SECONDS = 10.0
FAIL_COPY_DEADLINE_SECONDS = 20.0
# node-core's peer connections have a channel for primary→replica and recovery traffic, so big
# frames never delay the master's pings (contracts §8)
REPLICATION_CHANNEL = "replication"
RESYNC_METHOD = "shard/resync"
WRITES_ALLOWED_WAIT_SECONDS = 30.0
RECOVER_FILES_METHOD = "shard/recover_files"
RECOVERY_FINALIZE_METHOD = "shard/recovery_finalize"
RECOVERY_CHUNK_METHOD = "shard/recovery_chunk"
RECOVERY_INSTALL_METHOD = "shard/recovery_install"
RECOVERY_CHUNK_BYTES = 8 * 1024 * 1024
FILE_RECOVERY_TIMEOUT_SECONDS = 600.0
RETENTION_FLOOR_INTERVAL_SECONDS = 2.0
# above this many operations past its global checkpoint, a recovering copy is rolled back without
# first reading its own log to see whether it may keep them
KEEP_CHECK_MAX_OPERATIONS = 200_000
# a write's global checkpoint reaches the copies on the next write; after this long without one it
# is sent on its own (ADR 0294)
GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS = 1.0
RETENTION_REPUSH_ROUNDS = 15


def reject_older_primary_term(state: Any, index_uuid: str, shard_number: int, primary_term: int | None) -> None:
    """Raise stale_primary_term_exception when the cluster state applied here already names a newer
    primary term for the shard than the one a forwarded write ran under (DESIGN §10): the sender
    is a deposed primary, and the failed forward makes it fail the write instead of acknowledging."""
    if primary_term is None:
        return
    index = state.index_by_uuid(index_uuid)
    if index is None:
        return
    shards = state.routing_table.get(index.name, ())
    if shard_number < len(shards) and shards[shard_number].primary_term > int(primary_term):
        raise ApiError(f"[{index.name}][{shard_number}] operation primary term [{primary_term}] is older than the "
                       f"current primary term [{shards[shard_number].primary_term}]",
                       opensearch_type="stale_primary_term_exception")


RECOVERY_PROGRESS_METHOD = "recovery/progress"
RECOVERY_STAGES = ("INIT", "INDEX", "VERIFY_INDEX", "TRANSLOG", "FINALIZE", "DONE")


def epoch_millis() -> int:
    return int(time.time() * 1000)


@dataclasses.dataclass
class RecoveryProgress:
    """How one copy on this node came to be (OpenSearch's RecoveryState): kept by the target node
    from the moment it opens the copy until the copy leaves the node. Mutable on purpose: it is a
    progress counter updated as the recovery moves, and read (as ``to_wire``) by the APIs."""
    index_uuid: str
    shard_number: int
    allocation_id: str
    primary: bool
    recovery_type: str                 # PEER | EXISTING_STORE | EMPTY_STORE
    target_node_id: str
    source_node_id: str | None = None
    stage: str = "INIT"
    start_time_millis: int = dataclasses.field(default_factory=epoch_millis)
    stop_time_millis: int | None = None
    files_total: int = 0
    files_recovered: int = 0
    bytes_total: int = 0
    bytes_recovered: int = 0
    operations_total: int = 0
    operations_recovered: int = 0
    index_time_millis: int = 0
    translog_time_millis: int = 0
    stage_started_millis: int = dataclasses.field(default_factory=epoch_millis)

    def move_to(self, stage: str) -> None:
        """Enter ``stage``; the time spent in INDEX / TRANSLOG is accumulated per stage."""
        now = epoch_millis()
        if self.stage == "INDEX":
            self.index_time_millis += now - self.stage_started_millis
        elif self.stage == "TRANSLOG":
            self.translog_time_millis += now - self.stage_started_millis
        self.stage = stage
        self.stage_started_millis = now
        if stage == "DONE":
            self.stop_time_millis = now

    def to_wire(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class PrimaryCatchUpError(Exception):
    """The primary could not read its own history while catching a replica up: the replica is not
    to blame and stays in sync (nothing is known to be missing on it)."""


class Replication:
    def __init__(self, context: Any, director: Any) -> None:
        self.context = context
        self.director = director
        self.logger: logging.Logger = getattr(context, "logger", None) or logging.getLogger("api.replication")
        # (index_uuid, shard_number) → allocation ids of copies recovering from a primary held here
        self.recovering: dict[tuple[str, int], set[str]] = {}
        # (index_uuid, shard_number) → the global checkpoint this primary computed last: the minimum
        # local checkpoint over the in-sync copies that confirmed; piggybacked on the next writes
        self.global_checkpoints: dict[tuple[str, int], int] = {}
        # shards whose started replicas are being caught up after a write of unknown outcome
        self.catching_up: set[tuple[str, int]] = set()
        # (index_uuid, shard_number) → allocation id → the seq_no a recovering copy asked history
        # above; with the global checkpoint it sets the primary's retention floor (ADR 0226)
        self.recovery_floors: dict[tuple[str, int], dict[str, int]] = {}
        # (index_uuid, shard_number) → how the copy this node holds of that shard was recovered
        self.recoveries: dict[tuple[str, int], RecoveryProgress] = {}
        # (index_uuid, shard_number) → (the LocalShard it was told to, the floor, rounds since)
        self.pushed_retention_floors: dict[tuple[str, int], tuple[Any, int | None, int]] = {}
        # (index_uuid, shard_number) → the global checkpoint last sent on its own; shards with a
        # sync waiting (ADR 0294)
        self.synced_global_checkpoints: dict[tuple[str, int], int] = {}
        self.global_checkpoint_syncs_waiting: set[tuple[str, int]] = set()
        self.last_global_checkpoint_updates: dict[tuple[str, int], float] = {}
        # (index_uuid, shard_number) → primary writes running now / started ever; a global
        # checkpoint sync that saw neither change knows no operation was between primary and copies
        self.writes_in_flight: dict[tuple[str, int], int] = {}
        self.writes_started: dict[tuple[str, int], int] = {}
        # (index_uuid, shard_number) → the primary's own local checkpoint after its latest write
        self.primary_local_checkpoints: dict[tuple[str, int], int] = {}

    def attach(self) -> None:
        handlers = getattr(self.context, "transport_handlers", None)
        if handlers is None:
            return
        handlers.register(PRIMARY_WRITE_METHOD, self.handle_primary_write)
        handlers.register(REPLICATE_METHOD, self.handle_replicate)
        handlers.register(RECOVER_METHOD, self.handle_recover)
        handlers.register(RECOVER_FILES_METHOD, self.handle_recover_files)
        handlers.register(RESYNC_METHOD, self.handle_resync)
        handlers.register(RECOVERY_FINALIZE_METHOD, self.handle_recovery_finalize)
        handlers.register(RECOVERY_CHUNK_METHOD, self.handle_recovery_chunk)
        handlers.register(RECOVERY_INSTALL_METHOD, self.handle_recovery_install)
        handlers.register(RECOVERY_PROGRESS_METHOD, self.handle_recovery_progress)

    async def handle_recovery_progress(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        """``recovery/progress``: every recovery record of the copies this node holds."""
        return {"recoveries": [record.to_wire() for record in self.recoveries.values()]}, b""

    def begin_recovery_record(self, local: Any, recovery_type: str, source_node_id: str | None = None
                              ) -> RecoveryProgress:
        record = RecoveryProgress(index_uuid=local.index_uuid, shard_number=local.shard_number,
                                  allocation_id=local.allocation_id, primary=bool(local.primary),
                                  recovery_type=recovery_type, target_node_id=self.context.node_id,
                                  source_node_id=source_node_id)
        self.recoveries[(local.index_uuid, local.shard_number)] = record
        return record

    def recovery_record(self, local: Any) -> RecoveryProgress | None:
        """The record of ``local`` (None when another copy of the shard replaced it here)."""
        record = self.recoveries.get((local.index_uuid, local.shard_number))
        if record is None or record.allocation_id != local.allocation_id:
            return None
        return record

    def forget_recovery_record(self, local: Any) -> None:
        if self.recovery_record(local) is not None:
            del self.recoveries[(local.index_uuid, local.shard_number)]

    # ------------------------------------------------------------------ primary side

    async def handle_primary_write(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        state = self.context.metadata.state
        index = state.index_by_uuid(payload["index_uuid"])
        if index is None:
            from node.errors import IndexNotFoundError

            raise IndexNotFoundError(payload.get("index_name", payload["index_uuid"]))
        shard_number = int(payload["shard_number"])
        shard = state.routing_table[index.name][shard_number]
        primary = shard.primary()
        if primary is None or primary.node_id != self.context.node_id:
            raise PrimaryMovedError(f"[{index.name}][{shard_number}] this node no longer holds the primary")
        return await self.primary_write(index, shard, payload["payload"], body)

    async def primary_write(self, index: Any, shard: Any, payload: dict, body: bytes) -> tuple[dict, bytes]:
        key = (index.uuid, shard.shard_number)
        local = self.director.local.get(key)
        if local is not None and not local.writes_allowed.is_set():
            with trio.move_on_after(WRITES_ALLOWED_WAIT_SECONDS):
                await local.writes_allowed.wait()
            if not local.writes_allowed.is_set():
                raise ApiError(f"[{index.name}][{shard.shard_number}] the new primary is still resyncing its copies",
                               opensearch_type="unavailable_shards_exception")
        return await self.run_to_completion(self._apply_and_replicate, index, shard, payload, body, key, local)

    async def run_to_completion(self, function: Any, *args: Any) -> Any:
        """Run ``function(*args)`` so that cancelling the caller does not cancel it, and wait for
        its outcome. A batch handed to the primary's worker must reach every copy, or the copies it
        missed must be failed, whatever happens to the request that asked for it: quart-trio
        cancels a request's handler when its HTTP client disconnects, and the transport cancels a
        handler whose connection drops. Cancelled between the worker's apply and the forwards, the
        operations stayed on the primary alone and left a hole in every replica that no later write
        filled (jepsen-lite seed 1861254742; ADR 0333). A cancelled caller only stops waiting.
        Runs in the node's background nursery, so a node that stops still stops (its restart
        catches the replicas up, ADR 0225); shielded where there is none (in-process tests)."""
        background = getattr(self.context, "background", None)
        if background is None:
            with trio.CancelScope(shield=True):
                return await function(*args)
        finished = trio.Event()
        outcome: dict[str, Any] = {}

        async def run() -> None:
            try:
                outcome["value"] = await function(*args)
            except Exception as error:  # noqa: BLE001 — handed to the caller below, who raises it
                outcome["error"] = error
                if "caller_gone" in outcome:
                    self.logger.warning("a primary write whose caller had gone failed", extra={"fields": {
                        "error": f"{type(error).__name__}: {getattr(error, 'reason', error)}"}})
            finally:
                finished.set()

        background.start_soon(run)
        try:
            await finished.wait()
        except trio.Cancelled:
            outcome["caller_gone"] = True
            raise
        if "error" in outcome:
            raise outcome["error"]
        if "value" not in outcome:
            raise ApiError("the node is shutting down: the write's outcome is unknown",
                           opensearch_type="node_closed_exception", status=503)
        return outcome["value"]

    async def _apply_and_replicate(self, index: Any, shard: Any, payload: dict, body: bytes,
                                   key: tuple[str, int], local: Any) -> tuple[dict, bytes]:
        """Apply the batch on the primary's worker and forward it to every copy (failing the ones
        that do not confirm); counted in ``writes_in_flight`` while it runs."""
        self.writes_in_flight[key] = self.writes_in_flight.get(key, 0) + 1
        self.writes_started[key] = self.writes_started.get(key, 0) + 1
        try:
            return await self._apply_and_forward(index, shard, payload, body, key, local)
        finally:
            self.writes_in_flight[key] -= 1

    async def _apply_and_forward(self, index: Any, shard: Any, payload: dict, body: bytes,
                                 key: tuple[str, int], local: Any) -> tuple[dict, bytes]:
        # the worker must hand back the operations whenever some copy may need them: any assigned
        # replica in the routing entry, or a copy registered as recovering (ADR 0170)
        might_replicate = bool(self.recovering.get(key)) or any(
            not copy.primary and copy.node_id is not None for copy in shard.copies)
        payload = {**payload, "primary_term": shard.primary_term, "replicate": might_replicate}
        if key in self.global_checkpoints:
            payload["global_checkpoint"] = self.global_checkpoints[key]
        try:
            answer, answer_body = await self.context.workers.call(index.uuid, shard.shard_number, "write", payload,
                                                                  body)
        except Exception as error:
            # the outcome is unknown (the worker may have died after fsyncing the batch and before
            # answering): what it applied was never forwarded, so catch the replicas up — unless
            # this node is stopping (its worker refuses every call; the restart catches up instead)
            if "shutting down" not in str(getattr(error, "reason", None) or error):
                self.start_background_catch_up(local, "a primary write failed with an unknown outcome")
            raise
        # The replication group is sampled only AFTER the primary applied the operations (as
        # OpenSearch's ReplicationOperation does). Sampled before, a copy that registered as
        # recovering while the worker was applying could read a history without these operations
        # and never be sent them, then start in-sync without an acknowledged write (ADR 0170).
        replicas = self.replication_targets(index, shard, key)
        operations = answer.pop("replicated", None)
        if "results" in answer and not operations and not might_replicate:
            # a copy appeared during the write and the worker kept no operations to send it: it
            # must not finish this recovery, so it starts over and reads them from the history
            for shard_copy in replicas:
                self.recovering.get(key, set()).discard(shard_copy.allocation_id)
        if "results" not in answer or not operations:
            return answer, answer_body
        replicated_length = sum(int(header[5]) for header in operations)
        results_body = answer_body[:len(answer_body) - replicated_length]
        replicated_body = answer_body[len(answer_body) - replicated_length:]
        failed: list[tuple[Any, str]] = []
        checkpoints = [int(answer.pop("local_checkpoint", -1))]
        self.primary_local_checkpoints[key] = max(self.primary_local_checkpoints.get(key, -1), checkpoints[0])

        async def forward(shard_copy: Any) -> None:
            try:
                confirmed = await self.send_operations(index, shard.shard_number, shard_copy, operations,
                                                       replicated_body, self.global_checkpoints.get(key),
                                                       payload.get("refresh"), shard.primary_term)
                if shard_copy.state in ("STARTED", "RELOCATING"):
                    checkpoints.append(int(confirmed.get("local_checkpoint", -1)))
            except Exception as error:  # noqa: BLE001 — the copy is failed below before acknowledging
                failed.append((shard_copy, f"{type(error).__name__}: {getattr(error, 'reason', error)}"))

        from node import testing_settings

        if testing_settings.unsafe_ack_before_replication():
            # TEST-ONLY, deliberately broken (QUIDDITCH_TEST_UNSAFE_ACK_BEFORE_REPLICATION): forward in
            # the background and acknowledge now, so jepsen-lite can show the suite catches it
            for shard_copy in replicas:
                self.context.background.start_soon(forward, shard_copy)
            answer["successful_copies"], answer["failed_copies"] = 1 + len(replicas), 0
            return answer, results_body
        async with trio.open_nursery() as nursery:
            for shard_copy in replicas:
                nursery.start_soon(forward, shard_copy)
        metrics = getattr(self.context, "metrics", None)
        lost_in_sync = []
        for shard_copy, reason in failed:
            if metrics is not None:
                metrics.replica_write_failures.inc()
            # a recovering copy that missed a write must not be started later either: it goes too
            self.recovering.get(key, set()).discard(shard_copy.allocation_id)
            self.logger.warning("replica did not confirm a write; removing it from the in-sync set before "
                                "acknowledging", extra={"fields": {
                                    "index": index.name, "shard": shard.shard_number,
                                    "allocation_id": shard_copy.allocation_id, "reason": reason}})
            lost_in_sync.append(shard_copy.allocation_id)
        if lost_in_sync:
            # fenced by the term this write ran under: a deposed primary's removal is rejected, and
            # then its write is not acknowledged (DESIGN §10, "no acknowledgement without the master")
            outcome = await self.commit_until_known(RemoveFromInSync(
                index_name=index.name, shard_number=shard.shard_number, allocation_ids=tuple(lost_in_sync),
                primary_term=shard.primary_term))
            if outcome is None or not (outcome.accepted or outcome.duplicate):
                raise ApiError(f"[{index.name}][{shard.shard_number}] a replica did not confirm the write and could "
                               f"not be removed from the in-sync set: {getattr(outcome, 'reason', 'no outcome')}",
                               opensearch_type="unavailable_shards_exception")
        if not failed:
            self.global_checkpoints[key] = max(self.global_checkpoints.get(key, -1), min(checkpoints))
            if metrics is not None:
                metrics.replication_lag_operations.labels(index.name, str(shard.shard_number)).set(
                    max(checkpoints) - self.global_checkpoints[key])
            self.schedule_global_checkpoint_sync(key)
        answer["successful_copies"] = 1 + len(replicas) - len(failed)
        answer["failed_copies"] = len(failed)
        return answer, results_body

    def schedule_global_checkpoint_sync(self, key: tuple[str, int]) -> None:
        """Send this primary's global checkpoint to every copy once no write has carried it for
        GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS (one waiting sync per shard; it sends the newest)."""
        background = getattr(self.context, "background", None)
        if background is None:
            return
        self.last_global_checkpoint_updates[key] = trio.current_time()
        if key in self.global_checkpoint_syncs_waiting:
            return
        self.global_checkpoint_syncs_waiting.add(key)
        background.start_soon(self._sync_global_checkpoint_later, key)

    async def _sync_global_checkpoint_later(self, key: tuple[str, int]) -> None:
        try:
            while True:   # until a whole delay passed without a write (which carries it itself)
                remaining = (self.last_global_checkpoint_updates.get(key, 0.0) + GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS
                             - trio.current_time())
                if remaining <= 0:
                    break
                await trio.sleep(remaining)
        finally:
            self.global_checkpoint_syncs_waiting.discard(key)
        try:
            await self.sync_global_checkpoint(key)
        except Exception as error:  # noqa: BLE001 — only an optimisation: the next write carries it anyway
            self.logger.debug("global checkpoint sync failed", extra={"fields": {
                "shard": list(key), "error": f"{type(error).__name__}: {error}"}})

    async def sync_global_checkpoint(self, key: tuple[str, int]) -> bool:
        """Send the global checkpoint this primary computed to its own worker and to every copy a
        write would reach (through ``shard/replicate`` with no operations: the same fencing by
        primary term and allocation id as a write). Each answers its local checkpoint; when the
        primary and every started copy answered, their minimum is the global checkpoint now — a
        write's own minimum can lag when concurrent writes' forwards finish out of order — and, if
        higher, it is sent once more. True if anything was sent. Nothing when this node no longer
        holds the primary, or the copies already have the value."""
        sent = False
        for _ in range(2):
            global_checkpoint = self.global_checkpoints.get(key)
            if global_checkpoint is None:
                return sent
            # a global checkpoint below the primary's own local checkpoint means some copy lags:
            # the round is run again even when the copies already have the value, to find out why
            lagging = self.primary_local_checkpoints.get(key, -1) > global_checkpoint
            if not sent and not lagging and global_checkpoint <= self.synced_global_checkpoints.get(key, -1):
                return sent
            state = self.context.metadata.state
            index = state.index_by_uuid(key[0])
            local = self.director.local.get(key)
            if index is None or local is None or not local.primary or key[1] >= len(state.routing_table[index.name]):
                return sent
            shard = state.routing_table[index.name][key[1]]
            primary = shard.primary()
            if primary is None or primary.node_id != self.context.node_id or primary.allocation_id != local.allocation_id:
                return sent
            quiet = self.writes_in_flight.get(key, 0) == 0
            writes_started = self.writes_started.get(key, 0)
            checkpoints = await self._send_global_checkpoint(index, shard, key, global_checkpoint)
            sent = True
            if checkpoints is None:
                return sent
            quiet = quiet and self.writes_in_flight.get(key, 0) == 0 and self.writes_started.get(key, 0) == writes_started
            if quiet and min(checkpoints) < checkpoints[0]:
                # no write was between the primary and its copies, yet a started copy's local
                # checkpoint is below the primary's: it misses an operation nothing will resend
                # (ADR 0333). Catch it up from the primary's history; that reschedules this sync.
                self.start_background_catch_up(local, "a started replica's local checkpoint stayed below the "
                                                      "primary's with no write in flight")
                return sent
            self.synced_global_checkpoints[key] = max(self.synced_global_checkpoints.get(key, -1), global_checkpoint)
            if min(checkpoints) <= global_checkpoint:
                return sent
            self.global_checkpoints[key] = max(self.global_checkpoints.get(key, -1), min(checkpoints))
        return sent

    async def _send_global_checkpoint(self, index: Any, shard: Any, key: tuple[str, int],
                                      global_checkpoint: int) -> list[int] | None:
        """One round of ``sync_global_checkpoint``: the local checkpoints of the primary and of every
        started copy (None when one of them did not answer)."""
        answer, _ = await self.context.workers.call(key[0], key[1], "set_global_checkpoint",
                                                    {"global_checkpoint": global_checkpoint})
        checkpoints = [int(answer["local_checkpoint"])]
        failures = []

        async def send(shard_copy: Any) -> None:
            try:
                confirmed = await self.send_operations(index, key[1], shard_copy, [], b"", global_checkpoint, None,
                                                       shard.primary_term)
                if shard_copy.state in ("STARTED", "RELOCATING"):
                    checkpoints.append(int(confirmed.get("local_checkpoint", -1)))
            except Exception as error:  # noqa: BLE001 — a copy that misses it hears it with the next write
                failures.append(error)

        async with trio.open_nursery() as nursery:
            for shard_copy in self.replication_targets(index, shard, key):
                nursery.start_soon(send, shard_copy)
        return None if failures else checkpoints

    def replication_targets(self, index: Any, shard: Any, key: tuple[str, int]) -> list:
        """The copies a write applied on this primary must reach, read from the cluster state
        applied NOW (after the primary applied it): every started replica, and every copy
        registered here as recovering. A copy started meanwhile is in the newer state; the older
        routing entry ``shard`` (the one the write ran under) supplies started copies otherwise."""
        current_shards = self.context.metadata.state.routing_table.get(index.name, ())
        current = current_shards[shard.shard_number] if shard.shard_number < len(current_shards) else shard
        registered = self.recovering.get(key, ())
        targets: dict[str, Any] = {}
        for routing_entry in (shard, current):
            for shard_copy in routing_entry.copies:
                if (not shard_copy.primary and shard_copy.node_id is not None
                        and (shard_copy.state in ("STARTED", "RELOCATING") or shard_copy.allocation_id in registered)):
                    targets[shard_copy.allocation_id] = shard_copy
        return list(targets.values())

    def copy_removal_deadline_seconds(self) -> float:
        """``quidditch.replication.copy_removal_timeout`` (cluster setting, default 20s): how long a
        primary keeps trying to learn the outcome of removing a copy before failing the write."""
        from node.coordination.values import parse_time_seconds

        raw = self.context.metadata.state.setting("quidditch.replication.copy_removal_timeout")
        try:
            seconds = parse_time_seconds(raw, "quidditch.replication.copy_removal_timeout") if raw else None
        except ApiError:
            seconds = None
        return FAIL_COPY_DEADLINE_SECONDS if seconds is None else seconds

    async def commit_until_known(self, command: Any) -> Any:
        """Submit ``command`` until its outcome is known; an unknown outcome (leader change,
        deadline) is resubmitted with the SAME command id, which raft deduplicates. None when no
        outcome could be learned within copy_removal_deadline_seconds(): the caller must not acknowledge."""
        from node.cluster.errors import ClusterError

        deadline = trio.current_time() + self.copy_removal_deadline_seconds()
        while trio.current_time() < deadline:
            remaining = deadline - trio.current_time()
            try:
                return await self.context.metadata.submit(command, max(1.0, min(10.0, remaining)))
            except ClusterError as error:
                self.logger.warning("a replication command's outcome is not known yet; resubmitting", extra={
                    "fields": {"command": command.command_type, "error": str(error)}})
                await trio.sleep(0.5)
        return None

    async def send_operations(self, index: Any, shard_number: int, shard_copy: Any, operations: list,
                              body: bytes, global_checkpoint: int | None = None, refresh: str | None = None,
                              primary_term: int | None = None) -> dict:
        node = self.context.metadata.state.nodes.get(shard_copy.node_id)
        if node is None:
            raise ApiError(f"node [{shard_copy.node_id}] is not in the cluster", opensearch_type="node_not_connected_exception")
        request = {"index_uuid": index.uuid, "shard_number": shard_number, "allocation_id": shard_copy.allocation_id,
                   "mapping_version": index.mapping_version, "operations": operations,
                   "global_checkpoint": global_checkpoint, "refresh": refresh, "primary_term": primary_term}
        if shard_copy.node_id == self.context.node_id:
            answer, _ = await self.handle_replicate(request, body)
            return answer
        answer, _ = await self.context.peers.request(node.transport_address, REPLICATE_METHOD, request, body,
                                                     REPLICATION_TIMEOUT_SECONDS,
                                                     channel=REPLICATION_CHANNEL)
        return answer

    async def handle_recover(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        """A replica asks for the history above its local checkpoint; from now on it also gets
        every new write (registered before the history is read, so nothing falls between)."""
        key = (payload["index_uuid"], int(payload["shard_number"]))
        local = self.director.local.get(key)
        if local is None or not local.primary:
            raise ApiError(f"shard [{key[1]}] of index uuid [{key[0]}] has no primary on node "
                           f"[{self.context.node_id}]", opensearch_type="shard_not_found_exception")
        # a primary still opening here (this node just restarted or just got it) answers once open,
        # instead of failing the attempt and making the copy sleep before the next one
        await self._wait_until_open(local)
        self.recovering.setdefault(key, set()).add(payload["allocation_id"])
        self.recovery_floors.setdefault(key, {})[payload["allocation_id"]] = int(payload["from_seq_no"])
        # a retry of this recovery asks again from the same seq_no: keep the log from there
        try:
            await self.push_retention_floor(local)
        except Exception as error:  # noqa: BLE001 — the history is read now; only a retry could need it
            self.logger.warning("setting the retention floor for a recovery failed", extra={"fields": {
                "shard": key[1], "error": f"{type(error).__name__}: {error}"}})
        try:
            return await self.context.workers.call(key[0], key[1], "history",
                                                   {"from_seq_no": int(payload["from_seq_no"])})
        except Exception as error:  # noqa: BLE001 — "not retained" means: recover by files instead
            if getattr(error, "error_type", type(error).__name__) != "OperationsNotRetainedError":
                raise
            self.recovering[key].discard(payload["allocation_id"])
            return {"not_retained": True, "reason": getattr(error, "reason", str(error))}, b""

    # ------------------------------------------------------------------ retention (ADR 0226)

    def retention_floor(self, key: tuple[str, int]) -> int | None:
        """The seq_no above which this primary's log must keep every operation: the minimum of the
        global checkpoint (every in-sync copy holds everything at or below it, so none of them can
        need less) and the seq_no each copy registered as recovering asked history above. None
        while neither is known (the log then trims by its own settings only)."""
        candidates = []
        if key in self.global_checkpoints:
            candidates.append(self.global_checkpoints[key])
        registered = self.recovering.get(key, set())
        candidates.extend(seq_no for allocation_id, seq_no in self.recovery_floors.get(key, {}).items()
                          if allocation_id in registered)
        return min(candidates) if candidates else None

    def forget_recovery_floors(self, key: tuple[str, int], still_recovering: set[str]) -> None:
        floors = self.recovery_floors.get(key)
        if floors is None:
            return
        for allocation_id in list(floors):
            if allocation_id not in still_recovering:
                del floors[allocation_id]
        if not floors:
            self.recovery_floors.pop(key, None)

    async def push_retention_floor(self, local: Any) -> None:
        """Tell the primary's worker its retention floor when it changed (or every
        RETENTION_REPUSH_ROUNDS rounds, so a worker restarted under us learns it again)."""
        key = (local.index_uuid, local.shard_number)
        floor = self.retention_floor(key)
        pushed = self.pushed_retention_floors.get(key)
        if pushed is not None and pushed[0] is local and pushed[1] == floor and pushed[2] < RETENTION_REPUSH_ROUNDS:
            self.pushed_retention_floors[key] = (local, floor, pushed[2] + 1)
            return
        if floor is None and (pushed is None or pushed[0] is not local):
            return  # a freshly opened shard has no floor yet: nothing to tell it
        await self.context.workers.call(local.index_uuid, local.shard_number, "set_retention_floor", {"seq_no": floor})
        self.pushed_retention_floors[key] = (local, floor, 0)

    async def publish_retention_floors(self) -> None:
        """Every RETENTION_FLOOR_INTERVAL_SECONDS: each primary held here gets its retention floor."""
        while True:
            await trio.sleep(RETENTION_FLOOR_INTERVAL_SECONDS)
            for key, local in list(self.director.local.items()):
                if not local.primary or local.closed or not local.opened.is_set():
                    self.pushed_retention_floors.pop(key, None)
                    continue
                try:
                    await self.push_retention_floor(local)
                except Exception as error:  # noqa: BLE001 — tried again next round; the log keeps its default
                    self.logger.debug("setting a retention floor failed", extra={"fields": {
                        "index": local.index_name, "shard": local.shard_number,
                        "error": f"{type(error).__name__}: {error}"}})

    @staticmethod
    async def _wait_until_open(local: Any) -> None:
        opened = getattr(local, "opened", None)
        if opened is not None:
            with trio.move_on_after(REPLICATION_TIMEOUT_SECONDS):
                await opened.wait()

    async def handle_recovery_finalize(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        key = (payload["index_uuid"], int(payload["shard_number"]))
        if payload["allocation_id"] not in self.recovering.get(key, ()):
            raise ApiError(f"copy [{payload['allocation_id']}] of shard [{key[1]}] is not registered as recovering "
                           f"on the primary's node: recover again", opensearch_type="illegal_state_exception")
        return {"finalized": True}, b""

    async def handle_recover_files(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        """File-based recovery, driven by the primary's node: pin the last commit, push its files
        to the target, have the target install them, register the target as recovering, read the
        history above the commit while it is still pinned (so the log cannot be trimmed under us),
        and return that history for the target to apply."""
        key = (payload["index_uuid"], int(payload["shard_number"]))
        local = self.director.local.get(key)
        if local is None or not local.primary:
            raise ApiError(f"shard [{key[1]}] of index uuid [{key[0]}] has no primary on node "
                           f"[{self.context.node_id}]", opensearch_type="shard_not_found_exception")
        await self._wait_until_open(local)
        target_node_id = payload["target_node_id"]
        target = {"index_uuid": key[0], "shard_number": key[1], "allocation_id": payload["allocation_id"]}
        begin, _ = await self.context.workers.call(key[0], key[1], "recovery_snapshot_begin", {})
        snapshot_id = begin["snapshot_id"]
        # the target counts its progress against these (``_recovery`` / ``_cat/recovery``)
        totals = {"files_total": len(begin["files"]), "bytes_total": sum(int(size) for _, size in begin["files"])}
        try:
            first = True
            for name, size in begin["files"]:
                target_name = "commit.qcp" if name == begin["commit_file"] else name
                offset = 0
                while True:
                    length = min(RECOVERY_CHUNK_BYTES, size - offset)
                    _, chunk = await self.context.workers.call(key[0], key[1], "recovery_file_chunk", {
                        "snapshot_id": snapshot_id, "name": name, "offset": offset, "length": length})
                    await self.call_node(target_node_id, RECOVERY_CHUNK_METHOD, {
                        **target, "target_name": target_name, "offset": offset, "reset": first,
                        "file_size": size, **totals}, chunk)
                    first = False
                    offset += len(chunk)
                    if offset >= size or not chunk:
                        break
            await self.call_node(target_node_id, RECOVERY_INSTALL_METHOD, target, b"")
            self.recovering.setdefault(key, set()).add(payload["allocation_id"])
            self.recovery_floors.setdefault(key, {})[payload["allocation_id"]] = int(begin["local_checkpoint"])
            return await self.context.workers.call(key[0], key[1], "history",
                                                   {"from_seq_no": int(begin["local_checkpoint"])})
        finally:
            with trio.CancelScope(shield=True):
                await self.context.workers.call(key[0], key[1], "recovery_snapshot_end", {"snapshot_id": snapshot_id})

    async def call_node(self, node_id: str, method: str, payload: dict, body: bytes,
                        timeout_seconds: float = REPLICATION_TIMEOUT_SECONDS) -> tuple[dict, bytes]:
        if node_id == self.context.node_id:
            handler = {RECOVERY_CHUNK_METHOD: self.handle_recovery_chunk,
                       RECOVERY_INSTALL_METHOD: self.handle_recovery_install,
                       RESYNC_METHOD: self.handle_resync}[method]
            return await handler(payload, body)
        node = self.context.metadata.state.nodes.get(node_id)
        if node is None:
            raise ApiError(f"node [{node_id}] is not in the cluster", opensearch_type="node_not_connected_exception")
        return await self.context.peers.request(node.transport_address, method, payload, body, timeout_seconds,
                                                channel=REPLICATION_CHANNEL)

    def _target_copy(self, payload: dict) -> Any:
        key = (payload["index_uuid"], int(payload["shard_number"]))
        local = self.director.local.get(key)
        if local is None or local.allocation_id != payload["allocation_id"] or local.primary:
            raise ApiError(f"copy [{payload['allocation_id']}] of shard [{key[1]}] is not recovering on node "
                           f"[{self.context.node_id}]", opensearch_type="shard_not_found_exception")
        return local

    async def handle_recovery_chunk(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        local = self._target_copy(payload)
        metrics = getattr(self.context, "metrics", None)
        if metrics is not None:
            metrics.recovery_bytes.inc(len(body))
        answer = await self.context.workers.call(local.index_uuid, local.shard_number, "recovery_write_chunk", {
            "target_name": payload["target_name"], "offset": payload["offset"], "reset": payload.get("reset")}, body)
        record = self.recovery_record(local)
        if record is not None:
            if payload.get("reset"):
                record.files_recovered = record.bytes_recovered = 0
            if record.stage != "INDEX":
                record.move_to("INDEX")
            record.files_total = int(payload.get("files_total", record.files_total))
            record.bytes_total = int(payload.get("bytes_total", record.bytes_total))
            record.bytes_recovered += len(body)
            if payload.get("file_size") is not None and int(payload["offset"]) + len(body) >= int(payload["file_size"]):
                record.files_recovered += 1
        return answer

    async def handle_recovery_install(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        local = self._target_copy(payload)
        index = self.context.metadata.state.index_by_uuid(local.index_uuid)
        if index is None:
            from node.errors import IndexNotFoundError

            raise IndexNotFoundError(local.index_name)
        async with local.lock:
            return await self.context.workers.call(local.index_uuid, local.shard_number, "recovery_install", {
                "settings": index.settings, "mappings": index.mappings, "mapping_version": index.mapping_version})

    def start_background_catch_up(self, local: Any, reason: str) -> None:
        """Run ``catch_up_started_replicas`` in the background, at most once at a time per shard."""
        background = getattr(self.context, "background", None)
        if local is None or not getattr(local, "primary", False) or background is None:
            return
        key = (local.index_uuid, local.shard_number)
        if key in self.catching_up:
            return
        self.catching_up.add(key)

        async def run() -> None:
            try:
                await self.catch_up_started_replicas(local, reason)
            except Exception:  # noqa: BLE001 — logged; the next failed write tries again
                self.logger.warning("catching up the started replicas failed", exc_info=True)
            finally:
                self.catching_up.discard(key)

        background.start_soon(run)

    async def catch_up_started_replicas(self, local: Any, reason: str) -> int:
        """Send every STARTED/RELOCATING replica of ``local``'s shard the operations this primary
        holds above that replica's local checkpoint; a replica that cannot be caught up is removed
        from the in-sync set (fenced by the primary term). Returns how many operations were sent.

        Why: a primary applies and fsyncs an operation before forwarding it, so when its process
        dies between the two (kill -9, a whole-cluster restart, a worker that died mid-write), the
        operation — never acknowledged — is on the primary and on the replicas the forward reached,
        not on the others. If the node comes back before the master fails it, its copy reopens as
        the same STARTED primary in the same term and nobody ever resends that operation: the
        other copies keep a hole below every later write, their local checkpoints (and so the
        global checkpoint) stop, and they hold fewer documents forever (jepsen-lite seed
        2040220061: n0's replica lacked seq_no 159, which n1 and n2 held). OpenSearch re-runs a
        peer recovery for every replica after a primary restarts; this is the operations-based
        core of that. Idempotent (per seq_no and term), so running it when nothing is missing
        costs one round trip per replica."""
        key = (local.index_uuid, local.shard_number)
        state = self.context.metadata.state
        index = state.index_by_uuid(local.index_uuid)
        if index is None or local.closed:
            return 0
        shard = state.routing_table[index.name][local.shard_number]
        primary = shard.primary()
        if primary is None or primary.allocation_id != local.allocation_id or primary.node_id != self.context.node_id:
            return 0
        replicas = [shard_copy for shard_copy in shard.copies if not shard_copy.primary
                    and shard_copy.node_id is not None and shard_copy.state in ("STARTED", "RELOCATING")]
        sent_total = 0
        lost: list[str] = []
        for shard_copy in replicas:
            try:
                # an empty batch applies nothing and answers the copy's local checkpoint
                confirmed = await self.send_operations(index, local.shard_number, shard_copy, [], b"", None, None,
                                                       shard.primary_term)
                replica_checkpoint = int(confirmed.get("local_checkpoint", -1))
                try:
                    answer, history = await self.context.workers.call(local.index_uuid, local.shard_number,
                                                                      "history", {"from_seq_no": replica_checkpoint})
                except Exception as error:
                    if getattr(error, "error_type", type(error).__name__) != "OperationsNotRetainedError":
                        # the primary's own worker failed (restarting, shutting down): nothing says
                        # the replica is behind, so it is not removed; the caller may try again
                        raise PrimaryCatchUpError(f"{type(error).__name__}: {getattr(error, 'reason', error)}") \
                            from error
                    raise  # the log no longer holds what the copy lacks: it must recover by files
                if answer["operations"]:
                    await self.send_operations(index, local.shard_number, shard_copy, answer["operations"], history,
                                               self.global_checkpoints.get(key), None, shard.primary_term)
                    sent_total += len(answer["operations"])
                    metrics = getattr(self.context, "metrics", None)
                    if metrics is not None:
                        metrics.replica_catch_up_operations.inc(len(answer["operations"]))
                    self.logger.info("caught up a started replica with operations it missed", extra={"fields": {
                        "index": index.name, "shard": local.shard_number, "allocation_id": shard_copy.allocation_id,
                        "from_seq_no": replica_checkpoint, "operations": len(answer["operations"]),
                        "reason": reason}})
            except PrimaryCatchUpError:
                raise
            except Exception as error:  # noqa: BLE001 — it cannot stay in sync without them: it recovers afresh
                self.logger.warning("a started replica could not be caught up; removing it from the in-sync set",
                                    extra={"fields": {"index": index.name, "shard": local.shard_number,
                                                      "allocation_id": shard_copy.allocation_id, "reason": reason,
                                                      "error": f"{type(error).__name__}: "
                                                               f"{getattr(error, 'reason', error)}"}})
                lost.append(shard_copy.allocation_id)
        if sent_total:
            # the copies' local checkpoints moved: the global checkpoint can follow
            self.schedule_global_checkpoint_sync(key)
        if lost:
            outcome = await self.commit_until_known(RemoveFromInSync(
                index_name=index.name, shard_number=local.shard_number, allocation_ids=tuple(lost),
                primary_term=shard.primary_term))
            if outcome is None or not (outcome.accepted or outcome.duplicate):
                self.logger.warning("removing replicas that could not be caught up was not committed", extra={
                    "fields": {"index": index.name, "shard": local.shard_number, "allocation_ids": lost,
                               "reason": getattr(outcome, "reason", "no outcome")}})
        return sent_total

    async def on_promoted(self, local: Any) -> None:
        """This node's replica became primary (term + 1): fill seq_no gaps, then resync every other
        started copy from the global checkpoint up before taking writes (DESIGN §10, promotion)."""
        key = (local.index_uuid, local.shard_number)
        try:
            state = self.context.metadata.state
            index = state.index_by_uuid(local.index_uuid)
            if index is None or local.closed:
                return
            shard = state.routing_table[index.name][local.shard_number]
            try:
                answer, history = await self.context.workers.call(local.index_uuid, local.shard_number, "promote",
                                                                  {"primary_term": shard.primary_term})
            except Exception as error:  # noqa: BLE001 — the others must then recover from scratch
                self.logger.error("promotion resync could not read the history; failing the other copies",
                                  extra={"fields": {"index": index.name, "shard": local.shard_number,
                                                    "error": f"{type(error).__name__}: {error}"}})
                answer, history = None, b""
            self.global_checkpoints[key] = -1 if answer is None else int(answer["global_checkpoint"])
            others = [c for c in shard.copies if not c.primary and c.node_id is not None
                      and c.state in ("STARTED", "RELOCATING")]
            for shard_copy in others:
                try:
                    if answer is None:
                        raise ApiError("no history to resync from", opensearch_type="illegal_state_exception")
                    await self.call_node(shard_copy.node_id, RESYNC_METHOD, {
                        "index_uuid": local.index_uuid, "shard_number": local.shard_number,
                        "allocation_id": shard_copy.allocation_id, "mapping_version": index.mapping_version,
                        "global_checkpoint": answer["global_checkpoint"], "operations": answer["operations"],
                        "primary_term": shard.primary_term},
                        history)
                except Exception as error:  # noqa: BLE001 — a copy that cannot be resynced leaves the in-sync set
                    self.logger.warning("resync of a copy failed; failing it", extra={"fields": {
                        "index": index.name, "shard": local.shard_number, "allocation_id": shard_copy.allocation_id,
                        "error": f"{type(error).__name__}: {getattr(error, 'reason', error)}"}})
                    await self.commit_until_known(RemoveFromInSync(
                        index_name=index.name, shard_number=local.shard_number,
                        allocation_ids=(shard_copy.allocation_id,), primary_term=shard.primary_term))
            self.logger.info("promoted to primary and resynced", extra={"fields": {
                "index": index.name, "shard": local.shard_number, "primary_term": shard.primary_term,
                "copies": len(others)}})
        finally:
            local.writes_allowed.set()

    # ------------------------------------------------------------------ replica side

    async def handle_resync(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        key = (payload["index_uuid"], int(payload["shard_number"]))
        local = self.director.local.get(key)
        if local is None or local.allocation_id != payload["allocation_id"]:
            raise ApiError(f"copy [{payload['allocation_id']}] of shard [{key[1]}] is not held by node "
                           f"[{self.context.node_id}]", opensearch_type="shard_not_found_exception")
        with trio.move_on_after(REPLICATION_TIMEOUT_SECONDS):
            await local.opened.wait()
        mapping = await self._mapping_payload(key[0], int(payload.get("mapping_version", 0)))
        async with local.lock:
            return await self.context.workers.call(key[0], key[1], "resync", {
                "global_checkpoint": payload["global_checkpoint"], "operations": payload["operations"],
                "primary_term": payload.get("primary_term"), **mapping}, body)

    async def _mapping_payload(self, index_uuid: str, wanted_version: int) -> dict:
        with trio.move_on_after(MAPPING_WAIT_SECONDS):
            while True:
                index = self.context.metadata.state.index_by_uuid(index_uuid)
                if index is not None and index.mapping_version >= wanted_version:
                    return {"mappings": index.mappings, "mapping_version": index.mapping_version}
                await self.director.wait_for_state_change(0.25)
        raise ApiError(f"mapping version [{wanted_version}] of index uuid [{index_uuid}] was not applied here in "
                       f"time", opensearch_type="illegal_state_exception")

    async def handle_replicate(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        key = (payload["index_uuid"], int(payload["shard_number"]))
        local = self.director.local.get(key)
        if local is None or local.allocation_id != payload["allocation_id"]:
            raise ApiError(f"copy [{payload['allocation_id']}] of shard [{key[1]}] is not held by node "
                           f"[{self.context.node_id}]", opensearch_type="shard_not_found_exception")
        reject_older_primary_term(self.context.metadata.state, key[0], key[1], payload.get("primary_term"))
        with trio.move_on_after(REPLICATION_TIMEOUT_SECONDS):
            await local.opened.wait()
        mapping = await self._mapping_payload(key[0], int(payload.get("mapping_version", 0)))
        request = {"operations": payload["operations"], "global_checkpoint": payload.get("global_checkpoint"),
                   "refresh": payload.get("refresh"), "primary_term": payload.get("primary_term"), **mapping}
        answer, _ = await self.context.workers.call(key[0], key[1], "apply_replica", request, body)
        if "mapping_update" in answer:
            raise ApiError(f"replica of shard [{key[1]}] lacks mapping fields the primary used",
                           opensearch_type="illegal_state_exception")
        return answer, b""

    async def holds_less_than_its_global_checkpoint(self, local: Any) -> bool:
        """True when the recovered copy's local checkpoint is below the global checkpoint the
        primary has told it (piggybacked on forwarded writes): it misses an operation every
        in-sync copy holds. A copy whose statistics cannot be read is given the benefit of the doubt
        (the primary's finalize already confirmed it forwarded every write since registration)."""
        try:
            statistics, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "stats", {})
        except Exception:  # noqa: BLE001
            return False
        local_checkpoint = int(statistics.get("local_checkpoint", -1))
        global_checkpoint = int(statistics.get("global_checkpoint", -1))
        if local_checkpoint >= global_checkpoint:
            return False
        self.logger.warning("a recovered copy is below the global checkpoint it was told: recovering again",
                            extra={"fields": {"index": local.index_name, "shard": local.shard_number,
                                              "local_checkpoint": local_checkpoint,
                                              "global_checkpoint": global_checkpoint}})
        return True

    async def prepare_copy(self, local: Any, primary_term: int, fallback_seq_no: int) -> int:
        """The seq_no a recovering copy asks history above. What it holds above its global
        checkpoint may never have been acknowledged (a deposed primary's writes), so by default it
        is rolled back (``prepare_recovery``). But when every operation it holds above that
        checkpoint carries the term of the primary it recovers from, that primary issued them and
        holds them too (it fsyncs before forwarding): the copy keeps them and recovers from its
        local checkpoint — a node restarted within a term replays only what it missed, instead of
        dropping and re-fetching everything since its last flush."""
        try:
            statistics, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "stats", {})
            local_checkpoint = int(statistics["local_checkpoint"])
            global_checkpoint = int(statistics["global_checkpoint"])
            max_seq_no = int(statistics["max_seq_no"])
            if max_seq_no <= global_checkpoint:
                return local_checkpoint
            if max_seq_no - global_checkpoint <= KEEP_CHECK_MAX_OPERATIONS:
                held, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "history",
                                                          {"from_seq_no": global_checkpoint})
                if all(int(header[2]) == int(primary_term) for header in held["operations"]):
                    return local_checkpoint
        except Exception as error:  # noqa: BLE001 — fall back to the rollback
            self.logger.info("could not tell whether a recovering copy may keep its operations; rolling back",
                             extra={"fields": {"index": local.index_name, "shard": local.shard_number,
                                               "error": f"{type(error).__name__}: {error}"}})
        try:
            prepared, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "prepare_recovery", {})
            return int(prepared["local_checkpoint"])
        except Exception as error:  # noqa: BLE001 — recovering by files replaces everything anyway
            self.logger.warning("could not roll the copy back to its global checkpoint before recovery",
                                extra={"fields": {"index": local.index_name, "shard": local.shard_number,
                                                  "error": f"{type(error).__name__}: {error}"}})
            return fallback_seq_no

    async def recover(self, local: Any, from_seq_no: int) -> None:
        """Bring a just-opened replica copy up to date from its primary, then start it."""
        record = self.recovery_record(local) or self.begin_recovery_record(local, "PEER")
        prepared_for: tuple[str, int] | None = None
        # seconds per phase of the last attempt, logged when the copy starts: what a slow restart
        # spent its time on (docs/benchmarks.md, issue 4)
        phases: dict[str, float] = {}
        phase_started = trio.current_time()

        def end_phase(name: str) -> None:
            nonlocal phase_started
            now = trio.current_time()
            phases[name] = round(phases.get(name, 0.0) + now - phase_started, 3)
            phase_started = now

        for attempt in range(5):
            state = self.context.metadata.state
            index = state.index_by_uuid(local.index_uuid)
            if index is None or local.closed:
                return
            shard = state.routing_table[index.name][local.shard_number]
            primary = shard.primary()
            if primary is None or primary.state not in ("STARTED", "RELOCATING") or primary.node_id is None:
                await self.director.wait_for_state_change(1.0)
                continue
            if prepared_for != (primary.allocation_id, shard.primary_term):
                # first attempt, or the primary changed since the last one: what this copy holds above
                # its global checkpoint (including writes the previous primary forwarded) may not be on
                # the primary it now recovers from
                end_phase("waiting")
                from_seq_no = await self.prepare_copy(local, shard.primary_term, from_seq_no)
                prepared_for = (primary.allocation_id, shard.primary_term)
                end_phase("prepare")
            node = state.nodes.get(primary.node_id)
            request = {"index_uuid": local.index_uuid, "shard_number": local.shard_number,
                       "allocation_id": local.allocation_id, "from_seq_no": from_seq_no}
            record.source_node_id = primary.node_id
            try:
                if primary.node_id == self.context.node_id:
                    answer, history = await self.handle_recover(request, b"")
                else:
                    answer, history = await self.context.peers.request(node.transport_address, RECOVER_METHOD,
                                                                       request, b"", REPLICATION_TIMEOUT_SECONDS,
                                                                       channel=REPLICATION_CHANNEL)
                if answer.get("not_retained"):
                    self.logger.info("the primary's log no longer holds the history: recovering by files",
                                     extra={"fields": {"index": local.index_name, "shard": local.shard_number}})
                    files_request = {**request, "target_node_id": self.context.node_id}
                    answer, history = await self.context.peers.request(
                        node.transport_address, RECOVER_FILES_METHOD, files_request, b"",
                        FILE_RECOVERY_TIMEOUT_SECONDS, channel=REPLICATION_CHANNEL)
                end_phase("history")
                metrics = getattr(self.context, "metrics", None)
                if metrics is not None:
                    metrics.recovery_operations.inc(len(answer["operations"]))
                record.move_to("TRANSLOG")
                record.operations_total, record.operations_recovered = len(answer["operations"]), 0
                if answer["operations"]:
                    mapping = {"mappings": index.mappings, "mapping_version": index.mapping_version}
                    await self.context.workers.call(local.index_uuid, local.shard_number, "apply_replica",
                                                    {"operations": answer["operations"],
                                                     "primary_term": shard.primary_term, **mapping}, history)
                    record.operations_recovered = len(answer["operations"])
                end_phase("apply")
                record.move_to("FINALIZE")
                # the primary confirms it has forwarded every write since registering this copy;
                # if it lost track (restart, failed forward) the recovery starts over
                if primary.node_id == self.context.node_id:
                    await self.handle_recovery_finalize(request, b"")
                else:
                    await self.context.peers.request(node.transport_address, RECOVERY_FINALIZE_METHOD, request, b"",
                                                     REPLICATION_TIMEOUT_SECONDS, channel=REPLICATION_CHANNEL)
            except Exception as error:  # noqa: BLE001 — retried, then left initializing (logged)
                self.logger.warning("peer recovery attempt failed", extra={"fields": {
                    "index": local.index_name, "shard": local.shard_number, "attempt": attempt,
                    "error": f"{type(error).__name__}: {getattr(error, 'reason', error)}"}})
                await trio.sleep(1.0 + attempt)
                continue
            # the primary this copy recovered from must still be the primary, under the same term:
            # a promotion in between means another primary may hold writes this copy never saw
            current = self.context.metadata.state.routing_table.get(index.name, ())
            current_shard = current[local.shard_number] if local.shard_number < len(current) else None
            current_primary = current_shard.primary() if current_shard is not None else None
            if (current_primary is None or current_primary.allocation_id != primary.allocation_id
                    or current_shard.primary_term != shard.primary_term):
                self.logger.info("the primary changed during recovery: recovering again", extra={"fields": {
                    "index": local.index_name, "shard": local.shard_number}})
                continue
            try:
                # recovered operations must be searchable once the copy is started and serves searches
                await self.context.workers.call(local.index_uuid, local.shard_number, "refresh", {})
            except Exception:  # noqa: BLE001 — the periodic refresh catches up
                self.logger.warning("refreshing a recovered copy failed", exc_info=True)
            if await self.holds_less_than_its_global_checkpoint(local):
                # defence in depth (ADR 0170): the global checkpoint is on every in-sync copy, so a
                # copy below it lacks something every other copy has; it must not start that way
                continue
            end_phase("finalize")
            try:
                outcome = await self.context.metadata.submit(StartCopy(
                    index_name=local.index_name, shard_number=local.shard_number, allocation_id=local.allocation_id))
            except ClusterError as error:
                # the master changed (or could not be reached) while starting the copy: the outcome
                # is unknown, and StartCopy is idempotent — recover again, which re-checks everything
                self.logger.warning("starting a recovered replica failed: recovering again", extra={"fields": {
                    "index": local.index_name, "shard": local.shard_number,
                    "error": f"{type(error).__name__}: {error}"}})
                await trio.sleep(1.0 + attempt)
                continue
            if outcome is not None and not (outcome.accepted or outcome.duplicate):
                self.logger.info("starting a recovered replica was rejected", extra={"fields": {
                    "index": local.index_name, "shard": local.shard_number, "reason": outcome.reason}})
            else:
                record.move_to("DONE")
            end_phase("start_copy")
            self.logger.info("peer recovery finished", extra={"fields": {
                "index": local.index_name, "shard": local.shard_number, "attempts": attempt + 1,
                "operations": len(answer["operations"]), "seconds": phases}})
            return
        self.logger.error("peer recovery gave up after every attempt: the replica stays initializing until "
                          "the master reallocates it", extra={"fields": {"index": local.index_name, "shard": local.shard_number}})
