"""The one exception hierarchy of udf/.

Every error udf/ raises on purpose is a subclass of ``UdfError``. wasmtime's own exceptions
(``wasmtime.Trap``, ``wasmtime.WasmtimeError``) never leave udf/: the runtime translates them
here, at the boundary. node/ maps these to HTTP in its one table (node/errors.py); udf/ knows
nothing of status codes. Each class carries ``opensearch_type``, the error type OpenSearch
reports for the same condition (a failing script is a ``script_exception``).

    UdfError
    ├── UdfDefinitionError            the registration body or a stored definition is malformed
    │   │                             (bad name, bad base64, bad inputs, sha256 mismatch)
    │   └── UdfModuleTooLargeError    the module (or its WAT text) is over the size cap
    ├── UdfValidationError            the module does not compile or does not satisfy the ABI
    │                                 (missing export, wrong signature, unsupported ABI version)
    ├── UdfInvocationError            a query asks for something the definition cannot give
    │                                 (unknown/missing/non-numeric param, missing field column,
    │                                 wrong kind, mismatched column lengths)
    └── UdfExecutionError             the module failed while running a batch
        ├── UdfTrapError              a wasm trap (unreachable, out-of-bounds access, ...)
        ├── UdfOutOfFuelError         the call consumed all the fuel it was given
        ├── UdfTimeoutError           the wall-clock bound (epoch deadline) was hit
        ├── UdfMemoryLimitError       the instance hit its linear-memory cap
        └── UdfBadOutputError         non-zero status, bad region, NaN/negative/inf scores

Every error has ``function_name`` (the UDF's registered name, or "" when not known yet),
``reason`` (lowercase, says what was expected and what arrived) and ``details``.
"""

from __future__ import annotations

from typing import Any


class UdfError(Exception):
    """Base of every error udf/ raises on purpose."""

    opensearch_type = "exception"

    def __init__(self, reason: str, function_name: str = "", **details: Any) -> None:
        message = f"udf [{function_name}]: {reason}" if function_name else reason
        super().__init__(message)
        self.reason = reason
        self.function_name = function_name
        self.details = details


class UdfDefinitionError(UdfError):
    opensearch_type = "illegal_argument_exception"


class UdfModuleTooLargeError(UdfDefinitionError):
    opensearch_type = "illegal_argument_exception"


class UdfValidationError(UdfError):
    opensearch_type = "illegal_argument_exception"


class UdfInvocationError(UdfError):
    opensearch_type = "illegal_argument_exception"


class UdfExecutionError(UdfError):
    """A module failed while running; fails that shard's part of the search, never the node."""

    opensearch_type = "script_exception"


class UdfTrapError(UdfExecutionError):
    pass


class UdfOutOfFuelError(UdfExecutionError):
    pass


class UdfTimeoutError(UdfExecutionError):
    pass


class UdfMemoryLimitError(UdfExecutionError):
    pass


class UdfBadOutputError(UdfExecutionError):
    pass
