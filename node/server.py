"""The node's lifecycle: one process, one trio nursery.

``run_node(config)``:
  1. creates the data directory, starts JSON logging, loads (or generates once, 0600) the cluster
     secret and the node id;
  2. with ``--join``, asks a member's transport port for the voters' Raft addresses (a short
     ``trio.run`` of its own);
  3. inside trio: spawns the shard workers, then constructs raft/'s ``ClusterStateMachine``
     synchronously on the MAIN thread (trio runs on it; pysyncobj's tick thread dies with the
     thread that built it — DESIGN §8) while the workers boot, starts the cluster-state applier, the transport
     listener and the HTTP server, joins the cluster (bootstrap + register), writes
     <data>/ports.json once registered or once the workers are ready (whichever is first), and
     runs the master's allocation loop — all while the workers still boot: the
     node answers HTTP and gets its copies allocated before its shards can open (they show
     INITIALIZING until then, as in OpenSearch); start-up fails if the workers never come up;
     every step's time since the launch is logged ("start-up step", StartupTimeline);
  4. on SIGINT/SIGTERM: stops accepting HTTP, lets in-flight requests finish (a few seconds),
     a non-voter leaves the cluster (deregisters; the master fails its copies over), closes every shard on the workers (they flush), stops the workers, closes Raft and the logs.
     A second signal exits at once.

This module wires parts together; it must never implement an API, a shard method or a command.
"""

from __future__ import annotations

import base64
import functools
import gc
import importlib
import os
import secrets
import signal
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from node.config import NodeConfig, config_to_json
from node.logs import close_logging, configure_logging, get_logger
from node import testing_settings
from node.workers.errors import WorkerUnavailableError
from node.workers.spawning import abandon_prespawned, prespawn_workers
from raft.errors import RaftError
from raft.state import NodeInfo


def import_node_runtime() -> None:
    """Import what the running node needs (trio, Raft, the cluster and transport layers, metrics:
    ~1 CPU-s) as this module's globals. ``run_node`` calls it only once the shard workers are
    spawned, so their boot — the longest part of a restart — overlaps these imports (ADR 0292);
    everything below that uses these names runs after it."""
    global trio, HeldCopies, FailureDetector, register_ping_handler, run_allocation_loop, JoinDiscoveryError
    global register_allocation_inputs_handler
    global discover_voters, register_join_info_handler, join_cluster, leave_cluster, ClusterMetadata, NodeMetrics
    global PeerConnections, TransportHandlers, serve_transport, ShardWorkers, data_directory_disk_usage
    import trio

    from node.cluster.disk_usage import data_directory_disk_usage

    from node.cluster.held_copies import HeldCopies
    from node.cluster.failure_detector import FailureDetector, register_allocation_inputs_handler, register_ping_handler
    from node.cluster.master import run_allocation_loop
    from node.cluster.joining import JoinDiscoveryError, discover_voters, register_join_info_handler
    from node.cluster.membership import join_cluster, leave_cluster
    from node.cluster.metadata import ClusterMetadata
    from node.metrics import NodeMetrics
    from node.transport.server import PeerConnections, TransportHandlers, serve_transport
    from node.workers.pool import ShardWorkers

SECRET_FILE_NAME = "cluster.secret"
NODE_ID_FILE_NAME = "node_id"
MINIMUM_SECRET_LENGTH = 16
EXIT_AT_ONCE_CODE = 130
# leaving the cluster (a non-voter's deregistration and its copies failed over) before shards close
SHUTDOWN_HOOK_TIMEOUT_SECONDS = 20.0


