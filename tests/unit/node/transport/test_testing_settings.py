"""Test-only settings are off unless their variable is set, are logged loudly with the
variable's name when on (jepsen-lite greps node.log for it), and reject an unclear switch."""

import logging
from pathlib import Path

import pytest

from node import testing_settings
from node.testing_settings import FAULTS_FILE_VARIABLE, UNSAFE_ACK_VARIABLE, read_testing_settings


def test_nothing_is_active_without_the_variables():
    settings = read_testing_settings({})
    assert not settings.any_active and settings.reported_settings() == {}


def test_the_variables_switch_the_settings_on_and_are_reported():
    settings = read_testing_settings({FAULTS_FILE_VARIABLE: "/tmp/f.json", UNSAFE_ACK_VARIABLE: "1"})
    assert settings.faults_file == Path("/tmp/f.json") and settings.unsafe_ack_before_replication
    assert settings.reported_settings() == {"quidditch.test.faults_file": "/tmp/f.json",
                                            "quidditch.test.unsafe_ack_before_replication": "true"}
    assert not read_testing_settings({UNSAFE_ACK_VARIABLE: "0"}).unsafe_ack_before_replication


def test_an_unclear_unsafe_switch_is_refused():
    with pytest.raises(ValueError, match=UNSAFE_ACK_VARIABLE):
        read_testing_settings({UNSAFE_ACK_VARIABLE: "maybe"})


def test_activating_logs_each_active_setting_by_its_variable_name(caplog):
    previous = testing_settings.current()
    try:
        with caplog.at_level(logging.WARNING):
            testing_settings.activate(read_testing_settings(
                {FAULTS_FILE_VARIABLE: "/tmp/f.json", UNSAFE_ACK_VARIABLE: "true"}), logging.getLogger("t"))
        assert FAULTS_FILE_VARIABLE in caplog.text and UNSAFE_ACK_VARIABLE in caplog.text
        assert testing_settings.unsafe_ack_before_replication()
    finally:
        testing_settings.activate(previous, logging.getLogger("t"))
    assert testing_settings.current() == previous
