"""The node's configuration: one typed, frozen ``NodeConfig`` built once at start-up.

Sources, later ones winning: built-in defaults < YAML file (``--config FILE``) < ``QUIDDITCH_*``
environment variables < command-line flags. Every value is parsed and validated in one pass and
*every* problem is reported together in one ``ConfigError`` (the CLI prints them and exits 2).

This module owns parsing and validation only. It must never open sockets, create directories,
start logging or read the cluster secret: that is node/server.py's job, after validation.

Each setting has one spelling everywhere: the flag ``--http-port``, the YAML key ``http-port``
(``http_port`` and ``http.port`` are accepted too) and the environment variable
``QUIDDITCH_HTTP_PORT``. docs/configuration.md lists them.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

ENVIRONMENT_PREFIX = "QUIDDITCH_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists every problem found, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Everything a node needs to start. Built by ``load_config``; never mutated."""

    node_name: str = field(default_factory=socket.gethostname)
    """--name: this node's human name (OpenSearch ``node.name``); defaults to the host name."""
    data_directory: Path = Path("./quidditch-data")
    """--data: where shards, the Raft journal, logs, ports.json and the secret live."""
    http_host: str = "127.0.0.1"
    """--http-host: address the REST API listens on."""
    http_port: int = 9200
    """--http-port: REST API port; 0 picks a free port (see <data>/ports.json)."""
    transport_host: str = "127.0.0.1"
    """--transport-host: address of the node-to-node framed transport."""
    transport_port: int = 9300
    """--transport-port: node-to-node port; 0 picks a free port."""
    raft_host: str = "127.0.0.1"
    """--raft-host: address pysyncobj binds; keep it private (DESIGN §4)."""
    raft_port: int = 9301
    """--raft-port: Raft port; 0 picks a free port (a one-node cluster, or a non-voter: a port
    that is not in --seed-hosts never votes)."""
    seed_hosts: tuple[str, ...] = ()
    """--seed-hosts: comma-separated host:port Raft addresses of the master-eligible voters."""
    join_hosts: tuple[str, ...] = ()
    """--join: comma-separated host:port TRANSPORT addresses of current members; the node asks
    the first that answers for the voters' Raft addresses and joins as a non-voter."""
    cluster_name: str = "quidditch"
    """--cluster-name: reported by GET / and _cluster/health."""
    cluster_secret_file: Path | None = None
    """--cluster-secret-file: file holding the shared cluster secret; if unset, one is
    generated once into <data>/cluster.secret (mode 0600). Keys Raft and every frame's HMAC."""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    """--workers: shard worker processes (default: one per core)."""
    max_content_length_bytes: int = 100 * 1024 * 1024
    """--max-content-length: largest accepted HTTP body (``100mb``, ``1gb``, bytes); 413 beyond."""
    log_level: str = "INFO"
    """--log-level: DEBUG, INFO, WARNING, ERROR or CRITICAL."""
    version_number: str = "7.10.2"
    """--version-number: version.number reported by GET / (elasticsearch-py checks it)."""
    elastic_product_header: bool = False
    """--elastic-product-header: send ``X-Elastic-Product: Elasticsearch`` on every response."""
    fault_detection_timeout_seconds: float = 5.0
    """--fault-detection-timeout: how long the master waits for a node's answer to one ping
    (OpenSearch ``cluster.fault_detection.follower_check.timeout``, 10s there). A crashed process
    is noticed at once whatever this is (its port refuses connections, ADR 0231); this bounds
    only how long a silent node (hung, overloaded, cut off) may stay silent."""
    fault_detection_retries: int = 3
    """--fault-detection-retries: missed pings in a row before a silent node is treated as gone
    (OpenSearch ``cluster.fault_detection.follower_check.retry_count``)."""
    node_attributes: tuple[tuple[str, str], ...] = ()
    path_repo: tuple[Path, ...] = ()
    """--path-repo: comma-separated directories that ``fs`` snapshot repositories may use
    (OpenSearch ``path.repo``); a relative ``location`` resolves against the first. Default:
    ``<data>/snapshots`` (see ``snapshot_roots``)."""
    roles: tuple[str, ...] | None = None
    """--roles: comma-separated ``cluster_manager`` (alias ``master``), ``data``, ``ingest``
    (OpenSearch's ``node.roles``); empty: a coordinating-only node. Default: all three on a Raft
    voter, ``data,ingest`` on a non-voter. ``cluster_manager`` exactly when the node is a voter
    (checked at start, when that is known); a node without ``data`` holds no shard copy."""
    """--node-attr: ``key=value`` pairs, comma-separated (OpenSearch's ``node.attr.*``), that the
    allocation filters ``*.routing.allocation.{require,include,exclude}.<key>`` match."""

    @property
    def ports_file(self) -> Path:
        return self.data_directory / "ports.json"

    @property
    def logs_directory(self) -> Path:
        return self.data_directory / "logs"

    @property
    def snapshot_roots(self) -> tuple[Path, ...]:
        """Where fs repositories may live: ``--path-repo``, else ``<data>/snapshots``."""
        return self.path_repo or (self.data_directory / "snapshots",)


