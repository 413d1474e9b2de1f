"""One run: start (or attach to) a cluster, drive the workloads while the nemesis works, heal,
check, and write the run directory.

Owns: the workload loops (set with refresh-then-read, register), the metrics observer, the
heal and convergence phase, the final reads, and results.json / summary.txt. Must never
decide a verdict itself (checkers.py does) and never leave a node running or a fault applied
(everything is undone in ``finally`` blocks).

Run directory:

    history.jsonl        one record per operation (history.py)
    nemesis-plan.json    the seeded plan;  nemesis.jsonl  what was applied, healed or skipped
    observations.jsonl   metrics polls (raft term, leader flag, cluster-state version) per node
    faults.json          the faults file the nodes read (local clusters)
    logs/, nodes/        node output and data directories (local clusters)
    results.json         a verdict per checker, the seed, the nemeses applied or skipped
    summary.txt          for humans; the last line is "N passed, N failed"
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from jepsen_lite import checkers, netns
from jepsen_lite.client import NodeClient
from jepsen_lite.cluster import CommandControl, LocalCluster, find_libfaketime
from jepsen_lite.generator import NemesisStep, plan_ci, plan_soak, process_rng
from jepsen_lite.history import History
from jepsen_lite.nemesis import FaultsFile, Nemesis

FAULTS_FILE_VARIABLE = "QUIDDITCH_TEST_FAULTS_FILE"
UNSAFE_ACK_VARIABLE = "QUIDDITCH_TEST_UNSAFE_ACK_BEFORE_REPLICATION"
WORKLOADS = ("set", "register")
OPERATIONS_PER_REGISTER_KEY = 40   # the WGL search stays in milliseconds at this length
# the acknowledgement probe's documents: fixed ids, so which of them route to the primary's shard
# is the same in every run (and with 2 shards, 24 ids cannot all miss shard 0)
PROBE_DOCUMENT_COUNT = 24
PROBE_PROCESS_BASE = 900
PROBE_WRITE_TIMEOUT_SECONDS = 4.0
PROBE_PROMOTION_BOUND_SECONDS = 60.0


SOAK_SET_SECONDS_PER_LIMIT = 360.0   # the set workload acknowledged ~3,000 adds in its first ~400 s of a soak


@dataclass(frozen=True)
class RunOptions:
    profile: str
    seed: int
    seed_source: str
    faults: tuple[str, ...]
    workloads: tuple[str, ...]
    out: Path
    node_count: int = 3
    soak_seconds: float = 3600.0
    endpoints: tuple[str, ...] = ()
    fault_commands: dict = field(default_factory=dict)
    node_environment: dict = field(default_factory=dict)
    required_test_settings: tuple[str, ...] = ()
    resiliency_document: Path | None = None
    set_workers: int = 3
    register_workers: int = 3
    max_set_documents: int = 3000
    operation_timeout_seconds: float = 5.0
    convergence_bound_seconds: float = 60.0
    recovery_bound_seconds: float = 60.0
    tail_seconds: float = 5.0
    raft_port_base: int | None = None
    network: str = "auto"   # auto | netns | loopback
    clock_skews: dict = field(default_factory=dict)   # node name → wall-clock offset in seconds (libfaketime)


@dataclass
class RunOutcome:
    exit_code: int
    results: dict
    run_directory: Path


class Run:
    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.out = Path(options.out)
        self.out.mkdir(parents=True, exist_ok=True)
        suffix = f"{options.seed % 100000}-{int(time.time()) % 100000}"
        self.set_index = f"jepsen-set-{suffix}"
        self.register_index = f"jepsen-register-{suffix}"
        self.history = History(self.out / "history.jsonl")
        self.stop_workers = threading.Event()
        self.node_crashes: list[dict] = []
        self.crash_lock = threading.Lock()
        self.stop_observer = threading.Event()
        self.observations: list[dict] = []
        self.register_lock = threading.Lock()
        self.register_operation_count = 0
        self.cluster: LocalCluster | None = None
        self.addresses: dict[str, str] = {}
        self.notes: list[str] = []
        self.network = None
        self.network_note = ""
        self.network_summary = ""
        self.clock_skip_reason = ""
        self.probe_reports: list[dict] = []

    # ------------------------------------------------------------------ helpers

    def say(self, message: str) -> None:
        line = f"[jepsen-lite +{time.monotonic() - self.history.started_at:7.1f}s] {message}"
        print(line, flush=True)
        with open(self.out / "run.log", "a", encoding="utf-8") as output:
            output.write(line + "\n")

    def record_node_crashes(self) -> None:
        """Note node processes that died without a nemesis step (checked by node-crashes)."""
        if self.cluster is None:
            return
        with self.crash_lock:   # the observer thread and the main thread both look
            exits = self.cluster.unexpected_exits()
        for name, incarnation, code in exits:
            crash = {"time": round(time.monotonic() - self.history.started_at, 3), "node": name,
                     "incarnation": incarnation, "exit_code": code}
            self.node_crashes.append(crash)
            self.say(f"node {name} (incarnation {incarnation}) exited on its own with code {code}")

    def incarnation(self, name: str) -> int:
        return self.cluster.node(name).incarnation if self.cluster is not None else 0

    def any_answer(self, call, timeout_seconds: float = 3.0):
        """The first node that answers ``call(client)`` with a non-None result."""
        for name, address in self.addresses.items():
            client = NodeClient(address, timeout_seconds)
            try:
                result = call(client)
                if result is not None:
                    return result
            finally:
                client.close()
        return None

    def resolve_role(self, role: str) -> str | None:
        if role == "primary":
            def primary(client: NodeClient):
                answer = client.cat_shards(self.set_index)
                if answer.status == 200 and isinstance(answer.body, list):
                    for row in answer.body:
                        if str(row.get("shard")) == "0" and row.get("prirep") == "p" and row.get("state") == "STARTED":
                            return row.get("node")
                return None
            return self.any_answer(primary)
        if role == "master":
            def master(client: NodeClient):
                answer = client.cluster_state()
                if answer.status == 200 and isinstance(answer.body, dict):
                    master_id = answer.body.get("master_node")
                    node = answer.body.get("nodes", {}).get(master_id or "", {})
                    return node.get("name")
                return None
            return self.any_answer(master)
        raise ValueError(f"role: expected primary or master, got {role!r}")

    def honoured(self, variable: str) -> bool:
        """A test-only setting counts as honoured only when every node says so: its name
        (lowercased, without the QUIDDITCH_TEST_ prefix) appears in GET /_nodes/_local, or
        the variable's name appears in the node's log."""
        setting = variable.removeprefix("QUIDDITCH_TEST_").lower()
        for name, address in self.addresses.items():
            client = NodeClient(address, 5.0)
            try:
                body = orjson.dumps(client.nodes_local().body).decode().lower()
            finally:
                client.close()
            if setting in body or variable.lower() in body:
                continue
            if self.cluster is not None:
                log_path = self.cluster.node(name).data_directory / "logs" / "node.log"
                if log_path.exists() and variable in log_path.read_text(errors="replace"):
                    continue
            return False
        return True

    # ------------------------------------------------------------------ workloads

    def set_document_limit(self) -> int:
        """How many unique documents the set workload adds: ``max_set_documents`` for the CI profile;
        a soak adds as many per SOAK_SET_SECONDS_PER_LIMIT of planned faults, so the set workload
        writes for the whole soak instead of stopping after its first minutes."""
        if self.options.profile != "soak":
            return self.options.max_set_documents
        periods = max(1.0, self.options.soak_seconds / SOAK_SET_SECONDS_PER_LIMIT)
        return int(self.options.max_set_documents * periods)

    def set_worker(self, process: int) -> None:
        rng = process_rng(self.options.seed, process)
        clients = {name: NodeClient(address, self.options.operation_timeout_seconds)
                   for name, address in self.addresses.items()}
        names = sorted(clients)
        sequence = 0
        per_worker_limit = self.set_document_limit() // max(1, self.options.set_workers)
        try:
            while not self.stop_workers.is_set():
                node = rng.choice(names)
                client = clients[node]
                draw = rng.random()
                if draw < 0.55 and sequence < per_worker_limit:
                    document_id = f"{process}-{sequence}"
                    sequence += 1
                    invocation = self.history.invoke(process, "add", document_id, node)
                    answer = client.index_document(self.set_index, document_id, {"process": process})
                    self.history.complete(invocation, answer.outcome, None)
                elif draw < 0.70 and sequence < per_worker_limit:
                    ids = [f"{process}-{sequence + offset}" for offset in range(4)]
                    sequence += 4
                    invocation = self.history.invoke(process, "add_bulk", ids, node)
                    answer, outcomes = client.bulk_index(self.set_index, [(i, {"process": process}) for i in ids])
                    if answer.status == 200 and isinstance(answer.body, dict) and "items" in answer.body:
                        grouped = {"ok": [], "fail": [], "info": []}
                        for document_id, outcome in zip(ids, outcomes):
                            grouped[outcome].append(document_id)
                        self.history.complete(invocation, "ok", grouped)
                    else:
                        self.history.complete(invocation, outcomes[0], None)
                elif draw < 0.82:
                    invocation = self.history.invoke(process, "refresh", self.set_index, node)
                    answer = client.refresh(self.set_index)
                    shards = answer.body.get("_shards", {}) if isinstance(answer.body, dict) else {}
                    complete = answer.status == 200 and not shards.get("failed") and \
                        shards.get("successful") == shards.get("total")
                    # a partial refresh promises nothing: recorded as fail so no read relies on it
                    self.history.complete(invocation, "ok" if complete else
                                          ("info" if answer.outcome == "info" else "fail"), None)
                else:
                    invocation = self.history.invoke(process, "read", None, node)
                    outcome, ids, _ = client.search_ids(self.set_index)
                    self.history.complete(invocation, outcome, ids)
                time.sleep(0.01)
        finally:
            for client in clients.values():
                client.close()

    def next_register_key(self) -> str:
        with self.register_lock:
            key_number = self.register_operation_count // OPERATIONS_PER_REGISTER_KEY
            self.register_operation_count += 1
            return f"k{key_number}"

    def register_worker(self, process: int) -> None:
        rng = process_rng(self.options.seed, process)
        clients = {name: NodeClient(address, self.options.operation_timeout_seconds)
                   for name, address in self.addresses.items()}
        names = sorted(clients)
        counter = 0
        last_seen: dict[str, object] = {}
        try:
            while not self.stop_workers.is_set():
                node = rng.choice(names)
                client = clients[node]
                key = self.next_register_key()
                draw = rng.random()
                if draw < 0.4:
                    invocation = self.history.invoke(process, "read_register", {"key": key}, node)
                    read = client.get_document(self.register_index, key)
                    if read.outcome == "ok":
                        value = read.source.get("value") if read.found and read.source else None
                        last_seen[key] = value
                        self.history.complete(invocation, "ok", {"key": key, "value": value})
                    else:
                        self.history.complete(invocation, "fail", None)
                else:
                    counter += 1
                    new_value = process * 1_000_000 + counter   # unique: a value never comes back
                    if draw < 0.7 or key not in last_seen:
                        invocation = self.history.invoke(process, "write", {"key": key, "value": new_value}, node)
                        answer = client.index_document(self.register_index, key, {"value": new_value})
                        self.history.complete(invocation, answer.outcome, None)
                    else:
                        expected = last_seen[key]
                        invocation = self.history.invoke(
                            process, "cas", {"key": key, "expected": expected, "new": new_value}, node)
                        read = client.get_document(self.register_index, key)
                        current = read.source.get("value") if read.found and read.source else None
                        if read.outcome != "ok" or current != expected:
                            # nothing was sent: definitely not applied
                            self.history.complete(invocation, "fail", None)
                        else:
                            answer = client.conditional_write(
                                self.register_index, key, {"value": new_value},
                                read.seq_no if read.found else None, read.primary_term if read.found else None)
                            # 409: the version moved since our read; values are unique, so the
                            # register no longer held ``expected`` — a correct failed cas
                            self.history.complete(invocation, answer.outcome, None)
                time.sleep(0.01)
        finally:
            for client in clients.values():
                client.close()

    def observer(self) -> None:
        clients = {name: NodeClient(address, 1.0) for name, address in self.addresses.items()}
        try:
            with open(self.out / "observations.jsonl", "ab") as output:
                while not self.stop_observer.is_set():
                    for name, client in clients.items():
                        metrics = client.raft_metrics()
                        if metrics is None:
                            continue
                        observation = {"time": round(time.monotonic() - self.history.started_at, 3), "node": name,
                                       "incarnation": self.incarnation(name), **metrics}
                        self.observations.append(observation)
                        output.write(orjson.dumps(observation) + b"\n")
                        output.flush()
                    self.record_node_crashes()
                    self.stop_observer.wait(1.0)
        finally:
            for client in clients.values():
                client.close()

    # ------------------------------------------------------------------ phases

    def start_cluster(self) -> None:
        options = self.options
        if options.endpoints:
            self.addresses = {f"n{number}": address for number, address in enumerate(options.endpoints)}
            self.say(f"using the existing cluster at {', '.join(options.endpoints)}")
            return
        environment = dict(options.node_environment)
        environment[FAULTS_FILE_VARIABLE] = str(self.out / "faults.json")
        if options.network in ("auto", "netns"):
            usable, reason = netns.available()
            if usable:
                names = [f"n{number}" for number in range(options.node_count)]
                use_nftables, nftables_reason = netns.nftables_available()
                netem_usable, netem_reason = netns.netem_available()
                self.network = netns.NamespaceNetwork(f"{os.getpid() % 1000:03d}", names, netns.free_subnet_octet(),
                                                      use_nftables=use_nftables)
                try:
                    self.network.setup()
                except Exception:
                    self.network.teardown()
                    raise
                self.say(f"nodes run in network namespaces on bridge {self.network.bridge} "
                         f"(10.213.{self.network.subnet_octet}.0/24)")
                self.network_summary = (
                    "network namespaces; partitions " + ("and packet loss as nftables rules" if use_nftables else
                                                         f"as blackhole routes (nftables unusable: {nftables_reason}); "
                                                         "packet loss through the faults file")
                    + "; delay through the faults file ("
                    + ("tc netem per link is not implemented" if netem_usable else f"tc netem unusable: {netem_reason}")
                    + ")")
            elif options.network == "netns":
                raise RuntimeError(f"--network netns: {reason}")
            else:
                self.network_note = f"network namespaces not used: {reason}"
                self.say(self.network_note)
        if self.network is None:
            self.network_summary = "loopback; partitions, loss and delay through the nodes' faults file" + \
                (f" ({self.network_note})" if self.network_note else "")
        self.say(f"network: {self.network_summary}")
        unknown_nodes = sorted(set(options.clock_skews) - {f"n{number}" for number in range(options.node_count)})
        if unknown_nodes:
            raise ValueError(f"--clock-skew: expected node names n0..n{options.node_count - 1}, got {unknown_nodes}")
        if options.clock_skews and find_libfaketime() is None:
            raise RuntimeError("--clock-skew needs libfaketime (apt-get install faketime); it was not found")
        clock_files = "clock-skew" in options.faults and find_libfaketime() is not None
        if "clock-skew" in options.faults and not clock_files:
            self.clock_skip_reason = "the clock-skew nemesis needs libfaketime (apt-get install faketime)"
        self.cluster = LocalCluster(self.out, options.node_count, environment=environment,
                                    raft_port_base=options.raft_port_base, network=self.network,
                                    clock_skews=dict(options.clock_skews), clock_files=clock_files)
        self.addresses = {node.name: node.http_address for node in self.cluster.nodes}
        self.faults_file = FaultsFile(self.out / "faults.json", {
            node.name: {"http": node.http_address, "transport": node.transport_address, "raft": node.raft_address}
            for node in self.cluster.nodes})
        self.say(f"starting {options.node_count} nodes (logs in {self.out / 'logs'})")
        self.cluster.start()

    def measure_clock_offsets(self) -> dict[str, float]:
        """Each node's wall clock minus ours, from the ``epoch`` column of ``_cat/health``
        (whole seconds, so ±1 s): proof that a requested skew took effect, not only asked for."""
        offsets = {}
        for name, address in sorted(self.addresses.items()):
            client = NodeClient(address, 10.0)
            try:
                before = time.time()
                answer = client.request("GET", "/_cat/health?format=json")
                after = time.time()
            finally:
                client.close()
            if answer.status == 200 and isinstance(answer.body, list) and answer.body:
                offsets[name] = round(float(answer.body[0]["epoch"]) - (before + after) / 2, 1)
        return offsets

    def prepare_indices(self) -> None:
        replicas = min(2, len(self.addresses) - 1)
        client = NodeClient(next(iter(self.addresses.values())), 60.0)
        try:
            answer = client.health(wait_for_nodes=len(self.addresses), timeout_seconds=60)
            if answer.status != 200:
                raise RuntimeError(f"the cluster did not report {len(self.addresses)} nodes: {answer.body}")
            for index, shards in ((self.set_index, 2), (self.register_index, 1)):
                answer = client.create_index(index, shards, replicas)
                if answer.status != 200:
                    raise RuntimeError(f"creating index {index}: expected 200, got {answer.status} {answer.body}")
            answer = client.health(wait_for_status="green", timeout_seconds=60)
            if answer.status != 200 or answer.body.get("status") != "green":
                raise RuntimeError(f"indices did not turn green: {answer.body}")
        finally:
            client.close()

    def plan(self) -> list[NemesisStep]:
        names = sorted(self.addresses)
        if self.options.profile == "soak":
            steps = plan_soak(self.options.seed, self.options.faults, names, self.options.soak_seconds)
        else:
            steps = plan_ci(self.options.seed, self.options.faults, names)
        (self.out / "nemesis-plan.json").write_bytes(orjson.dumps(
            {"seed": self.options.seed, "profile": self.options.profile, "steps": [s.to_json() for s in steps]},
            option=orjson.OPT_INDENT_2))
        return steps

    def probe_acknowledgement_before_replication(self, nemesis: Nemesis, step: NemesisStep) -> None:
        """The targeted schedule "isolate-primary-then-kill-all": it makes a build that acknowledges
        before its replicas confirm lose acknowledged writes on every run, by design.

        1. P = the node holding the set index's shard-0 primary; SIGSTOP every other node (they
           hold its replicas; with them stopped there is no master quorum either).
        2. Write PROBE_DOCUMENT_COUNT documents through P, concurrently, each with a short timeout.
           A correct primary cannot acknowledge them: its replicas do not answer, and it cannot get
           them removed from the in-sync set without a master, so the client sees a timeout (info).
           The broken build acknowledges at once and forwards in the background.
        3. SIGKILL P and the stopped nodes. The forwarded frames waiting unread in the stopped
           nodes' sockets die with them, so no replica ever applies the probe documents.
        4. Restart every node but P: they are a majority, every copy is still in sync (nothing was
           removed), so a replica becomes shard 0's primary — without the probe documents.
        5. Restart P, which rejoins as a replica of the new primary. The final read then misses
           every probe document the broken build acknowledged: the set checker reports them lost.
        A correct build loses nothing acknowledged here; its probe writes are all "info"."""
        if not isinstance(self.cluster, LocalCluster):
            nemesis._skip(step, "the acknowledgement probe needs local nodes (it pauses, kills and restarts them)")
            return
        primary_node = self.resolve_role("primary")
        if primary_node is None:
            nemesis._skip(step, "no node holds the set index's shard-0 primary right now")
            return
        others = [name for name in sorted(self.addresses) if name != primary_node]
        heal = nemesis._started(step, primary_node, {"paused": others}, self.cluster.heal_processes)
        report: dict = {"fault": step.fault, "primary_node": primary_node, "paused_then_killed": others}
        for name in others:
            self.cluster.pause(name)
        outcomes: dict[str, str] = {}

        def write_probe_document(number: int) -> None:
            document_id = f"probe-{step.number}-{number}"
            client = NodeClient(self.addresses[primary_node], PROBE_WRITE_TIMEOUT_SECONDS)
            try:
                invocation = self.history.invoke(PROBE_PROCESS_BASE + number, "add", document_id, primary_node)
                answer = client.index_document(self.set_index, document_id, {"process": PROBE_PROCESS_BASE + number})
                self.history.complete(invocation, answer.outcome, None)
                outcomes[document_id] = answer.outcome
            finally:
                client.close()

        writers = [threading.Thread(target=write_probe_document, args=(number,), daemon=True)
                   for number in range(PROBE_DOCUMENT_COUNT)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(PROBE_WRITE_TIMEOUT_SECONDS * 3 + 5)
        report["probe_outcomes"] = {outcome: sorted(i for i, o in outcomes.items() if o == outcome)
                                    for outcome in ("ok", "fail", "info")}
        report["acknowledged"] = len(report["probe_outcomes"]["ok"])
        self.say(f"acknowledgement probe: {report['acknowledged']} of {PROBE_DOCUMENT_COUNT} probe writes "
                 f"acknowledged by {primary_node} while {', '.join(others)} were stopped")
        for name in [primary_node, *others]:
            self.cluster.kill(name)
        for name in others:
            self.cluster.restart(name)
        promoted_on = None
        deadline = time.monotonic() + PROBE_PROMOTION_BOUND_SECONDS
        while promoted_on is None and time.monotonic() < deadline:
            # the killed primary may still be named until the master fails its copy: wait for another
            holder = self.resolve_role("primary")
            if holder is not None and holder != primary_node:
                promoted_on = holder
            else:
                time.sleep(1.0)
        report["promoted_on"] = promoted_on
        self.say(f"acknowledgement probe: shard 0's primary is now on {promoted_on}; restarting {primary_node}")
        self.cluster.restart(primary_node)
        heal()
        nemesis.log(phase="probe", **report)
        self.probe_reports.append(report)

    def run_nemesis(self, nemesis: Nemesis, steps: list[NemesisStep]) -> None:
        for step in steps:
            if self.stop_workers.wait(step.start_after_seconds):
                return
            if step.fault == "isolate-primary-then-kill-all":
                self.probe_acknowledgement_before_replication(nemesis, step)
                continue
            try:
                heal = nemesis.apply(step)
            except Exception as error:  # noqa: BLE001 — a failed fault action is logged, the run goes on
                nemesis.log(phase="apply-error", fault=step.fault, step=step.number, error=str(error))
                continue
            self.say(f"nemesis step {step.number}: {step.fault} "
                     f"{'skipped' if heal is None else 'applied'} (target {step.target})")
            if heal is None:
                continue
            self.stop_workers.wait(step.duration_seconds)
            try:
                heal()
            except Exception:  # noqa: BLE001 — logged by the nemesis; heal_everything retries
                pass

    def converge(self) -> dict:
        """After heal: wait for green (bounded), refresh, and read every copy's doc count until
        the copies agree or the bound passes."""
        bound = self.options.convergence_bound_seconds
        healed_at = time.monotonic()
        green_after = None
        while time.monotonic() - healed_at < bound:
            answer = self.any_answer(_green_health, 12.0)
            if isinstance(answer, dict) and answer.get("status") == "green":
                green_after = round(time.monotonic() - healed_at, 3)
                break
            time.sleep(1.0)
        copies: list[dict] = []
        while True:
            for index in (self.set_index, self.register_index):
                self.any_answer(lambda c, index=index: _body_if_ok(c.refresh(index)), 30.0)
            copies = []
            for index in (self.set_index, self.register_index):
                rows = self.any_answer(lambda c, index=index: _body_if_ok(c.cat_shards(index)), 10.0) or []
                for row in rows:
                    docs = row.get("docs")
                    copies.append({"index": index, "shard": row.get("shard"), "prirep": row.get("prirep"),
                                   "state": row.get("state"), "node": row.get("node"),
                                   "docs": int(docs) if docs not in (None, "") else None})
            report = {"bound_seconds": bound, "green_after_seconds": green_after, "copies": copies}
            if checkers.check_convergence(report).verdict == "valid" or time.monotonic() - healed_at > bound:
                return report
            time.sleep(2.0)

    def final_reads(self) -> None:
        attempted = sorted({str(i) for op in self.history.snapshot() if op.type == "invoke"
                            for i in ([op.value] if op.f == "add" else op.value if op.f == "add_bulk" else [])})
        for name, address in sorted(self.addresses.items()):
            client = NodeClient(address, 30.0)
            try:
                invocation = self.history.invoke(1000, "final_read", {"source": f"search@{name}"}, name)
                outcome, ids, detail = client.search_ids(self.set_index, size=10000)
                self.history.complete(invocation, outcome, {"source": f"search@{name}", "ids": ids or [],
                                                            "unknown": []} if outcome == "ok" else detail)
                invocation = self.history.invoke(1000, "final_read", {"source": f"mget@{name}"}, name)
                found: set[str] = set()
                undetermined: set[str] = set()
                for start in range(0, len(attempted), 500):
                    batch_found, batch_undetermined = client.multi_get_ids(self.set_index, attempted[start:start + 500])
                    found |= batch_found
                    undetermined |= batch_undetermined
                self.history.complete(invocation, "ok", {"source": f"mget@{name}", "ids": sorted(found),
                                                         "unknown": sorted(undetermined)})
            finally:
                client.close()

    # ------------------------------------------------------------------ the run

    def cleanup(self) -> None:
        """Idempotent: stop the nodes this run started and remove its network."""
        self.stop_workers.set()
        self.stop_observer.set()
        if self.cluster is not None:
            self.cluster.stop()
        if self.network is not None:
            self.network.teardown()
            self.network = None
        self.history.close()

    def execute(self) -> RunOutcome:
        try:
            return self.execute_phases()
        finally:
            self.cleanup()

    def execute_phases(self) -> RunOutcome:
        options = self.options
        self.say(f"seed {options.seed} (from {options.seed_source}); profile {options.profile}; "
                 f"run directory {self.out}")
        results: dict = {"seed": options.seed, "seed_source": options.seed_source, "profile": options.profile,
                         "faults_requested": list(options.faults), "workloads": list(options.workloads),
                         "run_directory": str(self.out), "checkers": {}, "nemeses": {}, "test_settings": {}}
        nemesis = None
        checker_results: list[checkers.CheckerResult] = []
        convergence_report = None
        threads: list[threading.Thread] = []
        try:
            self.start_cluster()
            for variable in (FAULTS_FILE_VARIABLE, UNSAFE_ACK_VARIABLE):
                results["test_settings"][variable] = self.honoured(variable)
            missing = [v for v in options.required_test_settings if not results["test_settings"].get(v)]
            if missing:
                results["skipped"] = f"the nodes do not report honouring {', '.join(missing)}"
                self.say("skipped: " + results["skipped"])
                return self.finish(results, [], skipped_run=True)
            if options.clock_skews:
                results["clock_skew"] = dict(options.clock_skews)
                results["clock_offsets_observed"] = self.measure_clock_offsets()
                self.say(f"clock offsets observed (node wall clock minus the runner's, ±1 s): "
                         f"{results['clock_offsets_observed']}")
            self.prepare_indices()
            steps = self.plan()
            faults_file = getattr(self, "faults_file", None) \
                if results["test_settings"].get(FAULTS_FILE_VARIABLE) else None
            partition_reason = ("the nodes do not honour the faults file (no " + FAULTS_FILE_VARIABLE +
                                " fault layer yet)" + (f" and {self.network_note}" if self.network_note else "")) \
                if self.cluster is not None else \
                "partitions need --fault-command isolate=... and heal=..."
            control = self.cluster if self.cluster is not None else CommandControl(
                options.fault_commands, self.addresses, self.out / "fault-commands.log")
            nemesis = Nemesis(sorted(self.addresses), control, faults_file, self.resolve_role,
                              self.out / "nemesis.jsonl", self.history.started_at, partition_reason,
                              network=self.network)
            nemesis.clock_skip_reason = self.clock_skip_reason or (
                "" if self.cluster is not None else "the clock-skew nemesis needs local nodes")
            results["network"] = self.network_summary or "an existing cluster: faults through --fault-command only"
            results["partition_mechanism"] = (
                f"network-namespaces/{self.network.mechanism}" if self.network is not None else
                "faults-file" if faults_file is not None else
                "fault-commands" if {"isolate", "heal"} <= set(options.fault_commands) else "none")
            threads.append(threading.Thread(target=self.observer, name="observer", daemon=True))
            process = 0
            if "set" in options.workloads:
                for _ in range(options.set_workers):
                    threads.append(threading.Thread(target=self.set_worker, args=(process,), daemon=True))
                    process += 1
            if "register" in options.workloads:
                for _ in range(options.register_workers):
                    threads.append(threading.Thread(target=self.register_worker, args=(process,), daemon=True))
                    process += 1
            for thread in threads:
                thread.start()
            self.say(f"{len(steps)} nemesis steps planned; workloads running")
            self.run_nemesis(nemesis, steps)
            nemesis.heal_everything()
            self.say("healed; letting the workloads run on a little")
            time.sleep(options.tail_seconds)
        finally:
            self.stop_workers.set()
            for thread in threads:
                if thread.name != "observer":
                    thread.join(options.operation_timeout_seconds * 3 + 30)
            if nemesis is not None:
                try:
                    nemesis.heal_everything()
                except Exception as error:  # noqa: BLE001 — reported; the run is then not trustworthy
                    self.notes.append(f"final heal failed: {error}")
        try:
            if nemesis is not None:
                convergence_report = self.converge()
                self.final_reads()
        finally:
            self.record_node_crashes()   # before cleanup stops the nodes (expected exits)
            self.stop_observer.set()
            for thread in threads:
                thread.join(5)
            self.cleanup()
        operations = self.history.snapshot()
        known = checkers.load_known_anomalies(options.resiliency_document)
        checker_results = [checkers.check_set(operations), checkers.check_dirty_reads(operations),
                           checkers.check_stale_reads(operations, nemesis.events if nemesis else [],
                                                       self.observations), checkers.check_linearizable_registers(operations),
                           checkers.check_masters(self.observations), checkers.check_convergence(convergence_report),
                           checkers.check_recovery_times(nemesis.events if nemesis else [], operations,
                                                         options.recovery_bound_seconds),
                           checkers.check_node_crashes(self.node_crashes if self.cluster is not None else None)]
        checker_results = [checkers.mark_known(result, known) for result in checker_results]
        if nemesis is not None:
            for fault in options.faults:
                applied = nemesis.applied_counts.get(fault, 0)
                entry: dict = {"applied": applied}
                if fault in nemesis.skipped_reasons:
                    entry["skipped"] = nemesis.skipped_reasons[fault]
                if fault in nemesis.mechanisms:
                    entry["mechanisms"] = sorted(nemesis.mechanisms[fault])
                results["nemeses"][fault] = entry
        results["probes"] = self.probe_reports
        return self.finish(results, checker_results)

    def finish(self, results: dict, checker_results: list, skipped_run: bool = False) -> RunOutcome:
        if skipped_run:
            self.cleanup()
        passed = sum(1 for r in checker_results if r.verdict == "valid" or (r.verdict == "invalid" and r.known_anomaly))
        failed = sum(1 for r in checker_results if r.fails_run)
        results["checkers"] = {r.name: r.to_json() for r in checker_results}
        results["passed"], results["failed"] = passed, failed
        results["notes"] = self.notes
        results["verdict"] = "skipped" if skipped_run else ("invalid" if failed else "valid")
        (self.out / "results.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        lines = [f"jepsen-lite {results['profile']} run, seed {results['seed']} ({results['seed_source']})",
                 f"run directory: {self.out}"]
        if skipped_run:
            lines.append(f"skipped: {results['skipped']}")
        if results.get("network"):
            lines.append(f"network: {results['network']}")
        if results.get("clock_skew"):
            lines.append("clock skew (libfaketime, wall clock only): " + ", ".join(
                f"{name} {offset:+g} s" for name, offset in sorted(results["clock_skew"].items())))
        for fault, entry in results.get("nemeses", {}).items():
            lines.append(f"nemesis {fault}: applied {entry['applied']}"
                         + (f" via {', '.join(entry['mechanisms'])}" if entry.get("mechanisms") else "")
                         + (f"; skipped: {entry['skipped']}" if "skipped" in entry else ""))
        for r in checker_results:
            tag = "known anomaly" if r.known_anomaly and r.verdict == "invalid" else r.verdict
            detail = r.reason or ", ".join(f"{k}={v}" for k, v in list(r.counts.items())[:6])
            lines.append(f"{r.name}: {tag}" + (f" — {detail}" if detail else ""))
        for note in self.notes:
            lines.append(f"note: {note}")
        unknown = sum(1 for r in checker_results if r.verdict == "unknown")
        skipped_count = sum(1 for r in checker_results if r.verdict == "skipped")
        lines.append(f"{unknown} unknown, {skipped_count} skipped")
        lines.append(f"{passed} passed, {failed} failed")
        (self.out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print("\n".join(lines), flush=True)
        return RunOutcome(1 if failed else 0, results, self.out)


def _body_if_ok(answer):
    return answer.body if answer.status == 200 else None


def _green_health(client: NodeClient):
    answer = client.health(wait_for_status="green", timeout_seconds=5)
    return answer.body if answer.status == 200 else None


def run(options: RunOptions) -> RunOutcome:
    return Run(options).execute()
