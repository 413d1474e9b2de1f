"""Structured logs: one JSON object per line with the request id and fields."""

import json
import logging

from node.logs import JsonLineFormatter, close_logging, configure_logging, get_logger, request_id


def test_a_log_line_is_one_json_object_with_every_standard_key(tmp_path):
    configure_logging("node-a", "INFO", tmp_path / "logs")
    try:
        token = request_id.set("req-7")
        get_logger("test").info("indexed", extra={"fields": {"documents": 3}})
        request_id.reset(token)
        get_logger("test").warning("outside a request")
    finally:
        close_logging()
    lines = (tmp_path / "logs" / "node.log").read_text().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "indexed"
    assert first["level"] == "INFO"
    assert first["logger"] == "quidditch.test"
    assert first["node"] == "node-a"
    assert first["request_id"] == "req-7"
    assert first["fields"] == {"documents": 3}
    assert first["timestamp"].endswith("Z")
    assert second["request_id"] is None


def test_exceptions_and_odd_values_never_break_a_line():
    formatter = JsonLineFormatter("node-b")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("quidditch.x", logging.ERROR, __file__, 1, "failed %s", ("here",),
                                   exc_info=__import__("sys").exc_info())
    record.fields = {"path": object()}
    line = json.loads(formatter.format(record))
    assert line["message"] == "failed here"
    assert "ValueError: boom" in line["exception"]
    assert line["fields"]["path"].startswith("<object")
