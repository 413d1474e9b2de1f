"""Allocation scenarios as golden files (etcd-style data-driven tests).

Each tests/scenarios/raft/*.txt holds blocks separated by blank lines: input lines, a `----`
line, then the expected output. Commands:
  setup            data lines: `node <id> [name=<name>] [roles=a,b]`,
                   `index <name> shards=<n> replicas=<n>`, `setting <key>=<value>`,
                   `close <index>`, `replicas <index> <n>`, `deregister <node id>`
  allocate live=<ids>[ report=<node>:<index>/<shard>/<allocation id>[/started],...]
                   [ awaiting=<ids>]
                   print the decisions, then apply them as one fenced batch; "/started": the
                   node holds data of a copy once started there; awaiting: nodes whose report
                   has not arrived yet (they take no moves)
  start [node=<id>]   finish recovery of every INITIALIZING copy (optionally on one node)
  show             the routing table
`--update-goldens` rewrites the outputs; a reviewer reads the diff.
"""

import itertools
from pathlib import Path

import pytest

from raft import commands as c
from raft.allocation import ReportedCopy, allocation_batch
from raft.apply import apply
from raft.state import INITIALIZING, NodeInfo, initial_cluster_state

SCENARIO_DIRECTORY = Path(__file__).parent
SCENARIO_FILES = sorted(SCENARIO_DIRECTORY.glob("*.txt"))
RAFT_TERM = 3


def parse_blocks(text):
    blocks, current = [], []
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(line)
    if current:
        blocks.append(current)
    parsed = []
    for block in blocks:
        if block[0].startswith("#") and "----" not in block:
            parsed.append((block, None))
            continue
        separator = block.index("----")
        parsed.append((block[:separator], block[separator + 1:]))
    return parsed


class Scenario:
    def __init__(self):
        self.state = initial_cluster_state("scenario")
        self.allocation_counter = itertools.count(1)

    def submit(self, command):
        self.state, outcome = apply(self.state, command)
        if not outcome.accepted:
            return [f"rejected {outcome.error_type}: {outcome.reason}"]
        return []

    def run(self, input_lines):
        comments = [line for line in input_lines if line.startswith("#")]
        lines = [line for line in input_lines if not line.startswith("#")]
        command, *arguments = lines[0].split()
        options = dict(argument.split("=", 1) for argument in arguments if "=" in argument)
        del comments
        if command == "setup":
            return self.setup(lines[1:])
        if command == "allocate":
            return self.allocate(options)
        if command == "start":
            return self.start(options.get("node"))
        if command == "show":
            return self.show()
        raise ValueError(f"unknown scenario command {command!r}")

    def setup(self, data_lines):
        output = []
        for line in data_lines:
            kind, name, *rest = line.split()
            options = dict(part.split("=", 1) for part in rest if "=" in part)
            if kind == "node":
                roles = tuple(options.get("roles", "cluster_manager,data,ingest").split(","))
                output += self.submit(c.RegisterNode(node=NodeInfo(
                    node_id=name, name=options.get("name", name), http_address=f"{name}:9200",
                    transport_address=f"{name}:9300", roles=roles)))
            elif kind == "index":
                output += self.submit(c.CreateIndex(
                    index_name=name, index_uuid=f"{name}-uuid", creation_date=0,
                    settings={"number_of_shards": options.get("shards", "1"),
                              "number_of_replicas": options.get("replicas", "1")}))
            elif kind == "setting":
                key, value = name.split("=", 1)
                output += self.submit(c.PutClusterSettings(persistent={key: value}))
            elif kind == "deregister":
                output += self.submit(c.DeregisterNode(node_id=name))
            elif kind == "close":
                output += self.submit(c.CloseIndex(index_names=(name,)))
            elif kind == "replicas":
                output += self.submit(c.SetNumberOfReplicas(index_names=(name,),
                                                            number_of_replicas=int(rest[0])))
            else:
                raise ValueError(f"unknown setup line {line!r}")
        return output or ["ok"]

    def allocate(self, options):
        live = [node for node in options.get("live", "").split(",") if node]
        reported = {}
        for entry in filter(None, options.get("report", "").split(",")):
            node_id, location = entry.split(":")
            index_name, shard_number, allocation_id, *marks = location.split("/")
            reported.setdefault(node_id, []).append(
                ReportedCopy(index_name, int(shard_number), allocation_id,
                             holds_started_data="started" in marks))
        awaiting = [node for node in options.get("awaiting", "").split(",") if node]
        batch = allocation_batch(self.state, RAFT_TERM, live,
                                 lambda: f"a{next(self.allocation_counter)}", reported, awaiting)
        if batch is None:
            return ["no decisions"]
        output = [render_decision(command) for command in batch.commands]
        rejection = self.submit(batch)
        return output + (rejection or [f"applied as version {self.state.version}"])

    def start(self, only_node):
        output = []
        for index_name in sorted(self.state.routing_table):
            for shard in self.state.routing_table[index_name]:
                for shard_copy in shard.copies:
                    if shard_copy.state != INITIALIZING:
                        continue
                    if only_node is not None and shard_copy.node_id != only_node:
                        continue
                    output += self.submit(c.StartCopy(index_name=index_name,
                                                      shard_number=shard.shard_number,
                                                      allocation_id=shard_copy.allocation_id))
                    output.append(f"started {index_name}[{shard.shard_number}] "
                                  f"{shard_copy.allocation_id} on {shard_copy.node_id}")
        return output or ["nothing to start"]

    def show(self):
        output = []
        for index_name in sorted(self.state.routing_table):
            for shard in self.state.routing_table[index_name]:
                copies = " | ".join(
                    f"{'P' if shard_copy.primary else 'R'} "
                    + (f"{shard_copy.allocation_id}@{shard_copy.node_id} {shard_copy.state}"
                       if shard_copy.assigned else f"UNASSIGNED ({shard_copy.unassigned_reason})")
                    for shard_copy in shard.copies)
                output.append(f"{index_name}[{shard.shard_number}] {shard.health} "
                              f"term={shard.primary_term} "
                              f"in_sync=[{','.join(shard.in_sync_allocation_ids)}] | {copies}")
        return output or ["empty routing table"]


