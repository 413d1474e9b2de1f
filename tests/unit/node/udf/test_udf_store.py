"""<data>/udf-store: the front writes the cluster state's UDFs, a worker reads them back."""

import threading
import time

import pytest

import udf.examples as examples
from node.udf.store import (
    DiskUdfCatalog, UdfLimits, limits_from_settings, store_directory, write_store,
)
from udf import UdfInvocationError, UdfRuntime


@pytest.fixture(scope="module")
def definitions():
    with UdfRuntime() as runtime:
        return {name: runtime.build_definition(name, examples.wat_registration_body(name))
                for name in ("range_filter", "recency_scorer")}


def test_a_worker_reads_back_every_definition_and_the_limits_the_front_wrote(tmp_path, definitions):
    limits = UdfLimits(fuel_per_query=123, timeout_milliseconds=50.0)
    write_store(tmp_path, 7, {name: definition.to_json() for name, definition in definitions.items()}, limits)
    catalog = DiskUdfCatalog(tmp_path, wait_seconds=0.0)
    assert catalog.limits() == limits
    assert catalog.definition("range_filter") == definitions["range_filter"]
    sha256 = definitions["recency_scorer"].sha256
    assert catalog.definition("recency_scorer", sha256) == definitions["recency_scorer"]
    assert catalog.sha256s() == {definition.sha256 for definition in definitions.values()}


def test_a_deleted_udf_disappears_from_the_store_and_its_module_file_goes(tmp_path, definitions):
    write_store(tmp_path, 1, {name: definition.to_json() for name, definition in definitions.items()}, UdfLimits())
    write_store(tmp_path, 2, {"recency_scorer": definitions["recency_scorer"].to_json()}, UdfLimits())
    catalog = DiskUdfCatalog(tmp_path, wait_seconds=0.0)
    with pytest.raises(UdfInvocationError, match="udf \\[range_filter\\] is not registered"):
        catalog.definition("range_filter")
    modules = sorted(path.name for path in (store_directory(tmp_path) / "modules").iterdir())
    assert modules == [definitions["recency_scorer"].sha256 + ".json"]


def test_a_worker_waits_for_a_module_its_front_has_not_written_yet(tmp_path, definitions):
    write_store(tmp_path, 1, {}, UdfLimits())
    catalog = DiskUdfCatalog(tmp_path, wait_seconds=30.0)
    wanted = definitions["range_filter"]

    def front_applies_later():
        time.sleep(0.2)
        write_store(tmp_path, 2, {"range_filter": wanted.to_json()}, UdfLimits())

    writer = threading.Thread(target=front_applies_later)
    writer.start()
    try:
        assert catalog.definition("range_filter", wanted.sha256) == wanted
    finally:
        writer.join()


def test_an_unknown_sha256_fails_after_the_wait_naming_the_function(tmp_path):
    write_store(tmp_path, 1, {}, UdfLimits())
    with pytest.raises(UdfInvocationError, match="udf \\[gone\\] with sha256"):
        DiskUdfCatalog(tmp_path, wait_seconds=0.0).definition("gone", "0" * 64)


def test_limits_come_from_cluster_settings_with_documented_defaults():
    settings = {"quidditch.udf.fuel_per_query": "5000", "quidditch.udf.timeout": "250ms",
                "quidditch.udf.max_module_size": "2mb"}
    limits = limits_from_settings(lambda key, default=None: settings.get(key, default))
    assert limits == UdfLimits(fuel_per_query=5000, timeout_milliseconds=250.0, max_module_bytes=2 << 20)
    assert limits_from_settings(lambda key, default=None: default) == UdfLimits()
    with pytest.raises(ValueError, match="quidditch.udf.fuel_per_query"):
        limits_from_settings(lambda key, default=None: "lots" if key.endswith("fuel_per_query") else default)


def test_the_module_size_setting_is_capped_below_what_one_raft_entry_carries():
    with pytest.raises(ValueError, match="at most"):
        limits_from_settings(lambda key, default=None: "16mb" if key.endswith("max_module_size") else default)


def test_index_settings_replace_the_cluster_limits_for_that_index_only(tmp_path):
    from node.udf.store import index_limits_from_settings

    cluster = UdfLimits(fuel_per_query=10**9, timeout_milliseconds=10_000.0)
    tight = index_limits_from_settings({"index.udf.fuel_per_query": "1000", "index.number_of_shards": "1"}, cluster)
    assert tight == UdfLimits(fuel_per_query=1000, timeout_milliseconds=10_000.0)
    assert index_limits_from_settings({"index.udf.timeout": "2s"}, cluster).timeout_milliseconds == 2000.0
    assert index_limits_from_settings({"index.number_of_shards": "1"}, cluster) is None
    with pytest.raises(ValueError, match="index.udf.fuel_per_query"):
        index_limits_from_settings({"index.udf.fuel_per_query": "plenty"}, cluster)
    write_store(tmp_path, 3, {}, cluster, {"tight": tight})
    catalog = DiskUdfCatalog(tmp_path, wait_seconds=0.0)
    assert catalog.limits("tight") == tight
    assert catalog.limits("other") == cluster and catalog.limits() == cluster
