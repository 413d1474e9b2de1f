"""A UDF execution failure is reported at once, not retried on another copy of the shard."""

from node.coordination.search import _worth_another_copy
from node.workers.errors import WorkerUnavailableError
from udf import UdfOutOfFuelError, UdfTrapError


def test_a_udf_execution_error_is_not_worth_another_copy():
    assert not _worth_another_copy(UdfOutOfFuelError("runtime error in udf [loop]: out of fuel"))
    assert not _worth_another_copy(UdfTrapError("runtime error in udf [t]: wasm trap"))


def test_an_unreachable_copy_is_still_worth_another_copy():
    assert _worth_another_copy(WorkerUnavailableError("worker died"))
