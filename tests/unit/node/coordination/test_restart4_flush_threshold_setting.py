"""``index.translog.flush_threshold_size`` is read into ShardSettings as OpenSearch parses it (byte
sizes with units, at least 56 bytes); anything else is a 400 before it reaches the cluster state."""

from __future__ import annotations

import pytest

from index.shard import ShardSettings
from node.coordination.values import shard_settings_from_index_settings
from node.errors import IllegalArgumentError


@pytest.mark.parametrize(("value", "expected_bytes"), [
    ("512mb", 512 * 1024 * 1024), ("1gb", 1024 ** 3), ("56b", 56), ("64KB", 64 * 1024), ("1.5mb", 1572864),
    ("2k", 2048), ("1tb", 1024 ** 4),
])
def test_byte_sizes_with_units_become_the_shards_flush_threshold(value, expected_bytes):
    settings = shard_settings_from_index_settings({"index.translog.flush_threshold_size": value})
    assert settings.flush_threshold_bytes == expected_bytes


def test_an_index_without_the_setting_keeps_opensearchs_512mb_default():
    assert shard_settings_from_index_settings({}).flush_threshold_bytes == ShardSettings().flush_threshold_bytes
    assert ShardSettings().flush_threshold_bytes == 512 * 1024 * 1024


@pytest.mark.parametrize("value", ["100", "abc", "1xb", "mb", "-1mb", ""])
def test_a_value_without_a_known_unit_is_refused_naming_the_setting(value):
    with pytest.raises(IllegalArgumentError) as raised:
        shard_settings_from_index_settings({"index.translog.flush_threshold_size": value})
    assert "index.translog.flush_threshold_size" in str(raised.value)
    assert "unit is missing or unrecognized" in str(raised.value)


@pytest.mark.parametrize("value", ["0", "55b", "10b"])
def test_a_threshold_below_56_bytes_is_refused(value):
    with pytest.raises(IllegalArgumentError) as raised:
        shard_settings_from_index_settings({"index.translog.flush_threshold_size": value})
    assert "must be >= [56b]" in str(raised.value)
