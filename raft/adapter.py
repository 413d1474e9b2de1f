"""THE pysyncobj adapter: the only module of the project that imports pysyncobj.

Owns ``ClusterStateMachine`` (a SyncObj subclass with exactly one replicated method, taking
command bytes), its raft thread, the submit-with-deadline machinery that guarantees every
callback fires exactly once, JSON snapshots (journal + full dump in the data directory) and the
status snapshot. It must never raise inside the replicated method, never pickle domain objects
into the log or the snapshot, never block the caller of ``submit``, never run without the
cluster secret as pysyncobj's password, and never import trio or anything async: node/ bridges
the callbacks (which run on the raft thread) with ``token.run_sync_soon``.

The pysyncobj pitfalls of DESIGN §8, and how each is met here:
- the tick thread dies with the thread that built the SyncObj → we run our own raft thread
  (``autoTick=False``) that also stops when the constructing thread ends; construct on MAIN;
- an exception in a replicated method wedges the cluster → ``apply`` never raises, and the
  method wraps it once more;
- attributes set before ``super().__init__`` miss snapshots → the state is set after it, and
  snapshots are our own JSON files (custom serializer), not a pickle of ``__dict__``;
- callbacks may never fire after a leader change → every submission carries a deadline, checked
  on every tick, and fires "unknown" when it passes;
- journal-only nodes lose state on full restart → ``journalFile`` and ``fullDumpFile`` always set;
- pysyncobj never fsyncs → our snapshot writer fsyncs the file before pysyncobj renames it;
- pysyncobj binds 0.0.0.0 unless told → ``bindAddress`` defaults to the node's own raft address.
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson
from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf, replicated
from pysyncobj.syncobj import SyncObjException
from pysyncobj.transport import TCPTransport

from raft.apply import CommandOutcome, apply
from raft.commands import Command, encode_command
from raft.errors import AdapterClosedError, RaftBindError, RaftConfigurationError, StateDecodeError
from raft.state import ClusterState, initial_cluster_state

logger = logging.getLogger(__name__)

def without_redundant_truncation(message: Any, first_index: int, last_index: int,
                                 term_at: Callable[[int], int | None]) -> Any:
    """An append_entries message as a follower holding log entries ``first_index..last_index``
    (``term_at(i)`` their terms) should apply it under Raft's rule: delete entries only where they
    CONFLICT with the new ones. pysyncobj 0.3.17 deletes every entry after ``prevLogIdx`` whenever
    the follower holds more, even when they are the very entries the leader already sent (its
    pipelined appends overtaken by a resend from a lowered next index, or a heartbeat): entries
    the follower acknowledged — committed, maybe applied ("truncating already-applied log
    entries", CRITICAL) — are gone until the leader resends them, and a follower that voted in
    that window could elect a candidate that lacks committed entries.

    So when every entry of the message is already held with the same term and every entry held
    beyond them carries the message's term (only this leader, in this term, can have sent those:
    they are in its log), the message is answered as for the follower's whole log: prevLogIdx =
    the last held entry, no entries — nothing is deleted, and the success reply's next index is
    true of the leader's log. In every other case the message is returned unchanged."""
    if not isinstance(message, dict) or message.get("type") != "append_entries" or "transmission" in message:
        return message
    if "prevLogIdx" not in message or "entries" not in message:
        return message
    previous_index = int(message["prevLogIdx"])
    if last_index <= previous_index or previous_index < first_index:
        return message
    entries = message["entries"] or []
    for entry in entries:
        if term_at(entry[1]) != entry[2]:
            return message  # a conflict (or a gap): pysyncobj's truncation is Raft's
    leader_term = message.get("term")
    held_beyond = range(previous_index + len(entries) + 1, last_index + 1)
    if not all(term_at(index) == leader_term for index in held_beyond):
        return message
    rewritten = dict(message)
    rewritten["prevLogIdx"] = last_index
    rewritten["prevLogTerm"] = term_at(last_index)
    rewritten["entries"] = []
    return rewritten