# ---------------------------------------------------------------------------------------------
# parsers: each takes the raw value (str from env/flags, any YAML scalar) and returns the typed
# value or raises ValueError with a lowercase "expected ..., got ..." reason.


def parse_byte_size(raw: Any) -> int:
    """``100mb`` → bytes. Units b, kb, mb, gb, tb (powers of 1024, as OpenSearch's ByteSizeValue)."""
    if isinstance(raw, bool):
        raise ValueError(f"expected a byte size like 100mb, got {raw!r}")
    if isinstance(raw, int):
        value = raw
    else:
        match = re.fullmatch(r"\s*(\d+)\s*(b|kb|mb|gb|tb)?\s*", str(raw).lower())
        if match is None:
            raise ValueError(f"expected a byte size like 100mb, got {raw!r}")
        multiplier = {None: 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}
        value = int(match.group(1)) * multiplier[match.group(2)]
    if value <= 0:
        raise ValueError(f"expected a positive byte size, got {raw!r}")
    return value


MAX_CONTENT_LENGTH_LIMIT_BYTES = 2 * 1024**3


def parse_max_content_length(raw: Any) -> int:
    value = parse_byte_size(raw)
    if value > MAX_CONTENT_LENGTH_LIMIT_BYTES:
        # as OpenSearch: http.max_content_length is an int; frames carry at most this much body
        raise ValueError(f"expected at most 2gb, got {raw!r}")
    return value


def parse_port(raw: Any) -> int:
    try:
        port = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        port = None
    if port is None or not 0 <= port <= 65535:
        raise ValueError(f"expected a port number 0-65535, got {raw!r}")
    return port


def parse_positive_int(raw: Any) -> int:
    try:
        number = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        number = None
    if number is None or number < 1:
        raise ValueError(f"expected a whole number of at least 1, got {raw!r}")
    return number


def parse_time_value(raw: Any) -> float:
    """``5s``, ``500ms``, ``1m`` or a number of seconds → seconds (positive, at most an hour)."""
    if isinstance(raw, bool):
        raise ValueError(f"expected a time value like 5s or 500ms, got {raw!r}")
    if isinstance(raw, (int, float)):
        seconds = float(raw)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", str(raw).lower())
        if match is None:
            raise ValueError(f"expected a time value like 5s or 500ms, got {raw!r}")
        seconds = float(match.group(1)) * {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0}[match.group(2)]
    if not 0 < seconds <= 3600:
        raise ValueError(f"expected a time value above 0 and at most 1h, got {raw!r}")
    return seconds


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "on", "yes", "1"):
        return True
    if text in ("false", "off", "no", "0"):
        return False
    raise ValueError(f"expected true/false (or on/off), got {raw!r}")


def parse_non_empty_string(raw: Any) -> str:
    text = str(raw).strip() if raw is not None else ""
    if not text:
        raise ValueError("expected a non-empty string, got an empty value")
    return text


def parse_host(raw: Any) -> str:
    text = parse_non_empty_string(raw)
    if any(character.isspace() for character in text) or "/" in text:
        raise ValueError(f"expected a host name or IP address, got {raw!r}")
    return text


def parse_path(raw: Any) -> Path:
    return Path(parse_non_empty_string(raw)).expanduser()


def parse_log_level(raw: Any) -> str:
    level = str(raw).strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def parse_host_port(text: str) -> tuple[str, int]:
    host, separator, port_text = text.strip().rpartition(":")
    if not separator or not host:
        raise ValueError(f"expected host:port, got {text!r}")
    return host.strip("[]"), parse_port(port_text)


def parse_paths(raw: Any) -> tuple[Path, ...]:
    """Comma-separated (or a YAML list of) directories."""
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    paths = tuple(Path(str(item).strip()).expanduser() for item in items if str(item).strip())
    if not paths:
        raise ValueError(f"expected one or more directories, got {raw!r}")
    return paths