def render_decision(command):
    location = f"{command.index_name}[{command.shard_number}]"
    if isinstance(command, c.FailCopy):
        return f"fail {location} {command.allocation_id} ({command.reason})"
    if isinstance(command, c.PromoteReplica):
        return f"promote {location} {command.allocation_id}"
    if isinstance(command, c.AllocateCopy):
        kind = "primary" if command.primary else "replica"
        return f"allocate {location} {kind} {command.allocation_id} -> {command.node_id}"
    if isinstance(command, c.RelocateCopy):
        return (f"relocate {location} {command.allocation_id} -> {command.target_node_id} "
                f"as {command.target_allocation_id}")
    if isinstance(command, c.CompleteRelocation):
        promoted = f" promoting {command.promote_allocation_id}" if command.promote_allocation_id else ""
        return f"complete relocation {location} dropping {command.allocation_id}{promoted}"
    return f"{command.command_type} {location}"


def render(blocks):
    chunks = []
    for input_lines, output_lines in blocks:
        if output_lines is None:
            chunks.append("\n".join(input_lines))
        else:
            chunks.append("\n".join(input_lines + ["----"] + output_lines))
    return "\n\n".join(chunks) + "\n"


@pytest.mark.parametrize("scenario_path", SCENARIO_FILES, ids=lambda path: path.stem)
def test_allocation_scenario_matches_its_golden_file(scenario_path, request):
    blocks = parse_blocks(scenario_path.read_text())
    scenario = Scenario()
    actual = []
    for input_lines, expected in blocks:
        if expected is None:
            actual.append((input_lines, None))
            continue
        actual.append((input_lines, scenario.run(input_lines)))
    rendered = render(actual)
    if request.config.getoption("--update-goldens", default=False):
        scenario_path.write_text(rendered)
        return
    assert rendered == scenario_path.read_text(), (
        f"{scenario_path.name} differs; run pytest tests/scenarios/raft --update-goldens "
        f"and review the diff")


def test_there_are_golden_scenarios():
    assert len(SCENARIO_FILES) >= 5
