"""The names udf/ exports are its contract with node/ (docs/contracts.md §9): pin them."""

from __future__ import annotations

import numpy as np

import udf
from udf.examples import wat_registration_body

EXPECTED_PUBLIC_NAMES = {
    "ABI_VERSION", "CompiledUdf", "DEFAULT_MAX_MODULE_BYTES", "ExecutionLimits", "FieldColumn",
    "FilterOutcome", "SUPPORTED_ABI_VERSIONS", "ScoreOutcome", "UdfBadOutputError", "UdfDefinition",
    "UdfDefinitionError", "UdfEngineConfig", "UdfError", "UdfExecutionError", "UdfInputs",
    "UdfInvocationError", "UdfMemoryLimitError", "UdfModuleTooLargeError", "UdfOutOfFuelError",
    "UdfParam", "UdfRegistration", "UdfRuntime", "UdfRuntimeConfig", "UdfRuntimeStatistics",
    "UdfTimeoutError", "UdfTrapError", "UdfValidationError", "columns_from_segment", "parse_registration_body",
    "resolve_params", "validate_udf_name",
}


def test_the_package_exports_exactly_the_documented_names():
    assert set(udf.__all__) == EXPECTED_PUBLIC_NAMES
    for name in udf.__all__:
        assert getattr(udf, name) is not None


def test_every_udf_error_is_a_udf_error_with_an_opensearch_type():
    error_classes = [getattr(udf, name) for name in udf.__all__ if name.endswith("Error") and name != "UdfError"]
    for error_class in error_classes:
        assert issubclass(error_class, udf.UdfError)
        assert error_class.opensearch_type != "exception"
    execution_errors = [cls for cls in error_classes if issubclass(cls, udf.UdfExecutionError)]
    assert {cls.opensearch_type for cls in execution_errors} == {"script_exception"}


def test_a_missing_field_column_is_all_nan_and_absent():
    column = udf.FieldColumn.all_missing(3)
    assert np.isnan(column.values).all() and not column.present.any()


def test_retain_only_drops_modules_of_deleted_udfs():
    with udf.UdfRuntime() as runtime:
        kept = runtime.build_definition("range", wat_registration_body("range_filter"))
        dropped = runtime.build_definition("recency", wat_registration_body("recency_scorer"))
        assert runtime.retain_only([kept.sha256]) == 1
        assert runtime.forget(kept.sha256) is True
        assert runtime.forget(dropped.sha256) is False