class RaftConformingTransport(TCPTransport):
    """pysyncobj's TCP transport, with the follower's side of append_entries kept to Raft's
    truncation rule (``without_redundant_truncation``). Messages are handled on the raft thread,
    the one that also changes the log, so reading the log here is consistent."""

    def _onMessageReceived(self, node: Any, message: Any) -> None:  # noqa: N802 — pysyncobj's name
        if isinstance(message, dict) and message.get("type") == "append_entries":
            log = getattr(self._syncObj, "_SyncObj__raftLog", None)
            if log is not None and len(log):
                first_index = log[0][1]

                def term_at(index: int) -> int | None:
                    position = index - first_index
                    return log[position][2] if 0 <= position < len(log) else None

                message = without_redundant_truncation(message, first_index, log[-1][1], term_at)
        super()._onMessageReceived(node, message)


# The transport every node uses; fault injection subclasses it (e.g. overriding send() to drop
# or delay messages) and passes the subclass as RaftConfig.transport_class, so nothing outside
# raft/ needs to import pysyncobj.
DEFAULT_TRANSPORT_CLASS = RaftConformingTransport

SNAPSHOT_FORMAT = "quidditch-raft-snapshot"
SNAPSHOT_FORMAT_VERSION = 1
JOURNAL_FILE_NAME = "raft.journal"
SNAPSHOT_FILE_NAME = "raft.snapshot.json"

ROLE_FOLLOWER = "follower"
ROLE_CANDIDATE = "candidate"
ROLE_LEADER = "leader"
ROLE_READ_ONLY = "read_only"
_PYSYNCOBJ_ROLES = {0: ROLE_FOLLOWER, 1: ROLE_CANDIDATE, 2: ROLE_LEADER}

# Room for pysyncobj's pickling of (funcID, (bytes,)) around our command bytes.
_ENTRY_OVERHEAD_BYTES = 1024

SUBMIT_COMMITTED = "committed"
SUBMIT_NOT_COMMITTED = "not_committed"
SUBMIT_UNKNOWN = "unknown"

# pysyncobj failure codes → what the caller may conclude. Only codes that prove the entry is not
# (and never will be) in the log are "not_committed"; everything else is honestly unknown.
_FAILURE_MEANING = {
    FAIL_REASON.QUEUE_FULL: (SUBMIT_NOT_COMMITTED, "queue_full"),
    FAIL_REASON.MISSING_LEADER: (SUBMIT_NOT_COMMITTED, "no_leader"),
    FAIL_REASON.DISCARDED: (SUBMIT_NOT_COMMITTED, "discarded"),
    FAIL_REASON.NOT_LEADER: (SUBMIT_NOT_COMMITTED, "not_leader"),
    FAIL_REASON.REQUEST_DENIED: (SUBMIT_NOT_COMMITTED, "request_denied"),
    FAIL_REASON.LEADER_CHANGED: (SUBMIT_UNKNOWN, "leader_changed"),
    FAIL_REASON.UNKNOWN_OUTCOME: (SUBMIT_UNKNOWN, "unknown_outcome"),
}


