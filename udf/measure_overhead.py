"""Measures what a UDF costs per batch: `python -m udf.measure_overhead [candidates] [batch]`.

Owns: a small, repeatable measurement (not a test, not run by CI) of run_filter/run_score over
N candidates in batches, against a do-nothing module (host overhead only) and the numpy
computation of the same function. Prints one line per case.

Must never: be imported by the library or the tests; assert anything about time.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from udf.examples import wat_registration_body
from udf.runtime import ExecutionLimits, FieldColumn, UdfRuntime, UdfRuntimeConfig

_NO_OP_FILTER = """(module
  (memory (export "memory") 1)
  (func (export "quidditch_abi_version") (result i32) (i32.const 1))
  (func (export "quidditch_reserve") (param $byte_count i32) (result i32)
    (local $pages_needed i32)
    (local.set $pages_needed
      (i32.add (i32.const 1) (i32.shr_u (i32.add (local.get $byte_count) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $pages_needed) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $pages_needed) (memory.size))))))
    (i32.const 65536))
  (func (export "filter_batch") (param i32 i32) (result i32) (i32.const 0)))"""


def _best_of(repetitions: int, function) -> float:
    best = float("inf")
    for _ in range(repetitions):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str]) -> None:
    candidate_count = int(argv[1]) if len(argv) > 1 else 1_000_000
    batch_document_count = int(argv[2]) if len(argv) > 2 else 4096
    limits = ExecutionLimits(fuel=1 << 40, timeout_milliseconds=60_000)
    random = np.random.default_rng(7)
    values = random.uniform(0, 1000, candidate_count)
    dates = random.uniform(1.6e12, 1.7e12, candidate_count)
    scores = random.uniform(0, 20, candidate_count)
    value_column = FieldColumn.from_values(values)
    date_column = FieldColumn.from_values(dates)
    with UdfRuntime(UdfRuntimeConfig(batch_document_count=batch_document_count)) as runtime:
        no_op = runtime.build_definition("no-op", {"wat": _NO_OP_FILTER})
        range_filter = runtime.build_definition("range", wat_registration_body("range_filter"))
        recency = runtime.build_definition("recency", wat_registration_body("recency_scorer"))
        params_range = {"lo": 100.0, "hi": 200.0}
        params_recency = {"now_millis": 1.7e12, "weight": 2.0}
        cases = [
            ("no-op filter (host overhead)", lambda: runtime.run_filter(no_op, candidate_count, {}, None, limits)),
            ("range filter (1 field, 2 params)", lambda: runtime.run_filter(
                range_filter, candidate_count, {"value": value_column}, params_range, limits)),
            ("recency scorer (1 field, 2 params)", lambda: runtime.run_score(
                recency, scores, {"published_at": date_column}, params_recency, limits)),
            ("numpy range filter (reference)", lambda: (values >= 100.0) & (values <= 200.0)),
            ("numpy recency scorer (reference)", lambda: scores * (1.0 + 2.0 / (1.0 + np.maximum(
                0.0, (1.7e12 - dates) / 86_400_000.0)))),
        ]
        batch_count = -(-candidate_count // batch_document_count)
        print(f"{candidate_count} candidates, batches of {batch_document_count} ({batch_count} batches)")
        for label, function in cases:
            function()  # warm: compile, instantiate, reserve
            seconds = _best_of(5, function)
            print(f"{label:38s} {seconds * 1000:8.2f} ms   {seconds / batch_count * 1e6:8.1f} us/batch   "
                  f"{seconds / candidate_count * 1e9:6.1f} ns/candidate")


if __name__ == "__main__":
    main(sys.argv)