def parse_seed_hosts(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    seeds = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        host, port = parse_host_port(item)
        if port == 0:
            raise ValueError(f"expected a fixed port in seed host {item!r}, got 0")
        seeds.append(f"{host}:{port}")
    return tuple(seeds)


NODE_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def parse_node_attributes(raw: Any) -> tuple[tuple[str, str], ...]:
    """``box_type=hot,zone=a`` (or a YAML mapping) → (("box_type", "hot"), ("zone", "a"))."""
    if raw is None:
        return ()
    items = [f"{key}={value}" for key, value in raw.items()] if isinstance(raw, dict) else \
        (raw if isinstance(raw, (list, tuple)) else str(raw).split(","))
    attributes: dict[str, str] = {}
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        key, separator, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not separator or not value:
            raise ValueError(f"expected key=value in node attribute {item!r}")
        if not NODE_ATTRIBUTE_KEY.fullmatch(key):
            raise ValueError(f"node attribute key {key!r} must start with a letter or digit and hold only "
                             f"letters, digits, '_', '.' or '-'")
        if key in attributes:
            raise ValueError(f"node attribute {key!r} is given twice")
        attributes[key] = value
    return tuple(sorted(attributes.items()))


NODE_ROLES = ("cluster_manager", "data", "ingest")


def parse_roles(raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    roles: list[str] = []
    for item in items:
        role = str(item).strip().lower()
        if not role:
            continue
        role = "cluster_manager" if role == "master" else role
        if role not in NODE_ROLES:
            raise ValueError(f"unknown node role {role!r}; expected some of {', '.join(NODE_ROLES)}")
        if role not in roles:
            roles.append(role)
    return tuple(sorted(roles))


def parse_version_number(raw: Any) -> str:
    text = str(raw).strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+([-.][0-9A-Za-z.]+)?", text):
        raise ValueError(f"expected a version like 7.10.2, got {raw!r}")
    return text


@dataclass(frozen=True, slots=True)
class SettingSpec:
    field_name: str
    flag: str                      # without the leading "--"
    parse: Callable[[Any], Any]
    help: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("node_name", "name", parse_non_empty_string, "node name (default: host name)"),
    SettingSpec("data_directory", "data", parse_path, "data directory (default ./quidditch-data)"),
    SettingSpec("http_host", "http-host", parse_host, "REST API address (default 127.0.0.1)"),
    SettingSpec("http_port", "http-port", parse_port, "REST API port (default 9200; 0 = any free)"),
    SettingSpec("transport_host", "transport-host", parse_host, "transport address (default 127.0.0.1)"),
    SettingSpec("transport_port", "transport-port", parse_port, "transport port (default 9300)"),
    SettingSpec("raft_host", "raft-host", parse_host, "Raft address (default 127.0.0.1)"),
    SettingSpec("raft_port", "raft-port", parse_port, "Raft port (default 9301)"),
    SettingSpec("seed_hosts", "seed-hosts", parse_seed_hosts, "comma-separated Raft host:port of the voters"),
    SettingSpec("join_hosts", "join", parse_seed_hosts, "comma-separated transport host:port of members to join through (non-voter)"),
    SettingSpec("cluster_name", "cluster-name", parse_non_empty_string, "cluster name (default quidditch)"),
    SettingSpec("cluster_secret_file", "cluster-secret-file", parse_path, "file with the cluster secret"),
    SettingSpec("workers", "workers", parse_positive_int, "shard worker processes (default: cores)"),
    SettingSpec("max_content_length_bytes", "max-content-length", parse_max_content_length, "largest HTTP body (default 100mb)"),
    SettingSpec("log_level", "log-level", parse_log_level, "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    SettingSpec("version_number", "version-number", parse_version_number, "version.number of GET / (default 7.10.2)"),
    SettingSpec("elastic_product_header", "elastic-product-header", parse_bool, "send X-Elastic-Product (on/off)"),
    SettingSpec("fault_detection_timeout_seconds", "fault-detection-timeout", parse_time_value,
                "how long the master waits for one ping answer (default 5s)"),
    SettingSpec("fault_detection_retries", "fault-detection-retries", parse_positive_int,
                "missed pings in a row before a silent node is gone (default 3)"),
    SettingSpec("node_attributes", "node-attr", parse_node_attributes,
                "comma-separated key=value node attributes for allocation filters (node.attr.*)"),
    SettingSpec("path_repo", "path-repo", parse_paths,
                "comma-separated directories fs snapshot repositories may use (default <data>/snapshots)"),
    SettingSpec("roles", "roles", parse_roles,
                "comma-separated node roles: cluster_manager, data, ingest (default: all on a voter)"),
)
SETTINGS_BY_FLAG = {spec.flag: spec for spec in SETTINGS}


def environment_variable_name(spec: SettingSpec) -> str:
    return ENVIRONMENT_PREFIX + spec.flag.upper().replace("-", "_")


def normalise_key(key: str) -> str:
    return str(key).strip().lower().replace("_", "-").replace(".", "-")


def load_config(
    flags: Mapping[str, Any] | None = None,
    environment: Mapping[str, str] | None = None,
    config_file: Path | str | None = None,
) -> NodeConfig:
    """Build and validate the config. ``flags`` maps flag names (``http-port``) to raw values;
    ``environment`` defaults to ``os.environ``. Raises ConfigError listing every problem."""
    environment = os.environ if environment is None else environment
    problems: list[str] = []
    raw_values: dict[str, tuple[Any, str]] = {}  # field name → (raw value, where it came from)

    if config_file is None and environment.get(ENVIRONMENT_PREFIX + "CONFIG"):
        config_file = environment[ENVIRONMENT_PREFIX + "CONFIG"]
    if config_file is not None:
        for key, value in read_yaml_file(Path(config_file), problems).items():
            spec = SETTINGS_BY_FLAG.get(normalise_key(key))
            if spec is None:
                problems.append(f"{config_file}: unknown setting {key!r}; expected one of "
                                f"{', '.join(sorted(SETTINGS_BY_FLAG))}")
                continue
            raw_values[spec.field_name] = (value, f"{config_file}: {key}")

    for spec in SETTINGS:
        variable = environment_variable_name(spec)
        if variable in environment:
            raw_values[spec.field_name] = (environment[variable], f"environment {variable}")

    for flag, value in (flags or {}).items():
        if value is None:
            continue
        spec = SETTINGS_BY_FLAG.get(normalise_key(flag))
        if spec is None:
            problems.append(f"unknown flag --{flag}")
            continue
        raw_values[spec.field_name] = (value, f"--{spec.flag}")

    parsed: dict[str, Any] = {}
    for spec in SETTINGS:
        if spec.field_name not in raw_values:
            continue
        raw, origin = raw_values[spec.field_name]
        try:
            parsed[spec.field_name] = spec.parse(raw)
        except ValueError as error:
            problems.append(f"{origin}: {error}")

    if not problems:
        config = NodeConfig(**parsed)
        problems.extend(cross_field_problems(config))
        if not problems:
            return config
    raise ConfigError(problems)


def read_yaml_file(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        problems.append(f"{path}: cannot read config file: {error.strerror or error}")
        return {}
    except yaml.YAMLError as error:
        problems.append(f"{path}: not valid YAML: {error}")
        return {}
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        problems.append(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
        return {}
    return flatten_yaml(loaded)


def flatten_yaml(tree: dict, prefix: str = "") -> dict[str, Any]:
    """``{"http": {"port": 9200}}`` → ``{"http.port": 9200}`` so nested YAML works too."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_yaml(value, dotted))
        else:
            flat[dotted] = value
    return flat


def cross_field_problems(config: NodeConfig) -> list[str]:
    problems = []
    bound = [("--http-port", config.http_host, config.http_port),
             ("--transport-port", config.transport_host, config.transport_port),
             ("--raft-port", config.raft_host, config.raft_port)]
    for index, (name, host, port) in enumerate(bound):
        for other_name, other_host, other_port in bound[index + 1:]:
            if port != 0 and port == other_port and host == other_host:
                problems.append(f"{name} and {other_name}: expected different ports, got {port} for both")
    if len(config.seed_hosts) > 1 and config.cluster_secret_file is None:
        # a generated secret is per node: voters with different secrets can never connect
        problems.append("--cluster-secret-file: expected a secret file shared by every node when "
                        "--seed-hosts names several voters, got none")
    if config.join_hosts and config.seed_hosts:
        # a voter knows the voters already; a joiner learns them from a member: one source only
        problems.append("--join and --seed-hosts: expected at most one of them, got both (voters "
                        "use --seed-hosts; further nodes use --join with a member's transport address)")
    if config.join_hosts and config.cluster_secret_file is None:
        problems.append("--cluster-secret-file: expected the cluster's secret file with --join "
                        "(frames to the member are authenticated with it), got none")
    if config.data_directory.exists() and not config.data_directory.is_dir():
        problems.append(f"--data: expected a directory, got a file at {config.data_directory}")
    if config.cluster_secret_file is not None and not config.cluster_secret_file.is_file():
        problems.append(f"--cluster-secret-file: expected a readable file, "
                        f"got no file at {config.cluster_secret_file}")
    return problems


def config_to_json(config: NodeConfig) -> dict[str, Any]:
    """A JSON-able view (for logs and _nodes); never includes the secret itself."""
    view = {}
    for config_field in fields(config):
        value = getattr(config, config_field.name)
        view[config_field.name] = str(value) if isinstance(value, Path) else (
            list(value) if isinstance(value, tuple) else value)
    return view