def seconds_since_process_start() -> float | None:
    """Wall seconds since this process was launched (Linux /proc; None elsewhere): the start-up
    timeline counts from the launch, so the interpreter's own start and imports are included."""
    try:
        with open("/proc/self/stat", "rb") as stat_file:
            fields_after_name = stat_file.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as uptime_file:
            uptime_seconds = float(uptime_file.read().split()[0])
        # field 22 of stat (index 19 after the command name) is the start time in clock ticks
        return uptime_seconds - int(fields_after_name[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class StartupTimeline:
    """Seconds after the launch at which each start-up step finished, logged at INFO as it
    happens ("start-up step") and summed up in the "node ready" line — how a slow start or
    restart is explained from the node's log (docs/benchmarks.md)."""

    def __init__(self) -> None:
        self.launched_at_monotonic = time.monotonic() - (seconds_since_process_start() or 0.0)
        self.steps: dict[str, float] = {}

    def mark(self, step: str, logger: Any = None) -> None:
        seconds = round(time.monotonic() - self.launched_at_monotonic, 3)
        self.steps.setdefault(step, seconds)
        if logger is not None:
            logger.info("start-up step", extra={"fields": {"step": step, "seconds_after_launch": seconds}})

    def as_fields(self) -> dict[str, float]:
        return dict(self.steps)


# one per process (run_node replaces it); serve_node and its helpers mark steps on it
startup_timeline = StartupTimeline()


def freeze_start_up_heap() -> int:
    """Move every object alive now (modules, classes, functions, the app and its routes: what
    start-up built and the process keeps until it exits) out of the cyclic collector's reach;
    returns how many were frozen. CPython's full (generation 2) collection walks every tracked
    object: in the front that is hundreds of thousands of start-up objects, and one such
    collection stalled every request in flight (measured with gc.callbacks during
    bench/cluster.py at 1M: 300-700 ms wall per collection under load, one in the 16-client
    search phase; ADR 0340). Frozen objects are still freed by reference counting; only a cycle
    among them would outlive its use, which start-up objects do not make. The garbage already
    collectable is collected first, so no cycle is frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class NodeStartupError(Exception):
    """The node cannot start (bad secret file, port in use, Raft missing); the reason says why."""


def node_roles(config: NodeConfig, is_voter: bool) -> tuple[str, ...]:
    """The roles this node registers with: ``--roles`` checked against its Raft role (a voter
    takes part in electing the master, so it is master-eligible, and only a voter is), or the
    default for that Raft role."""
    if config.roles is None:
        return ("cluster_manager", "data", "ingest") if is_voter else ("data", "ingest")
    if is_voter and "cluster_manager" not in config.roles:
        raise NodeStartupError("--roles lacks cluster_manager, but this node is a Raft voter (its address is in "
                               "--seed-hosts, or it runs a one-node cluster): every voter is master-eligible; "
                               "add the role, or start the node as a non-voter")
    if not is_voter and "cluster_manager" in config.roles:
        raise NodeStartupError("--roles has cluster_manager, but this node's Raft address is not in --seed-hosts: "
                               "only a voter can become master")
    return config.roles


# ------------------------------------------------------------------------------ files


def write_file_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def load_or_create_secret(config: NodeConfig) -> str:
    """The cluster secret text: from --cluster-secret-file, else <data>/cluster.secret, created
    once with mode 0600."""
    if config.cluster_secret_file is not None:
        path = config.cluster_secret_file
    else:
        path = config.data_directory / SECRET_FILE_NAME
        if not path.exists():
            write_file_atomically(path, secrets.token_hex(32).encode() + b"\n", mode=0o600)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise NodeStartupError(f"cannot read the cluster secret file {path}: {error.strerror}") from None
    if len(text) < MINIMUM_SECRET_LENGTH:
        raise NodeStartupError(f"cluster secret file {path}: expected at least "
                               f"{MINIMUM_SECRET_LENGTH} characters, got {len(text)}")
    return text


def load_or_create_node_id(data_directory: Path) -> str:
    path = data_directory / NODE_ID_FILE_NAME
    if path.exists():
        node_id = path.read_text(encoding="utf-8").strip()
        if node_id:
            return node_id
    # 22 URL-safe characters, the shape of OpenSearch's node ids
    node_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    write_file_atomically(path, node_id.encode() + b"\n")
    return node_id


def pick_free_port(host: str) -> int:
    """For --raft-port 0: pysyncobj needs the number before it binds. A one-node convenience
    (tests); a real cluster names its Raft ports in --seed-hosts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def publish_host(bound_host: str, raft_host: str) -> str:
    """The address other nodes should dial for a listener bound to ``bound_host``: itself, unless
    it is a wildcard (0.0.0.0 / ::), then the Raft host (always specific in a cluster: it is in
    --seed-hosts), else this machine's resolved host name."""
    if bound_host not in WILDCARD_HOSTS:
        return bound_host
    if raft_host not in WILDCARD_HOSTS:
        return raft_host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def write_ports_file(config: NodeConfig, node_id: str, http: tuple[str, int],
                     transport: tuple[str, int], raft: tuple[str, int]) -> None:
    document = {
        "node_id": node_id, "node_name": config.node_name, "pid": os.getpid(),
        "http": {"host": http[0], "port": http[1], "address": address(*http)},
        "transport": {"host": transport[0], "port": transport[1], "address": address(*transport)},
        "raft": {"host": raft[0], "port": raft[1], "address": address(*raft)},
    }
    write_file_atomically(config.ports_file, orjson.dumps(document, option=orjson.OPT_INDENT_2))


# ------------------------------------------------------------------------------ raft


def construct_raft(config: NodeConfig, secret: str, raft_port: int,
                   discovered_voters: tuple[str, ...] = ()) -> tuple[Any, bool, str]:
    """Build the adapter on the calling (main) thread. Returns (adapter, is_voter, self address).
    ``discovered_voters``: the voters a member named (``--join``), used instead of --seed-hosts."""
    try:
        adapter_module = importlib.import_module("raft.adapter")
    except ModuleNotFoundError as error:
        if error.name != "raft.adapter":
            raise
        raise NodeStartupError("raft/adapter.py is missing: the node cannot host cluster state") from None
    self_address = address(config.raft_host, raft_port)
    voters = tuple(config.seed_hosts) or tuple(discovered_voters) or (self_address,)
    is_voter = self_address in voters
    if discovered_voters and is_voter:
        # a joiner must never vote: its address in the voters' list would make it a second,
        # unconfigured voter of that name (pysyncobj membership is fixed, ADR 0230)
        raise NodeStartupError(f"--join: this node's raft address {self_address} is one of the "
                               f"voters {list(discovered_voters)}; a joining node needs another "
                               f"--raft-host/--raft-port")
    transport_class = None
    faults_file = testing_settings.current().faults_file
    if faults_file is not None:  # test-only (QUIDDITCH_TEST_FAULTS_FILE): Raft follows the faults file
        from raft.faults import FaultsFileWatcher, LinkFaults, faulty_transport_class

        transport_class = faulty_transport_class(LinkFaults(FaultsFileWatcher(faults_file), config.node_name))
    raft_config = adapter_module.RaftConfig(
        cluster_name=config.cluster_name,
        cluster_secret=secret,
        data_directory=config.data_directory / "raft",
        self_address=self_address if is_voter else None,
        voter_addresses=voters,
        transport_class=transport_class,
    )
    (config.data_directory / "raft").mkdir(parents=True, exist_ok=True)
    return adapter_module.ClusterStateMachine(raft_config), is_voter, self_address


# ------------------------------------------------------------------------------ lifecycle


def first_startup_error(error: BaseException) -> NodeStartupError | None:
    """The NodeStartupError inside trio's exception groups, if that is why the node stopped."""
    if isinstance(error, NodeStartupError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = first_startup_error(inner)
            if found is not None:
                return found
    return None


async def bind_or_explain(what: str, host: str, port: int, start: Any) -> Any:
    """Run ``start()`` (a nursery.start of a listener); a failed bind becomes a NodeStartupError
    naming the flag, the address and the reason instead of a traceback."""
    try:
        return await start()
    except BaseException as error:
        for inner in flatten_exceptions(error):
            if isinstance(inner, OSError):
                raise NodeStartupError(f"cannot listen for {what} on {address(host, port)}: "
                                       f"{inner.strerror or inner}") from None
        raise


def flatten_exceptions(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in flatten_exceptions(inner)]
    return [error]


def run_node(config: NodeConfig) -> int:
    """Run a node until a signal stops it. Returns the process exit code."""
    global startup_timeline
    startup_timeline = StartupTimeline()
    config.data_directory.mkdir(parents=True, exist_ok=True)
    configure_logging(config.node_name, config.log_level, config.logs_directory)
    logger = get_logger("node")
    adapter = None
    prespawned: list[Any] = []
    try:
        try:
            testing_settings.activate(testing_settings.read_testing_settings(), logger)
        except ValueError as error:
            raise NodeStartupError(str(error)) from None
        secret = load_or_create_secret(config)
        # the shard workers start before this process imports trio, Raft and the rest (ADR 0292)
        prespawned = prespawn_workers(config.workers, config.data_directory, secret.encode(), config.node_name,
                                      config.log_level)
        startup_timeline.mark("workers spawned", logger)
        import_node_runtime()
        startup_timeline.mark("imported", logger)
        node_id = load_or_create_node_id(config.data_directory)
        raft_port = config.raft_port or pick_free_port(config.raft_host)
        discovered_voters: tuple[str, ...] = ()
        if config.join_hosts:
            # before the adapter exists (it is built on this main thread): a short trio run of its own
            try:
                join_info = trio.run(discover_voters, config.join_hosts, secret.encode(),
                                     config.cluster_name, get_logger("cluster"))
            except JoinDiscoveryError as error:
                raise NodeStartupError(error.reason) from None
            discovered_voters = join_info.voter_raft_addresses
        built: list[Any] = []  # the adapter, once serve_node has built it (closed below)

        def build_raft() -> tuple[Any, bool]:
            # called by serve_node on this main thread (trio runs on it) right after the shard
            # workers are spawned, so their boot overlaps the Raft import and journal load
            try:
                adapter, is_voter, raft_address = construct_raft(config, secret, raft_port, discovered_voters)
            except RaftError as error:
                # raised inside trio it would arrive in an exception group: name it a start-up error
                raise NodeStartupError(str(error)) from None
            built.append(adapter)
            node_roles(config, is_voter)   # refuse a contradictory --roles before serving anything
            startup_timeline.mark("raft constructed", logger)
            logger.info("starting node", extra={"fields": {
                "node_id": node_id, "raft_address": raft_address,
                "raft_role": "voter" if is_voter else "non-voter (not in --seed-hosts)",
                "config": config_to_json(config)}})
            return adapter, is_voter

        handed_over, prespawned = prespawned, []    # the pool owns them from here on
        try:
            trio.run(serve_node, config, build_raft, secret.encode(), node_id, (config.raft_host, raft_port),
                     handed_over)
        finally:
            adapter = built[0] if built else None
        logger.info("node stopped")
        return 0
    except (NodeStartupError, RaftError) as error:
        logger.critical(f"cannot start the node: {error}")
        return 1
    except BaseException as error:  # noqa: BLE001 — log why the node died, then exit non-zero
        if isinstance(error, KeyboardInterrupt):
            return EXIT_AT_ONCE_CODE
        startup_error = first_startup_error(error)
        if startup_error is not None:
            logger.critical(f"cannot start the node: {startup_error}")
        else:
            logger.critical("the node failed", exc_info=True)
        return 1
    finally:
        if prespawned:
            abandon_prespawned(prespawned)     # start-up failed before the pool took them over
        if adapter is not None:
            try:
                adapter.close()
            except Exception:  # noqa: BLE001
                logger.warning("closing raft failed", exc_info=True)
        close_logging()


async def serve_node(config: NodeConfig, build_raft: Any, secret: bytes, node_id: str,
                     raft_bound: tuple[str, int], prespawned: list[Any] | None = None) -> None:
    """``build_raft()`` → (adapter, is_voter): constructs the Raft adapter on the calling thread,
    which is the main thread (trio.run runs there; DESIGN §8), once the workers are spawned.
    ``prespawned``: workers ``run_node`` started already (the pool adopts them)."""
    logger = get_logger("node")
    metrics = NodeMetrics()
    started_at_millis = int(time.time() * 1000)
    http_stopped = trio.Event()
    stop_http = trio.Event()
    before_workers_stop: list[Any] = []  # async callables run on shutdown once HTTP has stopped

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch_signals, nursery, stop_http, http_stopped, logger,
                           lambda: workers, before_workers_stop)
        workers = ShardWorkers(config.workers, config.data_directory, secret, config.node_name,
                               config.log_level, get_logger("workers"), metrics=metrics, prespawned=prespawned)
        # the worker processes boot (imports, ~seconds) while this process builds the app
        await nursery.start(workers.run)
        if not prespawned:
            startup_timeline.mark("workers spawned", logger)   # else run_node marked it at the early spawn
        adapter, is_voter = build_raft()
        # imported only now (quart, hypercorn and, in create_app, every API module: ~1 s of CPU
        # under load): before the workers were spawned it delayed their boot — the longest part of
        # a restart — by as much; now it runs while they boot
        from node.http.app import create_app
        from node.http.context import NodeContext
        from node.http.serving import serve_http
        metadata = ClusterMetadata(adapter, get_logger("cluster"), metrics)
        transport_handlers = TransportHandlers()
        transport_faults = None
        if testing_settings.current().faults_file is not None:  # test-only: frames follow the faults file
            from node.transport.faults import TransportFaults

            transport_faults = TransportFaults.from_file(testing_settings.current().faults_file, config.node_name)
        peers = PeerConnections(secret, nursery, get_logger("transport"), faults=transport_faults)
        context = NodeContext(
            config=config, node_id=node_id, node_name=config.node_name,
            cluster_name=config.cluster_name, started_at_millis=started_at_millis,
            metadata=metadata, workers=workers, metrics=metrics, logger=get_logger("api"),
            background=nursery, transport_handlers=transport_handlers, peers=peers)
        held_copies = HeldCopies(config.data_directory, node_id, get_logger("cluster"))
        metadata.on_state_applied(held_copies.on_state_applied)
        def own_disk_usage() -> Any:
            return data_directory_disk_usage(config.data_directory)

        register_ping_handler(transport_handlers, node_id, metadata, held_copies, own_disk_usage)
        register_join_info_handler(transport_handlers, config.cluster_name, metadata)
        app = create_app(context)
        startup_timeline.mark("http app built", logger)
        await nursery.start(metadata.run)
        transport_bound = await bind_or_explain(
            "the transport (--transport-host/--transport-port)", config.transport_host,
            config.transport_port, lambda: nursery.start(functools.partial(
                serve_transport, config.transport_host, config.transport_port, secret,
                transport_handlers, get_logger("transport"), faults=transport_faults)))

        async def http_task(task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
            try:
                await serve_http(app, config.http_host, config.http_port, stop_http.wait,
                                 get_logger("http.server"), task_status=task_status)
            finally:
                http_stopped.set()

        http_bound = await bind_or_explain("HTTP (--http-host/--http-port)", config.http_host,
                                           config.http_port, lambda: nursery.start(http_task))
        # Listening: join the cluster NOW, while the shard workers still boot (their imports are
        # seconds under load). The master allocates this node's copies in parallel with the
        # workers' boot; opening them waits for the workers by itself (pool.call), and meanwhile
        # HTTP answers with those copies INITIALIZING, as OpenSearch's node does before its
        # shards are recovered. Waiting for the workers first cost a restart their whole boot
        # again before the master even knew the node was back.
        # ports.json is written when the node is registered or its workers are ready, whichever
        # comes first: registered, it is in the cluster state when a client finds it; without a
        # quorum (no registration possible) it still appears, as before, once the workers are up
        # (a supervisor restarting nodes one by one waits for it).
        startup_timeline.mark("listening", logger)
        ports_published = False

        def publish_ports() -> None:
            nonlocal ports_published
            if not ports_published:
                write_ports_file(config, node_id, http_bound, transport_bound, raft_bound)
                ports_published = True
        node_info = NodeInfo(
            node_id=node_id, name=config.node_name,
            http_address=address(publish_host(http_bound[0], config.raft_host), http_bound[1]),
            transport_address=address(publish_host(transport_bound[0], config.raft_host),
                                      transport_bound[1]),
            raft_address=address(*raft_bound), voter=is_voter, attributes=dict(config.node_attributes),
            roles=node_roles(config, is_voter))
        leaving = trio.Event()
        def on_registered() -> None:
            publish_ports()
            startup_timeline.mark("registered", logger)

        nursery.start_soon(functools.partial(join_cluster, metadata, node_info, is_voter,
                                             get_logger("cluster"), leaving=leaving,
                                             task_status=_OnStarted(on_registered)))
        if not is_voter:
            async def leave() -> None:
                # a non-voter's graceful stop is "node left" (ADR 0230): deregister, let the
                # master fail our copies (replicas promoted at once), then close the shards
                leaving.set()
                await leave_cluster(metadata, node_id, get_logger("cluster"))

            before_workers_stop.append(leave)
        failure_detector = FailureDetector(metadata, peers, node_id, get_logger("master"), held_copies,
                                           ping_timeout_seconds=config.fault_detection_timeout_seconds,
                                           failures_before_dead=config.fault_detection_retries,
                                           local_disk_usage=own_disk_usage)
        register_allocation_inputs_handler(transport_handlers, failure_detector)
        nursery.start_soon(failure_detector.run)
        nursery.start_soon(run_allocation_loop, metadata, get_logger("master"), failure_detector)
        try:
            await workers.wait_until_ready()
        except WorkerUnavailableError as error:
            raise NodeStartupError(error.reason) from None
        publish_ports()
        startup_timeline.mark("workers ready", logger)
        # everything start-up built is alive for good now: keep it out of full collections
        frozen_objects = freeze_start_up_heap()
        logger.info("node ready", extra={"fields": {
            "http": address(*http_bound), "transport": address(*transport_bound),
            "raft": address(*raft_bound), "workers": config.workers,
            "startup_seconds": startup_timeline.as_fields(), "frozen_objects": frozen_objects}})


class _OnStarted:
    """A task status whose ``started()`` runs a callback (join_cluster's: this node is in the
    cluster state), for a task started with start_soon because nothing waits for it."""

    def __init__(self, callback: Any) -> None:
        self.callback = callback

    def started(self, value: Any = None) -> None:
        self.callback()


async def watch_signals(nursery: trio.Nursery, stop_http: trio.Event, http_stopped: trio.Event,
                        logger: Any, get_workers: Any, before_workers_stop: list[Any] = ()) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signal_number in signals:
            logger.info("shutting down", extra={"fields": {"signal": signal.Signals(signal_number).name}})
            nursery.start_soon(shut_down, nursery, stop_http, http_stopped, logger, get_workers,
                               before_workers_stop)
            break
        async for signal_number in signals:
            logger.warning("second signal: exiting at once", extra={"fields": {
                "signal": signal.Signals(signal_number).name}})
            close_logging()
            os._exit(EXIT_AT_ONCE_CODE)


async def shut_down(nursery: trio.Nursery, stop_http: trio.Event, http_stopped: trio.Event,
                    logger: Any, get_workers: Any, before_workers_stop: list[Any] = ()) -> None:
    stop_http.set()
    with trio.move_on_after(5):
        await http_stopped.wait()
    for hook in list(before_workers_stop):
        try:
            with trio.move_on_after(SHUTDOWN_HOOK_TIMEOUT_SECONDS):
                await hook()
        except Exception:  # noqa: BLE001 — a failed hook must not keep the node from stopping
            logger.warning("shutdown step failed", exc_info=True)
    try:
        workers = get_workers()
    except NameError:  # a signal before the workers existed
        workers = None
    if workers is not None:
        with trio.move_on_after(20):
            await workers.shutdown()
    nursery.cancel_scope.cancel()
