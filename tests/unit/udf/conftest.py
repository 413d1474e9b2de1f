"""Fixtures for udf/ tests: a runtime that is always closed, and WAT module builders."""

from __future__ import annotations

import pytest

from udf.runtime import UdfRuntime, UdfRuntimeConfig

# The standard reserve function: the batch region starts at 64 KiB and memory grows to fit.
STANDARD_RESERVE = """
  (func (export "quidditch_reserve") (param $byte_count i32) (result i32)
    (local $pages_needed i32)
    (local.set $pages_needed
      (i32.add (i32.const 1)
        (i32.shr_u (i32.add (local.get $byte_count) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $pages_needed) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages_needed) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 65536))
"""


def build_abi_wat(body: str, abi_version: int = 1, reserve: str = STANDARD_RESERVE,
                  memory: str = '(memory (export "memory") 1)') -> str:
    return f"""(module
  {memory}
  (func (export "quidditch_abi_version") (result i32) (i32.const {abi_version}))
  {reserve}
  {body}
)"""


KEEP_ALL_FILTER = """
  (func (export "filter_batch") (param $region i32) (param $count i32) (result i32)
    (memory.fill
      (i32.add (local.get $region) (i32.load offset=32 (local.get $region)))
      (i32.const 1) (local.get $count))
    (i32.const 0))
"""


@pytest.fixture
def abi_wat():
    """build_abi_wat(body, abi_version=1, reserve=..., memory=...) -> module text."""
    return build_abi_wat


@pytest.fixture
def keep_all_filter_body():
    return KEEP_ALL_FILTER


@pytest.fixture
def runtime():
    with UdfRuntime() as udf_runtime:
        yield udf_runtime


@pytest.fixture
def manual_clock_runtime():
    """A runtime whose epoch only advances when the test calls tick_epoch()."""
    with UdfRuntime(UdfRuntimeConfig(epoch_ticker="manual", epoch_tick_milliseconds=1.0)) as udf_runtime:
        yield udf_runtime
