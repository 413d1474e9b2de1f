"""The faults file (docs/testing.md) parses into a plan, bad files mean "no faults", the watcher
picks up rewrites, and the per-link decision drops, delays and loses as the file says."""

import os

import orjson
import pytest
from hypothesis import given, strategies as st

from raft.faults import (
    DELIVER_AT_ONCE,
    FaultsFileError,
    FaultsFileWatcher,
    LinkFault,
    LinkFaults,
    decide,
    parse_faults_document,
)


def document(links, generation=1, **extra):
    return orjson.dumps({"version": 1, "generation": generation, "nodes": {
        "n0": {"http": "127.0.0.1:1", "transport": "127.0.0.1:2", "raft": "127.0.0.1:3"},
        "n1": {"http": "127.0.0.1:4", "transport": "127.0.0.1:5", "raft": "127.0.0.1:6"}},
        "links": links, **extra})


def test_a_link_entry_parses_with_defaults_for_omitted_fields():
    plan = parse_faults_document(document([{"from": "n0", "to": "n1", "drop": True}], generation=7))
    assert plan.generation == 7
    assert plan.link("n0", "n1") == LinkFault("n0", "n1", drop=True, delay_ms=0.0, loss_probability=0.0)
    assert plan.link("n1", "n0") is None


def test_addresses_map_back_to_node_names_by_kind():
    plan = parse_faults_document(document([]))
    assert plan.node_name_for_address("raft", "127.0.0.1:6") == "n1"
    assert plan.node_name_for_address("transport", "127.0.0.1:2") == "n0"
    assert plan.node_name_for_address("raft", "127.0.0.1:2") is None


@pytest.mark.parametrize("bad, field", [
    (b'{"version": 2, "links": []}', "version"),
    (b'{"version": 1, "links": {}}', "links"),
    (b'{"version": 1, "links": [{"from": "n0"}]}', "links[0].to"),
    (b'{"version": 1, "links": [{"from": "n0", "to": "n1", "loss_probability": 1.5}]}', "links[0].loss_probability"),
    (b'{"version": 1, "links": [{"from": "n0", "to": "n1", "delay_ms": -1}]}', "links[0].delay_ms"),
    (b'{"version": 1, "links": [{"from": "n0", "to": "n1", "drop": "yes"}]}', "links[0].drop"),
    (b'not json', "json"),
])
def test_a_malformed_file_is_refused_naming_the_field(bad, field):
    with pytest.raises(FaultsFileError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_faults_document(bad)


def test_a_cut_link_drops_and_a_healthy_link_delivers_at_once():
    assert decide(None, lambda: 0.0) == DELIVER_AT_ONCE
    assert decide(LinkFault("a", "b", drop=True), lambda: 0.99).dropped
    delayed = decide(LinkFault("a", "b", delay_ms=250), lambda: 0.0)
    assert not delayed.dropped and delayed.delay_seconds == 0.25


@given(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.0, max_value=0.999999))
def test_a_message_is_lost_exactly_when_the_draw_falls_below_the_loss_probability(probability, draw):
    decision = decide(LinkFault("a", "b", loss_probability=probability), lambda: draw)
    assert decision.dropped == (probability > 0.0 and draw < probability)


def test_the_watcher_follows_rewrites_and_treats_a_missing_or_bad_file_as_no_faults(tmp_path):
    now = [0.0]
    path = tmp_path / "faults.json"
    watcher = FaultsFileWatcher(path, poll_interval_seconds=0.1, clock=lambda: now[0])
    assert watcher.current().links == {}
    path.write_bytes(document([{"from": "n0", "to": "n1", "drop": True}], generation=1))
    assert watcher.current().links == {}  # not polled again before the interval
    now[0] += 0.2
    assert watcher.current().link("n0", "n1").drop
    temporary = tmp_path / "faults.tmp"
    temporary.write_bytes(document([], generation=2))
    os.replace(temporary, path)
    now[0] += 0.2
    plan = watcher.current()
    assert plan.generation == 2 and plan.links == {}
    path.write_bytes(b'{"version": 9}')
    now[0] += 0.2
    assert watcher.current().links == {} and watcher.current().generation == 0


def test_losses_repeat_from_the_seed_in_the_file(tmp_path):
    path = tmp_path / "faults.json"
    path.write_bytes(document([{"from": "n0", "to": "n1", "loss_probability": 0.5}], seed=42))

    def fates():
        faults = LinkFaults(FaultsFileWatcher(path), "n0")
        return [faults.outgoing("n1").dropped for _ in range(64)]

    first = fates()
    assert first == fates()
    assert any(first) and not all(first)


def test_both_ends_enforce_a_directed_link(tmp_path):
    path = tmp_path / "faults.json"
    path.write_bytes(document([{"from": "n0", "to": "n1", "drop": True}]))
    sender, receiver = LinkFaults(FaultsFileWatcher(path), "n0"), LinkFaults(FaultsFileWatcher(path), "n1")
    assert sender.outgoing("n1").dropped and receiver.incoming("n0").dropped
    assert not sender.incoming("n1").dropped and not receiver.outgoing("n0").dropped
