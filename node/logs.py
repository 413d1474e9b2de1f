"""Structured logging: one JSON object per line on stderr and in <data>/logs/node.log.

Every line has ``timestamp`` (UTC ISO-8601, milliseconds), ``level``, ``logger``, ``message``,
``node`` (the node name), ``request_id`` (from the ``request_id`` contextvar, set per HTTP request
by node/http) and, when given, ``fields`` (``logger.info("...", extra={"fields": {...}})``) and
``exception``.

This module owns the log format and the handlers. It must never decide *what* to log, and it must
never raise from a handler: a broken log line must not break a request.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import orjson

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the HTTP request being served (X-Opaque-Id or generated); None outside requests."""

ROOT_LOGGER_NAME = "quidditch"
# the libraries log under their package names; their events belong in the node's log too
LIBRARY_LOGGER_NAMES = ("raft", "index", "udf", "pysyncobj", "hypercorn.error")


def get_logger(name: str) -> logging.Logger:
    """A child of the ``quidditch`` logger: ``get_logger("http")`` → ``quidditch.http``."""
    return logging.getLogger(f"{ROOT_LOGGER_NAME}.{name}" if name else ROOT_LOGGER_NAME)


class JsonLineFormatter(logging.Formatter):
    def __init__(self, node_name: str) -> None:
        super().__init__()
        self.node_name = node_name

    def format(self, record: logging.LogRecord) -> str:
        seconds = int(record.created)
        milliseconds = int((record.created - seconds) * 1000)
        event: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{milliseconds:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "node": self.node_name,
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        extra_fields = getattr(record, "fields", None)
        if extra_fields:
            event["fields"] = extra_fields
        if record.exc_info:
            event["exception"] = "".join(traceback.format_exception(*record.exc_info))
        # default=str so an unexpected value (a Path, an exception) never loses the line.
        return orjson.dumps(event, default=str).decode()


LOG_FILE_MAX_BYTES = 64 * 1024 * 1024
LOG_FILE_BACKUPS = 4


def configure_logging(node_name: str, level: str, logs_directory: Path | None,
                      rotate: bool = True) -> list[logging.Handler]:
    """Install the JSON handlers on the ``quidditch`` logger (and the libraries'). Idempotent:
    earlier handlers installed by this function are replaced. Returns the handlers.

    The front process rotates node.log (64 MiB × 4); workers append to the same file with
    ``rotate=False`` and reopen it when the front has rotated it away (WatchedFileHandler), so
    two processes never rotate one file."""
    formatter = JsonLineFormatter(node_name)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logs_directory is not None:
        logs_directory.mkdir(parents=True, exist_ok=True)
        log_file = logs_directory / "node.log"
        if rotate:
            handlers.append(logging.handlers.RotatingFileHandler(
                log_file, maxBytes=LOG_FILE_MAX_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"))
        else:
            handlers.append(logging.handlers.WatchedFileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._quidditch = True  # type: ignore[attr-defined]  # marks ours for replacement
    for logger_name in (ROOT_LOGGER_NAME, *LIBRARY_LOGGER_NAMES):
        logger = logging.getLogger(logger_name)
        for old in [h for h in logger.handlers if getattr(h, "_quidditch", False)]:
            logger.removeHandler(old)
            old.close()
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return handlers


def close_logging() -> None:
    """Flush and close our handlers (the node's last act on shutdown)."""
    for logger_name in (ROOT_LOGGER_NAME, *LIBRARY_LOGGER_NAMES):
        logger = logging.getLogger(logger_name)
        for handler in [h for h in logger.handlers if getattr(h, "_quidditch", False)]:
            logger.removeHandler(handler)
            handler.flush()
            handler.close()
