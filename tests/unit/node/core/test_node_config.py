"""NodeConfig: sources in order, every problem reported together."""

from pathlib import Path

import pytest

from node.config import ConfigError, NodeConfig, load_config, parse_byte_size


def test_defaults_apply_when_nothing_is_given():
    config = load_config(flags={}, environment={})
    assert config.http_host == "127.0.0.1"
    assert config.http_port == 9200
    assert config.transport_port == 9300
    assert config.raft_port == 9301
    assert config.data_directory == Path("./quidditch-data")
    assert config.max_content_length_bytes == 100 * 1024 * 1024
    assert config.version_number == "7.10.2"
    assert config.elastic_product_header is False
    assert config.workers >= 1


def test_flags_beat_environment_which_beats_the_yaml_file(tmp_path):
    config_file = tmp_path / "quidditch.yml"
    config_file.write_text("http:\n  port: 9400\ncluster-name: from-file\nworkers: 3\n")
    config = load_config(
        flags={"http-port": "9500"},
        environment={"QUIDDITCH_HTTP_PORT": "9450", "QUIDDITCH_CLUSTER_NAME": "from-env"},
        config_file=config_file,
    )
    assert config.http_port == 9500
    assert config.cluster_name == "from-env"
    assert config.workers == 3


def test_every_problem_is_reported_together(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(flags={"http-port": "70000", "workers": "0", "log-level": "LOUD",
                           "max-content-length": "lots", "seed-hosts": "nohostport"},
                    environment={"QUIDDITCH_ELASTIC_PRODUCT_HEADER": "maybe"})
    problems = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 6
    for expected in ("--http-port", "--workers", "--log-level", "--max-content-length",
                     "--seed-hosts", "QUIDDITCH_ELASTIC_PRODUCT_HEADER"):
        assert expected in problems


def test_unknown_yaml_keys_and_unreadable_files_are_problems(tmp_path):
    config_file = tmp_path / "bad.yml"
    config_file.write_text("htp_port: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(flags={}, environment={}, config_file=config_file)
    assert "unknown setting 'htp_port'" in caught.value.problems[0]
    with pytest.raises(ConfigError) as caught:
        load_config(flags={}, environment={}, config_file=tmp_path / "missing.yml")
    assert "cannot read config file" in caught.value.problems[0]


def test_two_listeners_on_one_fixed_port_are_refused():
    with pytest.raises(ConfigError) as caught:
        load_config(flags={"http-port": "9300"}, environment={})
    assert "expected different ports" in caught.value.problems[0]


def test_port_zero_is_allowed_for_every_listener():
    config = load_config(flags={"http-port": "0", "transport-port": "0", "raft-port": "0"},
                         environment={})
    assert (config.http_port, config.transport_port, config.raft_port) == (0, 0, 0)


@pytest.mark.parametrize("text, expected", [("100mb", 100 * 1024**2), ("1gb", 1024**3),
                                            ("512kb", 512 * 1024), ("42", 42), (7, 7)])
def test_byte_sizes_use_opensearch_units(text, expected):
    assert parse_byte_size(text) == expected


def test_config_is_frozen():
    config = NodeConfig()
    with pytest.raises(AttributeError):
        config.http_port = 1  # type: ignore[misc]


def test_a_multi_voter_cluster_needs_a_shared_secret_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(flags={"seed-hosts": "127.0.0.1:9301,127.0.0.1:9302"}, environment={})
    assert "--cluster-secret-file" in caught.value.problems[0]
    secret_file = tmp_path / "secret"
    secret_file.write_text("x" * 32)
    config = load_config(flags={"seed-hosts": "127.0.0.1:9301,127.0.0.1:9302",
                                "cluster-secret-file": str(secret_file)}, environment={})
    assert config.seed_hosts == ("127.0.0.1:9301", "127.0.0.1:9302")


def test_the_body_limit_cannot_exceed_two_gigabytes():
    assert load_config(flags={"max-content-length": "2gb"}, environment={}).max_content_length_bytes == 2 * 1024**3
    with pytest.raises(ConfigError, match="expected at most 2gb"):
        load_config(flags={"max-content-length": "3gb"}, environment={})


def test_fault_detection_defaults_to_five_second_pings_three_times():
    config = load_config(flags={}, environment={})
    assert (config.fault_detection_timeout_seconds, config.fault_detection_retries) == (5.0, 3)


@pytest.mark.parametrize("text, seconds", [("5s", 5.0), ("500ms", 0.5), ("1m", 60.0), ("2.5", 2.5)])
def test_the_fault_detection_timeout_takes_opensearch_time_units(text, seconds):
    config = load_config(flags={"fault-detection-timeout": text}, environment={})
    assert config.fault_detection_timeout_seconds == seconds


def test_bad_fault_detection_values_are_reported_together():
    with pytest.raises(ConfigError) as raised:
        load_config(flags={"fault-detection-timeout": "0s"},
                    environment={"QUIDDITCH_FAULT_DETECTION_RETRIES": "0"})
    text = str(raised.value)
    assert "--fault-detection-timeout" in text and "QUIDDITCH_FAULT_DETECTION_RETRIES" in text