@dataclass(frozen=True, slots=True)
class RaftConfig:
    """How one node takes part in Raft. Every field is checked by ``validate``."""

    cluster_name: str
    cluster_secret: str                 # pysyncobj's password: encrypts and authenticates peers
    data_directory: Path                # owned by raft/: journal and snapshot live here
    self_address: str | None            # this voter's "host:port"; None = read-only non-voter
    voter_addresses: tuple[str, ...]    # every voter, self included, same list on every voter
    bind_address: str | None = None     # default: self_address (never 0.0.0.0 by accident)
    batching: bool = False              # pysyncobj appendEntriesUseBatch; off = ~1 ms commits
    transport_class: type | None = None  # a pysyncobj Transport subclass (fault injection)
    election_timeout_min_seconds: float = 0.4
    election_timeout_max_seconds: float = 1.4
    append_entries_period_seconds: float = 0.1
    # A leader cut off from the majority steps down after this long (pysyncobj's default is 30 s,
    # during which it believes it leads; fencing covers the overlap, a short value narrows it).
    leader_fallback_timeout_seconds: float = 2.0
    connection_timeout_seconds: float = 3.5
    connection_retry_seconds: float = 1.0
    # pysyncobj sends an entry at least this large in chunks, and its chunking marks "finish"
    # by the command's length instead of the pickled entry's, so the last bytes can be cut off
    # (reproduced with 0.3.17: a 131 019-byte command made the follower's tick fail to unpickle
    # the entry). A limit far above any command (UDF modules are capped at 1 MiB) keeps every
    # entry on the whole-message path; submit() refuses anything larger.
    append_entries_batch_size_bytes: int = 8 * 1024 * 1024
    log_compaction_min_entries: int = 5000
    log_compaction_min_seconds: float = 300.0
    bind_retry_seconds: float = 0.2
    max_bind_attempts: int = 10
    tick_seconds: float = 0.05

    def validate(self) -> None:
        problems: list[str] = []
        if not self.cluster_secret:
            problems.append("cluster_secret must not be empty: pysyncobj unpickles what arrives "
                            "on its port unless a password is set")
        if not self.cluster_name:
            problems.append("cluster_name must not be empty")
        if self.self_address is not None and self.self_address not in self.voter_addresses:
            problems.append(f"self_address [{self.self_address}] must be one of voter_addresses "
                            f"{list(self.voter_addresses)}")
        if not self.voter_addresses:
            problems.append("voter_addresses must name at least one voter")
        for address in self.voter_addresses + ((self.bind_address,) if self.bind_address else ()):
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                problems.append(f"raft address must be host:port, got [{address}]")
        if len(set(self.voter_addresses)) != len(self.voter_addresses):
            problems.append(f"voter_addresses has duplicates: {list(self.voter_addresses)}")
        if not self.election_timeout_min_seconds > self.append_entries_period_seconds * 3:
            problems.append("election_timeout_min_seconds must exceed 3 × append_entries_period_seconds")
        if not self.election_timeout_max_seconds > self.election_timeout_min_seconds:
            problems.append("election_timeout_max_seconds must exceed election_timeout_min_seconds")
        if not self.connection_timeout_seconds >= self.election_timeout_max_seconds:
            problems.append("connection_timeout_seconds must be at least election_timeout_max_seconds")
        if not self.leader_fallback_timeout_seconds > self.append_entries_period_seconds:
            problems.append("leader_fallback_timeout_seconds must exceed append_entries_period_seconds")
        if self.max_bind_attempts < 1:
            problems.append(f"max_bind_attempts must be at least 1, got {self.max_bind_attempts}")
        if not self.tick_seconds > 0:
            problems.append(f"tick_seconds must be positive, got {self.tick_seconds}")
        if self.append_entries_batch_size_bytes <= 2 * _ENTRY_OVERHEAD_BYTES:
            problems.append(f"append_entries_batch_size_bytes must exceed {2 * _ENTRY_OVERHEAD_BYTES}, "
                            f"got {self.append_entries_batch_size_bytes}")
        if self.log_compaction_min_entries < 2:
            problems.append(f"log_compaction_min_entries must be at least 2, got "
                            f"{self.log_compaction_min_entries}")
        if problems:
            raise RaftConfigurationError("invalid raft configuration: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What became of one submission. ``outcome`` is set exactly when status is committed."""

    status: str      # committed | not_committed | unknown
    outcome: CommandOutcome | None
    reason: str


@dataclass(frozen=True, slots=True)
class RaftStatus:
    raft_term: int
    leader_address: str | None
    role: str        # leader | follower | candidate | read_only
    commit_index: int
    last_applied: int
    is_ready: bool
    has_quorum: bool
    self_address: str | None
    state_version: int


@dataclass(slots=True)
class _PendingSubmission:
    callback: Callable[[SubmitResult], None]
    deadline: float
    command_id: str = field(default="")
    command_bytes: bytes = b""
    # False while we hold it (no leader known yet): expiring then is a definite not_committed.
    handed_to_pysyncobj: bool = False


StateListener = Callable[[ClusterState, "CommandOutcome | None"], None]
StatusListener = Callable[[RaftStatus], None]


class ClusterStateMachine(SyncObj):
    """The replicated cluster state. Construct on the main thread; see the module docstring."""

    def __init__(self, config: RaftConfig, state_listeners: tuple[StateListener, ...] = (),
                 status_listeners: tuple[StatusListener, ...] = ()) -> None:
        """Listeners given here are registered before the raft thread starts, so they also see
        the restore from the snapshot and the journal replay of a restart."""
        config.validate()
        self._config = config
        data_directory = Path(config.data_directory)
        try:
            data_directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RaftConfigurationError(
                f"cannot create raft data_directory [{data_directory}]: {error}") from error
        self._data_directory = data_directory
        # pysyncobj swallows a failure to load the snapshot and would carry on from an empty
        # state plus a compacted journal: silent loss. Check the file first and refuse to start.
        _check_snapshot_file(data_directory / SNAPSHOT_FILE_NAME)
        # Plumbing only; the cluster state itself is set after super().__init__ (DESIGN §8).
        self._lock = threading.Lock()
        self._pending: dict[int, _PendingSubmission] = {}
        # Submissions held until a leader is known (tokens into _pending), so that a command that
        # never found a leader fails definitely instead of committing long after its deadline.
        self._awaiting_leader: list[int] = []
        self._submission_counter = itertools.count(1)
        self._state_listeners: list[StateListener] = list(state_listeners)
        self._status_listeners: list[StatusListener] = list(status_listeners)
        self._closing = threading.Event()
        self._closed = threading.Event()
        self._constructing_thread = threading.current_thread()
        self._current_role = ROLE_READ_ONLY if config.self_address is None else ROLE_FOLLOWER

        conf = SyncObjConf(
            password=config.cluster_secret,
            autoTick=False,
            journalFile=str(data_directory / JOURNAL_FILE_NAME),
            fullDumpFile=str(data_directory / SNAPSHOT_FILE_NAME),
            serializer=self._write_snapshot_file,
            deserializer=self._read_snapshot_file,
            useFork=False,
            dynamicMembershipChange=False,
            appendEntriesUseBatch=config.batching,
            appendEntriesBatchSizeBytes=config.append_entries_batch_size_bytes,
            bindAddress=config.bind_address or config.self_address,
            raftMinTimeout=config.election_timeout_min_seconds,
            raftMaxTimeout=config.election_timeout_max_seconds,
            appendEntriesPeriod=config.append_entries_period_seconds,
            leaderFallbackTimeout=config.leader_fallback_timeout_seconds,
            connectionTimeout=config.connection_timeout_seconds,
            connectionRetryTime=config.connection_retry_seconds,
            logCompactionMinEntries=config.log_compaction_min_entries,
            logCompactionMinTime=config.log_compaction_min_seconds,
            bindRetryTime=config.bind_retry_seconds,
            maxBindRetries=config.max_bind_attempts,
            onStateChanged=self._on_raft_role_changed,
            commandsWaitLeader=False,  # we hold commands ourselves until a leader is known
        )
        other_voters = [a for a in config.voter_addresses if a != config.self_address]
        extra: dict[str, Any] = {"transportClass": config.transport_class or DEFAULT_TRANSPORT_CLASS}
        try:
            super().__init__(config.self_address, other_voters, conf=conf, **extra)
        except SyncObjException as error:
            try:
                self._doDestroy()  # close the journal's mmap and the unbound server socket
            except Exception:
                logger.exception("cleanup after a failed raft bind failed")
            raise RaftBindError(
                f"cannot bind the raft address [{conf.bindAddress}] after "
                f"{config.max_bind_attempts} attempts") from error
        except (OSError, ValueError, IndexError, EOFError, struct.error) as error:
            # pysyncobj reads its journal in the constructor; a damaged file surfaces here.
            raise StateDecodeError(
                f"raft journal [{data_directory / JOURNAL_FILE_NAME}] is unreadable: {error}") from error
        self._cluster_state: ClusterState = initial_cluster_state(config.cluster_name)
        self._status_snapshot = self._build_status()
        self._raft_thread = threading.Thread(
            target=self._run_raft_thread, name=f"raft-{config.self_address or 'read-only'}",
            daemon=True)
        self._raft_thread.start()

    # ---- the one replicated method -----------------------------------------------------------

    @replicated
    def apply_command_bytes(self, command_bytes: bytes) -> CommandOutcome:
        """Runs on every node, in log order. Never raises (DESIGN §8)."""
        try:
            previous_state = self._cluster_state
            new_state, outcome = apply(previous_state, command_bytes)
            if new_state is not previous_state:
                self._cluster_state = new_state
                self._notify_state_listeners(new_state, outcome)
            return outcome
        except Exception as error:  # pragma: no cover - apply() itself never raises
            logger.exception("raft apply failed unexpectedly")
            return CommandOutcome(command_id="", command_type="", accepted=False,
                                  state_version=self._cluster_state.version,
                                  error_type="state_machine_exception", reason=repr(error))

    # ---- public API --------------------------------------------------------------------------

    @property
    def state(self) -> ClusterState:
        """The latest applied state; a plain reference read, safe from any thread."""
        return getattr(self, "_cluster_state", None)  # type: ignore[return-value]

    @property
    def config(self) -> RaftConfig:
        return self._config

    def submit(self, command: Command | bytes, callback: Callable[[SubmitResult], None],
               timeout_seconds: float) -> None:
        """Propose a command. Never blocks; ``callback`` fires exactly once, on the raft thread,
        or synchronously before submit returns when the adapter is closed or the command is too
        large (both ``not_committed``). A command that cannot be JSON-encoded raises TypeError
        (a programming error, not an outcome)."""
        command_bytes = encode_command(command) if isinstance(command, Command) else bytes(command)
        if len(command_bytes) > self._config.append_entries_batch_size_bytes - _ENTRY_OVERHEAD_BYTES:
            self._fire(_PendingSubmission(callback=callback, deadline=0.0), SubmitResult(
                SUBMIT_NOT_COMMITTED, None,
                f"command_too_large: {len(command_bytes)} bytes, limit "
                f"{self._config.append_entries_batch_size_bytes - _ENTRY_OVERHEAD_BYTES}"))
            return
        pending = _PendingSubmission(
            callback=callback, deadline=time.monotonic() + max(0.0, timeout_seconds),
            command_id=getattr(command, "command_id", ""), command_bytes=command_bytes)
        with self._lock:
            closed = self._closing.is_set()
            if not closed:
                token = next(self._submission_counter)
                self._pending[token] = pending
                leader_known = self._getLeader() is not None
                if leader_known:
                    pending.handed_to_pysyncobj = True
                else:
                    self._awaiting_leader.append(token)
        if closed:
            self._fire(pending, SubmitResult(SUBMIT_NOT_COMMITTED, None, "closed"))
            return
        if leader_known:
            self._hand_to_pysyncobj(token, command_bytes)

    def _hand_to_pysyncobj(self, token: int, command_bytes: bytes) -> None:
        self.apply_command_bytes(
            command_bytes, callback=lambda result, error: self._on_submission_done(token, result, error))

    def submit_and_wait(self, command: Command | bytes, timeout_seconds: float) -> SubmitResult:
        """Blocking convenience for tests and tools; never call it on the raft thread."""
        if threading.current_thread() is getattr(self, "_raft_thread", None):
            raise RuntimeError("submit_and_wait on the raft thread would deadlock")
        done = threading.Event()
        results: list[SubmitResult] = []

        def on_result(result: SubmitResult) -> None:
            results.append(result)
            done.set()

        self.submit(command, on_result, timeout_seconds)
        done.wait(timeout_seconds + 5.0)
        if not results:
            return SubmitResult(SUBMIT_UNKNOWN, None, "timeout")
        return results[0]

    def on_state_applied(self, listener: StateListener) -> None:
        """``listener(state, outcome)`` after each accepted command, in version order, on the
        raft thread; ``outcome`` is None after a snapshot restore. Exceptions are logged."""
        with self._lock:
            self._state_listeners.append(listener)

    def on_status_changed(self, listener: StatusListener) -> None:
        """``listener(status)`` when the role, leader or term changes, on the raft thread."""
        with self._lock:
            self._status_listeners.append(listener)

    def status(self) -> RaftStatus:
        """The status as of the last tick (at most one tick period old)."""
        return self._status_snapshot

    def close(self) -> None:
        """Stop the raft thread, close the journal and sockets, and fire every pending callback
        as unknown. Idempotent."""
        self._closing.set()
        raft_thread = getattr(self, "_raft_thread", None)
        if raft_thread is not None and raft_thread is not threading.current_thread():
            raft_thread.join()
        self._fail_all_pending("closed")

    def check_open(self) -> None:
        if self._closing.is_set():
            raise AdapterClosedError("the raft adapter is closed")

    # ---- raft thread -------------------------------------------------------------------------

    def _run_raft_thread(self) -> None:
        try:
            while not self._closing.is_set() and self._constructing_thread.is_alive():
                try:
                    self.doTick(self._config.tick_seconds)
                except Exception:
                    logger.exception("raft tick failed")
                    time.sleep(self._config.tick_seconds)
                self._hand_over_awaiting_commands()
                self._expire_deadlines()
                self._refresh_status()
        finally:
            try:
                self._doDestroy()
            except Exception:
                logger.exception("raft shutdown failed")
            self._closing.set()
            self._closed.set()
            self._fail_all_pending("closed")

    def _hand_over_awaiting_commands(self) -> None:
        if not self._awaiting_leader or self._getLeader() is None:
            return
        with self._lock:
            tokens, self._awaiting_leader = self._awaiting_leader, []
            handover = []
            for token in tokens:
                pending = self._pending.get(token)
                if pending is not None:
                    pending.handed_to_pysyncobj = True
                    handover.append((token, pending.command_bytes))
        for token, command_bytes in handover:
            self._hand_to_pysyncobj(token, command_bytes)

    def _on_submission_done(self, token: int, result: Any, error: int) -> None:
        with self._lock:
            if error == FAIL_REASON.MISSING_LEADER and token in self._pending:
                # pysyncobj dropped it without appending (the leader vanished between our check
                # and its tick): hold it again until a leader is known or the deadline passes.
                self._pending[token].handed_to_pysyncobj = False
                self._awaiting_leader.append(token)
                return
            pending = self._pending.pop(token, None)
        if pending is None:
            return  # already timed out: the caller was told "unknown" and that stands
        if error == FAIL_REASON.SUCCESS:
            submit_result = SubmitResult(SUBMIT_COMMITTED, result, "committed")
        else:
            status, reason = _FAILURE_MEANING.get(error, (SUBMIT_UNKNOWN, f"pysyncobj_error_{error}"))
            submit_result = SubmitResult(status, None, reason)
        self._fire(pending, submit_result)

    def _expire_deadlines(self) -> None:
        now = time.monotonic()
        with self._lock:
            expired = [token for token, pending in self._pending.items() if pending.deadline <= now]
            expired_submissions = [self._pending.pop(token) for token in expired]
        for pending in expired_submissions:
            self._fire(pending, _undelivered_result(pending, "timeout"))

    def _fail_all_pending(self, reason: str) -> None:
        with self._lock:
            remaining = list(self._pending.values())
            self._pending.clear()
        for pending in remaining:
            self._fire(pending, _undelivered_result(pending, reason))

    @staticmethod
    def _fire(pending: _PendingSubmission, result: SubmitResult) -> None:
        try:
            pending.callback(result)
        except Exception:
            logger.exception("raft submit callback raised; ignored")

    def _notify_state_listeners(self, state: ClusterState, outcome: CommandOutcome | None) -> None:
        with self._lock:
            listeners = list(self._state_listeners)
        for listener in listeners:
            try:
                listener(state, outcome)
            except Exception:
                logger.exception("cluster state listener raised; ignored")

    def _on_raft_role_changed(self, old_state: int, new_state: int) -> None:
        if self._config.self_address is not None:
            self._current_role = _PYSYNCOBJ_ROLES.get(new_state, ROLE_FOLLOWER)

    def _build_status(self) -> RaftStatus:
        leader = self._getLeader()
        leader_address = None if leader is None else getattr(leader, "address", None) or str(leader.id)
        state = self.state
        return RaftStatus(
            raft_term=self.raftCurrentTerm, leader_address=leader_address,
            role=self._current_role, commit_index=self.raftCommitIndex,
            last_applied=self.raftLastApplied, is_ready=self.isReady(),
            has_quorum=self.hasQuorum, self_address=self._config.self_address,
            state_version=0 if state is None else state.version)

    def _refresh_status(self) -> None:
        previous = self._status_snapshot
        current = self._build_status()
        self._status_snapshot = current
        if (previous.role, previous.leader_address, previous.raft_term) != (
                current.role, current.leader_address, current.raft_term):
            with self._lock:
                listeners = list(self._status_listeners)
            for listener in listeners:
                try:
                    listener(current)
                except Exception:
                    logger.exception("raft status listener raised; ignored")

    # ---- snapshots: our JSON, not a pickle of __dict__ ---------------------------------------

    def _write_snapshot_file(self, file_name: str, raft_data: tuple) -> None:
        """pysyncobj's serializer hook, on the raft thread: raft_data is (last applied entry,
        the entry before it, cluster nodes). Our state is exactly as of the last applied entry."""
        last_entry, previous_entry, _cluster = raft_data
        document = {
            "format": SNAPSHOT_FORMAT, "format_version": SNAPSHOT_FORMAT_VERSION,
            "last_entry": _entry_to_json(last_entry),
            "previous_entry": _entry_to_json(previous_entry),
            "state": self._cluster_state.to_json(),
        }
        with open(file_name, "wb") as snapshot_file:
            snapshot_file.write(orjson.dumps(document))
            snapshot_file.flush()
            os.fsync(snapshot_file.fileno())  # pysyncobj renames it but never fsyncs

    def _read_snapshot_file(self, file_name: str) -> tuple:
        """pysyncobj's deserializer hook (restart, or a snapshot installed from the leader)."""
        with open(file_name, "rb") as snapshot_file:
            document = orjson.loads(snapshot_file.read())
        if document.get("format") != SNAPSHOT_FORMAT or \
                document.get("format_version") != SNAPSHOT_FORMAT_VERSION:
            raise StateDecodeError(
                f"raft snapshot [{file_name}] has format {document.get('format')!r} version "
                f"{document.get('format_version')!r}, expected {SNAPSHOT_FORMAT!r} "
                f"{SNAPSHOT_FORMAT_VERSION}")
        state = ClusterState.from_json(document["state"])
        self._cluster_state = state
        self._notify_state_listeners(state, None)
        return (_entry_from_json(document["last_entry"]),
                _entry_from_json(document["previous_entry"]), [])


def _undelivered_result(pending: _PendingSubmission, reason: str) -> SubmitResult:
    """What a caller learns when its answer never came: a command we still held (no leader was
    ever known) is definitely not in the log; one pysyncobj had may or may not be."""
    if not pending.handed_to_pysyncobj:
        return SubmitResult(SUBMIT_NOT_COMMITTED, None, "no_leader" if reason == "timeout" else reason)
    return SubmitResult(SUBMIT_UNKNOWN, None, reason)


def _check_snapshot_file(path: Path) -> None:
    if not path.exists():
        return
    try:
        document = orjson.loads(path.read_bytes())
        if document.get("format") != SNAPSHOT_FORMAT or \
                document.get("format_version") != SNAPSHOT_FORMAT_VERSION:
            raise StateDecodeError(
                f"format {document.get('format')!r} version {document.get('format_version')!r}, "
                f"expected {SNAPSHOT_FORMAT!r} {SNAPSHOT_FORMAT_VERSION}")
        ClusterState.from_json(document["state"])
        _entry_from_json(document["last_entry"])
        _entry_from_json(document["previous_entry"])
    except (orjson.JSONDecodeError, StateDecodeError, KeyError, TypeError, ValueError,
            AttributeError) as error:
        raise StateDecodeError(
            f"raft snapshot [{path}] is unreadable ({error}); refusing to start rather than "
            f"lose the cluster state — restore the file or remove this node's raft directory "
            f"so it recovers from the other voters") from error


def _entry_to_json(entry: tuple) -> list:
    command, index, term = entry
    return [base64.b64encode(bytes(command)).decode("ascii"), index, term]


def _entry_from_json(data: list) -> tuple:
    command, index, term = data
    return (base64.b64decode(command), int(index), int(term))


# ---- reading a stopped node's log (``quidditch cluster-state-history``) ---------------------

def read_stopped_log(data_directory: Path) -> tuple[ClusterState | None, int, list[tuple[bytes, int, int]]]:
    """A stopped node's Raft log, for inspection: (the snapshot's cluster state or None, the raft
    index it covers (0 without one), then every journal entry after it that carries a command, as
    (command bytes, raft index, raft term)). Reads a copy of the journal — pysyncobj opens the file
    read-write — so the node's files are never changed; never run it on a live node's directory
    expecting a stable answer. Only this module may speak pysyncobj's formats."""
    import pickle
    import shutil
    import tempfile

    from pysyncobj.journal import createJournal

    snapshot_state, snapshot_index = None, 0
    snapshot_path = data_directory / SNAPSHOT_FILE_NAME
    if snapshot_path.exists():
        _check_snapshot_file(snapshot_path)
        document = orjson.loads(snapshot_path.read_bytes())
        snapshot_state = ClusterState.from_json(document["state"])
        snapshot_index = _entry_from_json(document["last_entry"])[1]
    journal_path = data_directory / JOURNAL_FILE_NAME
    if not journal_path.exists():
        raise RaftConfigurationError(f"no raft journal at [{journal_path}]")
    entries: list[tuple[bytes, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="quidditch-journal-") as scratch:
        copied = Path(scratch) / JOURNAL_FILE_NAME
        shutil.copyfile(journal_path, copied)
        if (journal_path.parent / (JOURNAL_FILE_NAME + ".meta")).exists():
            shutil.copyfile(journal_path.parent / (JOURNAL_FILE_NAME + ".meta"),
                            Path(scratch) / (JOURNAL_FILE_NAME + ".meta"))
        journal = createJournal(str(copied))
        try:
            for position in range(len(journal)):
                data, raft_index, raft_term = journal[position]
                # pysyncobj frames a replicated call as a type byte (0: a command) and a pickle of
                # (method number, arguments); other types are its own no-ops and membership changes
                if raft_index <= snapshot_index or not data or data[:1] != b"\x00":
                    continue
                _method, arguments = pickle.loads(data[1:])[:2]
                entries.append((bytes(arguments[0]), raft_index, raft_term))
        finally:
            journal._destroy()   # closes its mmap
    return snapshot_state, snapshot_index, entries
