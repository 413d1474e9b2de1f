"""Running batches: limits (fuel, time, memory), traps and bad output become typed errors, and
the runtime keeps working afterwards."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from udf.errors import (
    UdfBadOutputError,
    UdfExecutionError,
    UdfInvocationError,
    UdfMemoryLimitError,
    UdfOutOfFuelError,
    UdfTimeoutError,
    UdfTrapError,
    UdfValidationError,
)
from udf.examples import wat_registration_body
from udf.runtime import ExecutionLimits, FieldColumn, UdfRuntime, UdfRuntimeConfig

ENDLESS_FUEL = 1 << 62


def range_filter(runtime):
    return runtime.build_definition("range", wat_registration_body("range_filter"))


def run_range(runtime, definition, values, lo=10.0, hi=20.0, limits=ExecutionLimits()):
    column = FieldColumn.from_values(np.asarray(values, dtype=np.float64))
    return runtime.run_filter(definition, len(values), {"value": column}, {"lo": lo, "hi": hi}, limits)


def assert_range_filter_still_works(runtime):
    outcome = run_range(runtime, range_filter(runtime), [5.0, 10.0, 15.0, np.nan, 20.0, 25.0])
    assert list(outcome.keep) == [False, True, True, False, True, False]


def test_an_infinite_loop_runs_out_of_fuel_and_the_runtime_keeps_working(runtime):
    loop = runtime.build_definition("loop", wat_registration_body("infinite_loop"))
    with pytest.raises(UdfOutOfFuelError) as raised:
        runtime.run_filter(loop, 3, {}, None, ExecutionLimits(fuel=100_000))
    assert raised.value.reason == "out of fuel: used all 100000 units of fuel"
    assert raised.value.function_name == "loop"
    assert raised.value.opensearch_type == "script_exception"
    assert_range_filter_still_works(runtime)
    with pytest.raises(UdfOutOfFuelError):
        runtime.run_filter(loop, 3, {}, None, ExecutionLimits(fuel=100_000))


def test_an_infinite_loop_with_unlimited_fuel_times_out_on_the_epoch_deadline(manual_clock_runtime):
    runtime = manual_clock_runtime
    loop = runtime.build_definition("loop", wat_registration_body("infinite_loop"))
    finished = threading.Event()

    def tick_until_finished():
        while not finished.is_set():
            runtime.tick_epoch()

    ticker = threading.Thread(target=tick_until_finished)
    ticker.start()
    try:
        with pytest.raises(UdfTimeoutError) as raised:
            runtime.run_filter(loop, 3, {}, None, ExecutionLimits(fuel=ENDLESS_FUEL, timeout_milliseconds=5))
    finally:
        finished.set()
        ticker.join()
    assert raised.value.reason == "timed out after 5ms"
    assert_range_filter_still_works(runtime)


def test_the_runtimes_own_ticker_thread_enforces_the_timeout(runtime):
    loop = runtime.build_definition("loop", wat_registration_body("infinite_loop"))
    with pytest.raises(UdfTimeoutError, match="timed out after 30ms"):
        runtime.run_filter(loop, 3, {}, None, ExecutionLimits(fuel=ENDLESS_FUEL, timeout_milliseconds=30))
    assert_range_filter_still_works(runtime)


def test_a_memory_hog_hits_the_memory_limit_and_the_runtime_keeps_working():
    with UdfRuntime(UdfRuntimeConfig(max_memory_bytes_per_instance=1 << 20)) as runtime:
        hog = runtime.build_definition("hog", wat_registration_body("memory_hog"))
        with pytest.raises(UdfMemoryLimitError) as raised:
            runtime.run_filter(hog, 3, {}, None)
        assert raised.value.reason.startswith("memory limit of 1048576 bytes reached")
        assert_range_filter_still_works(runtime)


def test_a_module_whose_initial_memory_is_over_the_limit_is_refused_at_registration(abi_wat,
                                                                                     keep_all_filter_body):
    with UdfRuntime(UdfRuntimeConfig(max_memory_bytes_per_instance=1 << 20)) as runtime:
        text = abi_wat(keep_all_filter_body, memory='(memory (export "memory") 32)')
        with pytest.raises(UdfValidationError, match="memory limit of 1048576 bytes exceeded at instantiation"):
            runtime.build_definition("greedy", {"wat": text})


def test_a_batch_larger_than_the_memory_limit_is_refused_before_calling_the_module(abi_wat,
                                                                                   keep_all_filter_body):
    with UdfRuntime(UdfRuntimeConfig(max_memory_bytes_per_instance=1 << 17)) as runtime:
        definition = runtime.build_definition("all", {"wat": abi_wat(keep_all_filter_body)})
        with pytest.raises(UdfMemoryLimitError, match="could not reserve the batch region"):
            runtime.run_filter(definition, 4096, {}, None)


def test_a_trap_is_reported_with_wasmtimes_reason(runtime, abi_wat):
    body = '(func (export "filter_batch") (param i32 i32) (result i32) unreachable)'
    definition = runtime.build_definition("trap", {"wat": abi_wat(body)})
    with pytest.raises(UdfTrapError) as raised:
        runtime.run_filter(definition, 2, {}, None)
    assert raised.value.reason.startswith("wasm trap:") and "unreachable" in raised.value.reason
    assert str(raised.value).startswith("udf [trap]: wasm trap:")


def test_an_out_of_bounds_access_is_a_trap(runtime, abi_wat):
    body = ('(func (export "filter_batch") (param i32 i32) (result i32) '
            '(i32.store (i32.const -4) (i32.const 1)) (i32.const 0))')
    definition = runtime.build_definition("oob", {"wat": abi_wat(body)})
    with pytest.raises(UdfTrapError, match="out of bounds"):
        runtime.run_filter(definition, 2, {}, None)


def test_a_failed_instance_is_discarded_not_reused(runtime, abi_wat, keep_all_filter_body):
    # Traps on the first batch each instance sees; a reused instance would succeed.
    body = keep_all_filter_body.replace(
        "(result i32)",
        "(result i32) (if (i32.eqz (global.get $calls)) (then (global.set $calls (i32.const 1)) unreachable))",
        1,
    ) + "(global $calls (mut i32) (i32.const 0))"
    definition = runtime.build_definition("once", {"wat": abi_wat(body)})
    for _ in range(3):
        with pytest.raises(UdfTrapError):
            runtime.run_filter(definition, 2, {}, None)


def test_a_non_zero_status_is_bad_output(runtime, abi_wat):
    body = '(func (export "filter_batch") (param i32 i32) (result i32) (i32.const 3))'
    definition = runtime.build_definition("status", {"wat": abi_wat(body)})
    with pytest.raises(UdfBadOutputError) as raised:
        runtime.run_filter(definition, 2, {}, None)
    assert raised.value.reason == "filter_batch returned status 3, expected 0"


@pytest.mark.parametrize("bad_score", ["-1", "nan", "inf"])
def test_negative_or_non_finite_scores_are_bad_output_naming_the_candidate(runtime, abi_wat, bad_score):
    body = f"""
      (func (export "score_batch") (param $region i32) (param $count i32) (result i32)
        (f64.store
          (i32.add (i32.add (local.get $region) (i32.load offset=32 (local.get $region))) (i32.const 8))
          (f64.const {bad_score}))
        (i32.const 0))"""
    definition = runtime.build_definition("neg", {"wat": abi_wat(body)})
    with pytest.raises(UdfBadOutputError) as raised:
        runtime.run_score(definition, np.ones(3), {}, None)
    assert "for candidate 1; scores must be finite and non-negative" in raised.value.reason


@pytest.mark.parametrize("pointer", [65537, 1 << 30, 0])
def test_a_reserve_function_returning_a_bad_region_is_refused(runtime, abi_wat, keep_all_filter_body, pointer):
    reserve = f'(func (export "quidditch_reserve") (param i32) (result i32) (i32.const {pointer}))'
    definition = runtime.build_definition("reserve", {"wat": abi_wat(keep_all_filter_body, reserve=reserve)})
    with pytest.raises(UdfExecutionError, match=r"quidditch_reserve\(\d+\)"):
        runtime.run_filter(definition, 2, {}, None)


def test_fuel_consumed_is_reported_deterministically_and_is_enough_to_run_again(runtime):
    definition = range_filter(runtime)
    values = np.arange(1000, dtype=np.float64)
    run_range(runtime, definition, values)           # warms the pooled instance (reserve call)
    measured = run_range(runtime, definition, values).fuel_consumed
    assert measured > 1000                           # at least one unit per document
    assert run_range(runtime, definition, values, limits=ExecutionLimits(fuel=measured)).fuel_consumed == measured
    # wasmtime checks fuel at loop heads and calls, not per instruction, so the boundary is not
    # exact to the unit; half the budget must fail.
    with pytest.raises(UdfOutOfFuelError):
        run_range(runtime, definition, values, limits=ExecutionLimits(fuel=measured // 2))


def test_fuel_is_shared_by_all_the_batches_of_one_call():
    with UdfRuntime(UdfRuntimeConfig(batch_document_count=100)) as runtime:
        definition = range_filter(runtime)
        values = np.arange(1000, dtype=np.float64)
        run_range(runtime, definition, values)
        outcome = run_range(runtime, definition, values)
        assert outcome.batch_count == 10
        with pytest.raises(UdfOutOfFuelError):
            # enough for a few batches but not for all ten
            run_range(runtime, definition, values, limits=ExecutionLimits(fuel=outcome.fuel_consumed // 2))


def test_asking_a_filter_to_score_is_refused(runtime):
    with pytest.raises(UdfInvocationError, match="is not a score function; it provides filter"):
        runtime.run_score(range_filter(runtime), np.ones(2), {}, {"lo": 0, "hi": 1})


def test_a_missing_or_misshapen_column_is_refused_naming_the_field(runtime):
    definition = range_filter(runtime)
    with pytest.raises(UdfInvocationError, match=r"no column for declared field \[value\]"):
        runtime.run_filter(definition, 2, {}, {"lo": 0, "hi": 1})
    with pytest.raises(UdfInvocationError, match=r"column for field \[value\] has 3 values"):
        runtime.run_filter(definition, 2, {"value": FieldColumn.from_values([1.0, 2.0, 3.0])}, {"lo": 0, "hi": 1})


def test_zero_candidates_need_no_call(runtime):
    outcome = run_range(runtime, range_filter(runtime), [])
    assert outcome.keep.shape == (0,) and outcome.batch_count == 0 and outcome.fuel_consumed == 0


def test_concurrent_calls_from_many_threads_each_get_their_own_correct_answer(runtime):
    definition = range_filter(runtime)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            values = np.arange(offset, offset + 5000, dtype=np.float64)
            for _ in range(5):
                keep = run_range(runtime, definition, values, lo=offset + 100, hi=offset + 199).keep
                assert np.array_equal(np.flatnonzero(keep), np.arange(100, 200))
        except BaseException as error:  # noqa: BLE001 - reported below on the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(1000 * index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert runtime.statistics().idle_instances >= 1


def test_statistics_count_invocations_batches_failures_and_fuel(runtime):
    definition = range_filter(runtime)
    loop = runtime.build_definition("loop", wat_registration_body("infinite_loop"))
    run_range(runtime, definition, np.arange(10, dtype=np.float64))
    with pytest.raises(UdfOutOfFuelError):
        runtime.run_filter(loop, 1, {}, None, ExecutionLimits(fuel=1000))
    statistics = runtime.statistics()
    assert statistics.invocations == 2
    assert statistics.failures == 1
    assert statistics.batches == 1
    assert statistics.fuel_consumed > 1000


def test_a_closed_runtime_refuses_to_run(abi_wat, keep_all_filter_body):
    runtime = UdfRuntime()
    definition = runtime.build_definition("all", {"wat": abi_wat(keep_all_filter_body)})
    runtime.close()
    with pytest.raises(UdfExecutionError, match="closed"):
        runtime.run_filter(definition, 1, {}, None)


def test_field_columns_from_csr_doc_values_take_each_documents_first_value():
    offsets = np.array([0, 2, 2, 3, 5], dtype=np.int64)        # doc 1 has no value
    doc_values = np.array([7, 9, 4, 1, 2], dtype=np.int64)
    column = FieldColumn.from_numeric_doc_values(offsets, doc_values, np.array([3, 1, 0, 2]))
    assert list(column.present) == [True, False, True, True]
    assert column.values[0] == 1.0 and np.isnan(column.values[1]) and list(column.values[2:]) == [7.0, 4.0]


def test_direct_batch_calls_and_wasmtimes_public_call_give_the_same_results_fuel_and_errors(abi_wat):
    values = np.linspace(-50, 50, 3001)
    outcomes = []
    trap_reasons = []
    trap_body = '(func (export "filter_batch") (param i32 i32) (result i32) unreachable)'
    for direct in (True, False):
        with UdfRuntime(UdfRuntimeConfig(direct_batch_calls=direct, batch_document_count=500)) as runtime:
            definition = range_filter(runtime)
            run_range(runtime, definition, values, lo=-3, hi=7)
            outcomes.append(run_range(runtime, definition, values, lo=-3, hi=7))
            trapper = runtime.build_definition("trap", {"wat": abi_wat(trap_body)})
            with pytest.raises(UdfTrapError) as raised:
                runtime.run_filter(trapper, 2, {}, None)
            trap_reasons.append(raised.value.reason)
    direct_outcome, public_outcome = outcomes
    assert np.array_equal(direct_outcome.keep, public_outcome.keep)
    assert direct_outcome.keep.sum() == np.count_nonzero((values >= -3) & (values <= 7))
    assert direct_outcome.fuel_consumed == public_outcome.fuel_consumed
    assert trap_reasons[0] == trap_reasons[1]


def test_callers_beyond_the_live_instance_bound_wait_and_time_out_rather_than_allocate():
    config = UdfRuntimeConfig(max_live_instances_per_module=1, epoch_ticker="manual",
                              epoch_tick_milliseconds=1.0)
    with UdfRuntime(config) as runtime:
        loop = runtime.build_definition("loop", wat_registration_body("infinite_loop"))
        first_call_started = threading.Event()
        finished = threading.Event()
        first_call_errors: list[BaseException] = []

        def hold_the_only_instance():
            first_call_started.set()
            try:
                runtime.run_filter(loop, 1, {}, None, ExecutionLimits(fuel=ENDLESS_FUEL, timeout_milliseconds=60_000))
            except BaseException as error:  # noqa: BLE001 - checked below
                first_call_errors.append(error)
            finally:
                finished.set()

        holder = threading.Thread(target=hold_the_only_instance)
        holder.start()
        first_call_started.wait()
        # Until the holder's call has its instance, the second call could still get it.
        while runtime.statistics().busy_instances == 0 and not finished.is_set():
            threading.Event().wait(0.001)
        assert runtime.statistics().busy_instances == 1
        with pytest.raises(UdfTimeoutError, match="waiting for a free instance"):
            runtime.run_filter(loop, 1, {}, None, ExecutionLimits(fuel=ENDLESS_FUEL, timeout_milliseconds=20))
        while not finished.is_set():
            runtime.tick_epoch()
        holder.join()
        assert len(first_call_errors) == 1 and isinstance(first_call_errors[0], UdfTimeoutError)
        assert_range_filter_still_works(runtime)
