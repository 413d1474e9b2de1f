"""OpenSearch-shaped error bodies for the errors the HTTP layer itself produces.

Errors from the engine, Raft and the API are translated by node/errors.py (node-api's one table);
this module only shapes the handful that happen before a handler runs (body too large,
unsupported content type, no such route). It must never translate library exceptions.
"""

from __future__ import annotations

from typing import Any

import orjson


def opensearch_error_body(error_type: str, reason: str, status: int, **extra: Any) -> bytes:
    cause = {"type": error_type, "reason": reason, **extra}
    return orjson.dumps({"error": {"root_cause": [cause], **cause}, "status": status})


def plain_error_body(reason: str, status: int) -> bytes:
    """OpenSearch answers routing-level problems with a bare string error."""
    return orjson.dumps({"error": reason, "status": status})
