"""This node's shard copies and how requests reach a shard, wherever it lives.

Owns ``ShardDirector``: it follows the applied cluster state (``metadata.on_state_applied``) and
opens on the local workers every copy the routing table assigns to this node, sends ``StartCopy``
once a new primary copy is open, closes copies that left (deleting the files of deleted
indices), and pushes mapping and settings changes to the open copies. It also routes calls:
``call_primary`` sends a worker method to the node holding the shard's started primary — the
local worker pool directly, another node through the transport (``shard/call``) — waiting up to
a timeout for an unassigned primary, as OpenSearch does, before 503 unavailable_shards_exception.

Replica copies assigned here are opened and then recovered from their primary by
node/coordination/replication.py, which also forwards every primary write to the replicas.

It must never await ``metadata.submit`` inside the state callback (contracts §8): every piece of
work is queued per shard (run in state order by one task in ``context.background``).
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field
from typing import Any

import trio

from index.errors import CorruptedIndexError, CorruptedLogError
from node.cluster.errors import PrimaryMovedError
from node.errors import UnavailableShardsError
from node.transport.errors import ConnectionClosedError
from node.workers.errors import ShardNotHostedError
from raft.commands import FailCopy, StartCopy

SHARD_CALL_TRANSPORT_METHOD = "shard/call"
DEFAULT_PRIMARY_WAIT_SECONDS = 60.0
START_COPY_ATTEMPTS = 5
ACTIVE_COPY_STATES = ("INITIALIZING", "STARTED", "RELOCATING")
GAUGE_INTERVAL_SECONDS = 10.0


@dataclass
class LocalShard:
    index_name: str
    index_uuid: str
    shard_number: int
    allocation_id: str
    primary: bool
    mapping_version: int = 0
    settings_version: int = 0
    opened: trio.Event = field(default_factory=trio.Event)
    failure: str | None = None
    lock: trio.Lock = field(default_factory=trio.Lock)
    closed: bool = False
    # set once this copy may take writes as primary: at open for a primary, after the resync of
    # the other copies for a promoted replica (new-term writes must not race the rollback)
    writes_allowed: trio.Event = field(default_factory=trio.Event)


def unregistered_recovery_failures(shard: Any, registered_allocation_ids: Any) -> list[FailCopy]:
    """FailCopy (fenced by ``shard.primary_term``) for every INITIALIZING replica of ``shard``
    whose allocation id is not in ``registered_allocation_ids`` (the recoveries this primary's
    process forwards writes to). Pure, for the reopened-primary fence."""
    return [FailCopy(index_name=shard.index_name, shard_number=shard.shard_number,
                     allocation_id=shard_copy.allocation_id, reason="PRIMARY_FAILED",
                     primary_term=shard.primary_term)
            for shard_copy in shard.copies
            if not shard_copy.primary and shard_copy.state == "INITIALIZING"
            and shard_copy.allocation_id is not None and shard_copy.allocation_id not in registered_allocation_ids]


class ShardDirector:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.logger: logging.Logger = getattr(context, "logger", None) or logging.getLogger("api.shards")
        self.local: dict[tuple[str, int], LocalShard] = {}
        self.state_changed = trio.Event()
        # per shard key, the worker actions still to run, strictly in the order states asked for
        # them (a close of the old copy must finish before the open of its successor)
        self.queued: dict[tuple[str, int], collections.deque] = {}
        from node.coordination.replication import Replication

        self.replication = Replication(context, self)

    # ------------------------------------------------------------------ following the state

    def attach(self) -> None:
        self.context.metadata.on_state_applied(self.on_state_applied)
        set_reopen_hook = getattr(self.context.workers, "set_reopen_hook", None)
        if set_reopen_hook is not None:
            set_reopen_hook(self.reopen_payload)
        background = getattr(self.context, "background", None)
        if background is not None and getattr(self.context, "metrics", None) is not None:
            background.start_soon(self.publish_shard_gauges)
        if background is not None:
            # the primaries' logs keep what their lagging and recovering copies will ask for
            background.start_soon(self.replication.publish_retention_floors)
        handlers = getattr(self.context, "transport_handlers", None)
        if handlers is not None:
            handlers.register(SHARD_CALL_TRANSPORT_METHOD, self.handle_remote_call)
        self.replication.attach()

    def on_state_applied(self, previous: Any, new_state: Any) -> None:
        self.state_changed.set()
        self.state_changed = trio.Event()
        wanted: dict[tuple[str, int], tuple[Any, Any]] = {}
        for index_name, shards in new_state.routing_table.items():
            index = new_state.indices.get(index_name)
            if index is None or index.state != "open":
                continue
            for shard in shards:
                for shard_copy in shard.copies:
                    if shard_copy.node_id == self.context.node_id and shard_copy.state in ACTIVE_COPY_STATES:
                        wanted[(index.uuid, shard.shard_number)] = (index, shard_copy)
        for key, recovering in list(self.replication.recovering.items()):
            index = new_state.index_by_uuid(key[0])
            shards = new_state.routing_table.get(index.name, ()) if index is not None else ()
            initializing = {c.allocation_id for shard in shards if shard.shard_number == key[1]
                            for c in shard.copies if c.state == "INITIALIZING"}
            recovering &= initializing
            self.replication.forget_recovery_floors(key, recovering)
            if not recovering:
                self.replication.recovering.pop(key, None)
        for key, local in list(self.local.items()):
            target = wanted.get(key)
            if target is None or target[1].allocation_id != local.allocation_id:
                index_gone = new_state.index_by_uuid(key[0]) is None
                self.local.pop(key)
                local.closed = True
                self._enqueue(key, self._close, local, index_gone)
        for key, (index, shard_copy) in wanted.items():
            local = self.local.get(key)
            if local is None:
                local = LocalShard(index.name, index.uuid, key[1], shard_copy.allocation_id, shard_copy.primary,
                                   index.mapping_version, index.settings_version)
                self.local[key] = local
                self._enqueue(key, self._open, local, index, shard_copy.state)
                continue
            if shard_copy.primary and not local.primary:
                local.primary = True
                self._enqueue(key, self.replication.on_promoted, local)
            local.primary = shard_copy.primary
            if index.mapping_version > local.mapping_version or index.settings_version > local.settings_version:
                local.mapping_version = index.mapping_version
                local.settings_version = index.settings_version
                # open_shard on an open shard installs a newer mapping/settings and refreshes the
                # pool's replay record, so a restarted worker reopens with the current mapping
                self._enqueue(key, self._push, local, "open_shard", self._open_payload(index))

    async def reopen_payload(self, index_uuid: str, shard_number: int, recorded_payload: dict,
                             recorded_body: bytes) -> tuple[dict, bytes] | None:
        """The pool's reopen hook after a worker crash: the CURRENT mapping and settings, or None
        when this node no longer holds an open copy of that shard."""
        local = self.local.get((index_uuid, shard_number))
        index = self.context.metadata.state.index_by_uuid(index_uuid)
        if local is None or local.closed or index is None or index.state != "open":
            return None
        return self._open_payload(index), b""

    @staticmethod
    def _open_payload(index: Any) -> dict[str, Any]:
        return {"settings": index.settings, "mappings": index.mappings, "mapping_version": index.mapping_version}

    def _enqueue(self, key: tuple[str, int], function: Any, *arguments: Any) -> None:
        queue = self.queued.get(key)
        if queue is not None:
            queue.append((function, arguments))
            return
        background = getattr(self.context, "background", None)
        if background is None:
            self.logger.error("no background nursery: cannot act on shard changes")
            return
        self.queued[key] = collections.deque([(function, arguments)])
        background.start_soon(self._drain, key)

    async def _drain(self, key: tuple[str, int]) -> None:
        queue = self.queued[key]
        try:
            while queue:
                function, arguments = queue.popleft()
                try:
                    await function(*arguments)
                except Exception:  # noqa: BLE001 — one failed action must not stop the later ones
                    self.logger.error("shard action failed", exc_info=True, extra={"fields": {"shard": list(key)}})
        finally:
            del self.queued[key]

    async def _open(self, local: LocalShard, index: Any, copy_state: str) -> None:
        async with local.lock:
            if local.closed:
                return
            payload = self._open_payload(index)
            peer = not local.primary and copy_state == "INITIALIZING"
            record = self.replication.begin_recovery_record(local, "PEER" if peer else "EXISTING_STORE")
            open_requested_at = trio.current_time()
            try:
                try:
                    opened, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "open_shard",
                                                                payload)
                except (CorruptedIndexError, CorruptedLogError) as corruption:
                    if not peer:
                        raise
                    # a replica about to recover from its primary needs none of these files (as
                    # OpenSearch fails a corrupted store and recovers the copy afresh): without
                    # this, the copy fails, the master places it here again, and so on for ever
                    self.logger.warning("a recovering copy's files are corrupted: discarding them and recovering "
                                        "from the primary", extra={"fields": {
                                            "index": local.index_name, "shard": local.shard_number,
                                            "error": str(corruption)}})
                    await self.context.workers.call(local.index_uuid, local.shard_number, "close_shard",
                                                    {**payload, "delete": True})
                    opened, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "open_shard",
                                                                payload)
                if copy_state == "INITIALIZING" and await self._holds_data_from_before_data_loss(local, opened):
                    await self.context.workers.call(local.index_uuid, local.shard_number, "close_shard",
                                                    {**payload, "delete": True})
                    opened, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "open_shard",
                                                                payload)
            except Exception as error:  # noqa: BLE001 — reported to the master as a failed copy
                local.failure = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
                if type(error).__name__ == "WorkerUnavailableError" and "shutting down" in local.failure:
                    # this node is stopping: failing the copy would only make the master move it
                    # here again until the node is gone; its departure fails the copy instead
                    return
                self.logger.error("opening a shard copy failed", exc_info=True, extra={"fields": {
                    "index": local.index_name, "shard": local.shard_number}})
                await self._submit_quietly(FailCopy(index_name=local.index_name, shard_number=local.shard_number,
                                                    allocation_id=local.allocation_id,
                                                    reason="ALLOCATION_FAILED"))
                return
            self.logger.info("shard copy opened", extra={"fields": {
                "index": local.index_name, "shard": local.shard_number, "primary": local.primary,
                "seconds": round(trio.current_time() - open_requested_at, 3),
                "local_checkpoint": opened.get("local_checkpoint"), "max_seq_no": opened.get("max_seq_no")}})
            try:
                # operations replayed from the translog at open are only in the realtime view:
                # make them searchable before the copy serves searches (OpenSearch refreshes too)
                await self.context.workers.call(local.index_uuid, local.shard_number, "refresh", {})
            except Exception:  # noqa: BLE001 — the periodic refresh catches up; searches may lag until then
                self.logger.warning("refreshing a reopened shard copy failed", exc_info=True, extra={"fields": {
                    "index": local.index_name, "shard": local.shard_number}})
            if not peer:
                # opened from its own files (the log replayed): done; a copy that had nothing on disk
                # yet started from an empty store (OpenSearch's EMPTY_STORE for a new primary)
                if int(opened.get("max_seq_no", -1)) < 0 and copy_state == "INITIALIZING":
                    record.recovery_type = "EMPTY_STORE"
                record.move_to("DONE")
            local.opened.set()
            if local.primary and copy_state != "INITIALIZING":
                # a started primary reopened here: this process restarted and forgot which copies
                # were recovering from it, so it would not forward writes to them — yet one of them
                # may already have been confirmed and be about to StartCopy. Fail every such copy
                # (fenced by the primary term) before taking a single write; its StartCopy is then
                # rejected and the copy recovers afresh (ADR 0140).
                await self.fail_unregistered_recoveries(local)
                # ... and what it applied but never forwarded before it died (never acknowledged)
                # is on it and on some replicas only: resend it to every started replica before the
                # first new write, or those replicas keep a hole and diverge for good (ADR 0225)
                try:
                    await self.replication.catch_up_started_replicas(local, "a started primary reopened")
                except Exception:  # noqa: BLE001 — the primary's own worker failed; later writes still replicate
                    self.logger.warning("catching up the replicas of a reopened primary failed", exc_info=True,
                                        extra={"fields": {"index": local.index_name, "shard": local.shard_number}})
            if local.primary:
                local.writes_allowed.set()
        if copy_state == "INITIALIZING" and local.primary:
            await self._submit_quietly(StartCopy(index_name=local.index_name, shard_number=local.shard_number,
                                                 allocation_id=local.allocation_id))
        elif copy_state == "INITIALIZING":
            # recovery waits on the primary and on Raft: it must not hold up this shard's queue
            self.context.background.start_soon(self.replication.recover, local,
                                               int(opened.get("local_checkpoint", -1)))

    async def _holds_data_from_before_data_loss(self, local: LocalShard, opened: dict) -> bool:
        """After an operator forced a primary (``_cluster/reroute`` with accept_data_loss), data this
        node wrote under an older primary term may hold operations that primary never had: a
        replica recovering by operations would keep them and diverge for good, and an empty
        primary must start empty. Such data is discarded (OpenSearch forces a file copy through a
        new history uuid); a stale primary the operator chose keeps its data."""
        try:
            shard = self.context.metadata.state.shard(local.index_name, local.shard_number)
        except (KeyError, IndexError):
            return False  # the index is gone: the copy is about to be closed anyway
        if not shard.data_loss_term or int(opened.get("max_seq_no", -1)) < 0:
            return False
        if local.primary and local.allocation_id != shard.empty_primary_allocation_id:
            return False
        statistics, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "stats", {})
        if int(statistics["max_primary_term"]) >= shard.data_loss_term:
            return False
        self.logger.warning("discarding a copy's data written before an operator accepted data loss", extra={
            "fields": {"index": local.index_name, "shard": local.shard_number, "primary": local.primary,
                       "data_max_primary_term": statistics["max_primary_term"],
                       "data_loss_term": shard.data_loss_term}})
        return True

    async def fail_unregistered_recoveries(self, local: LocalShard) -> None:
        """Fail the INITIALIZING replicas of ``local``'s shard that this primary is not forwarding
        writes to; returns once each removal's outcome is known (or nothing needed removing)."""
        state = self.context.metadata.state
        index = state.index_by_uuid(local.index_uuid)
        if index is None:
            return
        shard = state.routing_table[index.name][local.shard_number]
        registered = self.replication.recovering.get((local.index_uuid, local.shard_number), set())
        for command in unregistered_recovery_failures(shard, registered):
            while not local.closed:
                outcome = await self.replication.commit_until_known(command)
                if outcome is not None:
                    self.logger.info("failed a copy that was recovering from this primary before it restarted",
                                     extra={"fields": {"index": local.index_name, "shard": local.shard_number,
                                                       "allocation_id": command.allocation_id,
                                                       "accepted": outcome.accepted, "reason": outcome.reason}})
                    break

    async def _submit_quietly(self, command: Any) -> None:
        for attempt in range(START_COPY_ATTEMPTS):
            try:
                outcome = await self.context.metadata.submit(command)
            except Exception as error:  # noqa: BLE001 — retried: the same command id is idempotent
                self.logger.warning("submitting a shard command failed; retrying", extra={"fields": {
                    "command": command.command_type, "attempt": attempt, "error": str(error)}})
                await trio.sleep(0.5 * (attempt + 1))
                continue
            if outcome is not None and not outcome.accepted and not outcome.duplicate:
                self.logger.info("shard command rejected", extra={"fields": {
                    "command": command.command_type, "reason": outcome.reason}})
            return

    async def publish_shard_gauges(self) -> None:
        """Every GAUGE_INTERVAL_SECONDS: documents, store size and segments of the copies held here."""
        metrics = self.context.metrics
        while True:
            await trio.sleep(GAUGE_INTERVAL_SECONDS)
            for local in self.local_copies():
                try:
                    statistics, _ = await self.context.workers.call(local.index_uuid, local.shard_number, "stats", {})
                except Exception:  # noqa: BLE001 — a shard that cannot answer keeps its last figures
                    continue
                if local.closed:
                    continue
                metrics.set_shard_gauges(local.index_name, local.shard_number, local.primary,
                                         int(statistics["doc_count"]), int(statistics["size_bytes"]),
                                         int(statistics["segment_count"]))

    async def _close(self, local: LocalShard, delete: bool) -> None:
        self.replication.forget_recovery_record(local)
        metrics = getattr(self.context, "metrics", None)
        if metrics is not None:
            metrics.forget_shard(local.index_name, local.shard_number, local.primary)
        async with local.lock:
            try:
                await self.context.workers.call(local.index_uuid, local.shard_number, "close_shard",
                                                {"delete": delete})
            except Exception:  # noqa: BLE001 — logged; a restart will not reopen what the state dropped
                self.logger.warning("closing a shard copy failed", exc_info=True, extra={"fields": {
                    "index": local.index_name, "shard": local.shard_number}})

    async def _push(self, local: LocalShard, method: str, payload: dict) -> None:
        async with local.lock:
            if local.closed or not local.opened.is_set():
                return
            try:
                await self.context.workers.call(local.index_uuid, local.shard_number, method, payload)
            except Exception:  # noqa: BLE001
                self.logger.warning("pushing a change to a shard failed", exc_info=True, extra={"fields": {
                    "index": local.index_name, "shard": local.shard_number, "method": method}})

    # ------------------------------------------------------------------ calling shards

    async def wait_for_state_change(self, timeout_seconds: float) -> None:
        event = self.state_changed
        with trio.move_on_after(timeout_seconds):
            await event.wait()

    async def primary_location(self, index_name: str, shard_number: int,
                               timeout_seconds: float = DEFAULT_PRIMARY_WAIT_SECONDS) -> tuple[Any, Any, Any]:
        """(index metadata, shard routing, primary copy) once the primary is started."""
        deadline = trio.current_time() + timeout_seconds
        while True:
            state = self.context.metadata.state
            index = state.indices.get(index_name)
            if index is None:
                from node.errors import IndexNotFoundError
                raise IndexNotFoundError(index_name)
            shard = state.routing_table[index_name][shard_number]
            primary = shard.primary()
            if primary is not None and primary.state in ("STARTED", "RELOCATING"):
                if primary.node_id != self.context.node_id:
                    return index, shard, primary
                local = self.local.get((index.uuid, shard_number))
                if local is not None and local.opened.is_set():
                    return index, shard, primary
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                raise UnavailableShardsError(
                    f"[{index_name}][{shard_number}] primary shard is not active Timeout: "
                    f"[{int(timeout_seconds)}s]", index=index_name, index_uuid=index.uuid,
                    shard=str(shard_number))
            await self.wait_for_state_change(min(remaining, 0.25))

    async def call_primary(self, index_name: str, shard_number: int, method: str, payload: dict,
                           body: bytes = b"", timeout_seconds: float = DEFAULT_PRIMARY_WAIT_SECONDS
                           ) -> tuple[dict, bytes, Any, Any]:
        """Run ``method`` on the shard's primary; returns (payload, body, index, shard routing).
        When the primary's node cannot even be connected to (the request was never sent), or it
        answers that it no longer holds the primary or no copy of the shard at all (it ran
        nothing: this node's cluster state is older than the master's), a retry cannot apply
        anything twice: wait for a newer cluster state — the master may be failing that node and
        promoting a replica — and try again until the timeout, as OpenSearch's reroute phase does."""
        deadline = trio.current_time() + timeout_seconds
        while True:
            try:
                return await self._call_primary_once(index_name, shard_number, method, payload, body,
                                                     max(0.001, deadline - trio.current_time()))
            except (ConnectionClosedError, PrimaryMovedError, ShardNotHostedError) as error:
                never_applied = isinstance(error, (PrimaryMovedError, ShardNotHostedError)) or str(
                    getattr(error, "reason", None) or error).startswith("cannot connect")
                remaining = deadline - trio.current_time()
                if not never_applied or remaining <= 0:
                    raise
                await self.wait_for_state_change(min(remaining, 0.5))

    async def _call_primary_once(self, index_name: str, shard_number: int, method: str, payload: dict,
                                 body: bytes, timeout_seconds: float) -> tuple[dict, bytes, Any, Any]:
        index, shard, primary = await self.primary_location(index_name, shard_number, timeout_seconds)
        if method == "write":
            # the primary's node forwards to the replicas before anything is acknowledged
            if primary.node_id == self.context.node_id:
                result, result_body = await self.replication.primary_write(index, shard, payload, body)
                return result, result_body, index, shard
            node = self.context.metadata.state.nodes.get(primary.node_id)
            if node is None:
                raise UnavailableShardsError(f"[{index_name}][{shard_number}] primary node [{primary.node_id}] is "
                                             f"not in the cluster", index=index_name)
            from node.coordination.replication import PRIMARY_WRITE_METHOD

            result, result_body = await self.context.peers.request(
                node.transport_address, PRIMARY_WRITE_METHOD,
                {"index_uuid": index.uuid, "shard_number": shard_number, "index_name": index_name,
                 "payload": payload}, body, timeout_seconds)
            return result, result_body, index, shard
        if primary.node_id == self.context.node_id:
            result, result_body = await self.context.workers.call(index.uuid, shard_number, method, payload, body)
            return result, result_body, index, shard
        node = self.context.metadata.state.nodes.get(primary.node_id)
        if node is None:
            raise UnavailableShardsError(f"[{index_name}][{shard_number}] primary node [{primary.node_id}] is "
                                         f"not in the cluster", index=index_name)
        result, result_body = await self.context.peers.request(
            node.transport_address, SHARD_CALL_TRANSPORT_METHOD,
            {"index_uuid": index.uuid, "shard_number": shard_number, "method": method, "payload": payload},
            body, timeout_seconds)
        return result, result_body, index, shard

    async def call_copy(self, index: Any, shard_number: int, shard_copy: Any, method: str, payload: dict,
                        body: bytes = b"", timeout_seconds: float = DEFAULT_PRIMARY_WAIT_SECONDS) -> tuple[dict, bytes]:
        """Run a read-only or maintenance method (refresh, flush, stats ...) on one given copy."""
        if shard_copy.node_id == self.context.node_id:
            local = self.local.get((index.uuid, shard_number))
            if local is None or local.allocation_id != shard_copy.allocation_id:
                raise ShardNotHostedError(f"copy [{shard_copy.allocation_id}] of [{index.name}][{shard_number}] "
                                          f"is not open on this node")
            return await self.context.workers.call(index.uuid, shard_number, method, payload, body)
        node = self.context.metadata.state.nodes.get(shard_copy.node_id)
        if node is None:
            raise UnavailableShardsError(f"[{index.name}][{shard_number}] node [{shard_copy.node_id}] is not in "
                                         f"the cluster", index=index.name)
        return await self.context.peers.request(
            node.transport_address, SHARD_CALL_TRANSPORT_METHOD,
            {"index_uuid": index.uuid, "shard_number": shard_number, "method": method, "payload": payload},
            body, timeout_seconds)

    async def call_local(self, index_uuid: str, shard_number: int, method: str, payload: dict,
                         body: bytes = b"") -> tuple[dict, bytes]:
        return await self.context.workers.call(index_uuid, shard_number, method, payload, body)

    async def handle_remote_call(self, payload: dict, body: bytes) -> tuple[dict, bytes]:
        """``shard/call`` from another node: run a worker method on a copy this node holds."""
        index_uuid = payload["index_uuid"]
        shard_number = int(payload["shard_number"])
        local = self.local.get((index_uuid, shard_number))
        if local is None:
            raise ShardNotHostedError(f"shard [{shard_number}] of index uuid [{index_uuid}] is not held by "
                                      f"node [{self.context.node_id}]")
        with trio.move_on_after(30):
            await local.opened.wait()
        return await self.context.workers.call(index_uuid, shard_number, payload["method"],
                                               payload.get("payload") or {}, body)

    def local_copies(self) -> list[LocalShard]:
        return [local for local in self.local.values() if local.opened.is_set()]
