"""The host's layout and a module's reading of it agree, for any number of fields and params.

A weighted-sum scorer walks the header the way docs/udf.md describes (every field column, every
presence column, the params), so a wrong offset anywhere shows up as a wrong score.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from udf.runtime import FieldColumn, UdfRuntime, UdfRuntimeConfig

# score_out[d] = score[d] + sum_i (present_i[d] ? value_i[d] * param[i] : 0) + param_count * 1000
#                + field_count * 100   (so a wrong header count shows up too)
WEIGHTED_SUM_SCORER = """(module
  (memory (export "memory") 1)
  (func (export "quidditch_abi_version") (result i32) (i32.const 1))
  (func (export "quidditch_reserve") (param $byte_count i32) (result i32)
    (local $pages_needed i32)
    (local.set $pages_needed
      (i32.add (i32.const 1) (i32.shr_u (i32.add (local.get $byte_count) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $pages_needed) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages_needed) (memory.size))) (i32.const -1))
        (then (return (i32.const 0))))))
    (i32.const 65536))
  (func (export "score_batch") (param $region i32) (param $count i32) (result i32)
    (local $fields i32) (local $params i32) (local $document i32) (local $field i32) (local $sum f64)
    (local.set $fields (i32.load offset=8 (local.get $region)))
    (local.set $params (i32.load offset=12 (local.get $region)))
    (if (i32.ne (i32.load (local.get $region)) (i32.const 1)) (then (return (i32.const 9))))
    (if (i32.ne (i32.load offset=4 (local.get $region)) (local.get $count)) (then (return (i32.const 8))))
    (block $documents_done
      (loop $documents
        (br_if $documents_done (i32.ge_u (local.get $document) (local.get $count)))
        (local.set $sum
          (f64.add
            (f64.load (i32.add (i32.add (local.get $region) (i32.load offset=20 (local.get $region)))
                               (i32.shl (local.get $document) (i32.const 3))))
            (f64.add (f64.mul (f64.convert_i32_u (local.get $params)) (f64.const 1000))
                     (f64.mul (f64.convert_i32_u (local.get $fields)) (f64.const 100)))))
        (local.set $field (i32.const 0))
        (block $fields_done
          (loop $each_field
            (br_if $fields_done (i32.ge_u (local.get $field) (local.get $fields)))
            (if (i32.load8_u
                  (i32.add (i32.add (local.get $region) (i32.load offset=28 (local.get $region)))
                           (i32.add (i32.mul (local.get $field) (local.get $count)) (local.get $document))))
              (then
                (local.set $sum
                  (f64.add (local.get $sum)
                    (f64.mul
                      (f64.load
                        (i32.add (i32.add (local.get $region) (i32.load offset=24 (local.get $region)))
                                 (i32.shl (i32.add (i32.mul (local.get $field) (local.get $count))
                                                   (local.get $document)) (i32.const 3))))
                      (f64.load
                        (i32.add (i32.add (local.get $region) (i32.load offset=16 (local.get $region)))
                                 (i32.shl (local.get $field) (i32.const 3)))))))))
            (local.set $field (i32.add (local.get $field) (i32.const 1)))
            (br $each_field)))
        (f64.store
          (i32.add (i32.add (local.get $region) (i32.load offset=32 (local.get $region)))
                   (i32.shl (local.get $document) (i32.const 3)))
          (local.get $sum))
        (local.set $document (i32.add (local.get $document) (i32.const 1)))
        (br $documents)))
    (i32.const 0)))
"""


@pytest.fixture(scope="module")
def runtime():
    with UdfRuntime(UdfRuntimeConfig(batch_document_count=5)) as udf_runtime:
        yield udf_runtime


@given(st.data())
def test_a_module_reading_every_column_by_the_header_sees_what_the_host_wrote(runtime, data):
    field_count = data.draw(st.integers(0, 6))
    document_count = data.draw(st.integers(0, 23))
    field_names = [f"field_{index}" for index in range(field_count)]
    definition = runtime.build_definition("weighted", {
        "wat": WEIGHTED_SUM_SCORER,
        "inputs": {"fields": field_names, "params": [f"weight_{index}" for index in range(field_count)]},
    })
    small = st.integers(0, 1000).map(float)
    fields = {}
    for name in field_names:
        values = np.array(data.draw(st.lists(small, min_size=document_count, max_size=document_count)))
        present = np.array(data.draw(st.lists(st.booleans(), min_size=document_count, max_size=document_count)),
                           dtype=bool)
        fields[name] = FieldColumn(values=values.reshape(document_count), present=present.reshape(document_count))
    weights = [data.draw(small) for _ in range(field_count)]
    scores = np.array(data.draw(st.lists(small, min_size=document_count, max_size=document_count))).reshape(document_count)

    outcome = runtime.run_score(definition, scores, fields,
                                {f"weight_{index}": weight for index, weight in enumerate(weights)})

    expected = scores + field_count * 1000.0 + field_count * 100.0
    for name, weight in zip(field_names, weights):
        expected = expected + np.where(fields[name].present, fields[name].values * weight, 0.0)
    # integers below 2^53 throughout, so the sums are exact whatever the order
    assert np.array_equal(outcome.scores, expected)
