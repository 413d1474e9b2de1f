"""udf/: WebAssembly user-defined functions (filters and scorers) as a synchronous library.

Owns: the batch ABI (udf/abi.py, docs/udf.md), UDF definitions as plain data and the
registration body's validation (udf/registry.py), and compiling, caching and running modules
under fuel, memory and wall-clock limits on wasmtime (udf/runtime.py). The error hierarchy is
drawn in udf/errors.py. docs/contracts.md §9 is the API node/ builds on.

Must never: import index/, raft/, node/, trio or any async/HTTP library (an import-linter
contract enforces it); be imported for wasmtime by anyone else — only udf/ imports wasmtime.

The public surface is re-exported here; tests/unit/udf/test_udf_public_surface.py pins it.
"""

from udf.abi import ABI_VERSION, SUPPORTED_ABI_VERSIONS
from udf.columns import columns_from_segment
from udf.errors import (
    UdfBadOutputError,
    UdfDefinitionError,
    UdfError,
    UdfExecutionError,
    UdfInvocationError,
    UdfMemoryLimitError,
    UdfModuleTooLargeError,
    UdfOutOfFuelError,
    UdfTimeoutError,
    UdfTrapError,
    UdfValidationError,
)
from udf.registry import (
    DEFAULT_MAX_MODULE_BYTES,
    UdfDefinition,
    UdfInputs,
    UdfParam,
    UdfRegistration,
    parse_registration_body,
    resolve_params,
    validate_udf_name,
)
from udf.runtime import (
    CompiledUdf,
    ExecutionLimits,
    FieldColumn,
    FilterOutcome,
    ScoreOutcome,
    UdfEngineConfig,
    UdfRuntime,
    UdfRuntimeConfig,
    UdfRuntimeStatistics,
)

__all__ = [
    "ABI_VERSION",
    "CompiledUdf",
    "DEFAULT_MAX_MODULE_BYTES",
    "ExecutionLimits",
    "FieldColumn",
    "FilterOutcome",
    "SUPPORTED_ABI_VERSIONS",
    "ScoreOutcome",
    "UdfBadOutputError",
    "UdfDefinition",
    "UdfDefinitionError",
    "UdfEngineConfig",
    "UdfError",
    "UdfExecutionError",
    "UdfInputs",
    "UdfInvocationError",
    "UdfMemoryLimitError",
    "UdfModuleTooLargeError",
    "UdfOutOfFuelError",
    "UdfParam",
    "UdfRegistration",
    "UdfRuntime",
    "UdfRuntimeConfig",
    "UdfRuntimeStatistics",
    "UdfTimeoutError",
    "UdfTrapError",
    "UdfValidationError",
    "columns_from_segment",
    "parse_registration_body",
    "resolve_params",
    "validate_udf_name",
]
