"""The transport's errors and the wire form of exceptions raised on the far side.

    TransportError
    ├── FrameError                    a frame is malformed, too large, or fails its HMAC
    │   └── FrameAuthenticationError  the HMAC does not match (wrong secret or tampering)
    ├── ConnectionClosedError         the peer went away with requests still waiting
    ├── RequestTimeoutError           no response before the caller's deadline
    ├── UnknownTransportMethodError   the peer has no handler for that method
    └── RemoteError                   the far side raised something we do not rebuild by class

Exceptions cross the wire as a dict (``describe_exception``); ``rebuild_exception`` turns it back
into the same class only for the libraries' own error modules (never an arbitrary import).
This module must never import trio-level connection code.
"""

from __future__ import annotations

import importlib
from typing import Any

# Error classes from these modules are rebuilt by name on the receiving side; anything else
# arrives as RemoteError. Importing only from a fixed list keeps the wire from naming code to run.
REBUILDABLE_ERROR_MODULES = ("index.errors", "raft.errors", "udf.errors", "node.workers.errors",
                             "node.transport.errors", "node.cluster.errors")


class TransportError(Exception):
    """Base of every transport error."""


class FrameError(TransportError):
    pass


class FrameAuthenticationError(FrameError):
    pass


class ConnectionClosedError(TransportError):
    pass


class RequestTimeoutError(TransportError):
    pass


class UnknownTransportMethodError(TransportError):
    opensearch_type = "action_not_found_transport_exception"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RemoteError(TransportError):
    """An error raised on the far side of a connection that is not rebuilt by class."""

    def __init__(self, error_type: str, reason: str, opensearch_type: str | None = None,
                 traceback_text: str | None = None) -> None:
        super().__init__(f"{error_type}: {reason}")
        self.error_type = error_type
        self.reason = reason
        self.opensearch_type = opensearch_type or "exception"
        self.traceback_text = traceback_text


def json_safe(value: Any) -> Any:
    """Keep only what orjson can carry; anything else becomes its repr."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    return repr(value)


def describe_exception(error: BaseException, traceback_text: str | None = None) -> dict[str, Any]:
    attributes = {}
    for name, value in vars(error).items() if hasattr(error, "__dict__") else ():
        if not name.startswith("_"):
            attributes[name] = json_safe(value)
    return {
        "module": type(error).__module__,
        "type": type(error).__name__,
        "reason": getattr(error, "reason", None) or str(error),
        "opensearch_type": getattr(error, "opensearch_type", None),
        "attributes": attributes,
        "traceback": traceback_text,
    }


def rebuild_exception(description: dict[str, Any]) -> BaseException:
    module_name = description.get("module")
    type_name = str(description.get("type"))
    reason = str(description.get("reason"))
    if module_name in REBUILDABLE_ERROR_MODULES:
        try:
            error_class = getattr(importlib.import_module(module_name), type_name)
        except (ImportError, AttributeError):
            error_class = None
        if isinstance(error_class, type) and issubclass(error_class, Exception):
            # __new__ + attributes, not __init__: subclasses take different constructor arguments.
            error = error_class.__new__(error_class)
            Exception.__init__(error, reason)
            for name, value in (description.get("attributes") or {}).items():
                try:
                    setattr(error, name, value)
                except AttributeError:
                    pass
            return error
    return RemoteError(type_name, reason, description.get("opensearch_type"), description.get("traceback"))
