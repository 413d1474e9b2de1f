"""Field columns for a batch, read from a segment's doc values by duck typing.

Owns: turning a segment's numeric doc values (index/'s ``SegmentReader.numeric_doc_values``
shape: CSR ``offsets`` + ``values``) into the ``FieldColumn``s a UDF declared, for a set of
candidate doc ids. node/ calls it from the query node it registers in index/query, so the
index and udf packages never import each other.

Must never: import index/, node/, raft/ or wasmtime; loop per document in Python.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from udf.errors import UdfInvocationError
from udf.runtime import FieldColumn


def columns_from_segment(function_name: str, field_names: Sequence[str], segment: Any,
                         doc_ids: np.ndarray) -> Mapping[str, FieldColumn]:
    """One column per declared field for ``doc_ids`` (segment-local, any order).

    A field the segment has no numeric doc values for is all-missing, unless the segment holds
    it as a keyword field: ABI v1 carries numbers only, so that is a UdfInvocationError (400).
    A multi-valued document contributes its first (smallest) value.
    """
    doc_ids = np.asarray(doc_ids, dtype=np.int64)
    columns: dict[str, FieldColumn] = {}
    for field_name in field_names:
        numeric = segment.numeric_doc_values(field_name)
        if numeric is None:
            keyword_lookup = getattr(segment, "keyword_doc_values", None)
            if keyword_lookup is not None and keyword_lookup(field_name) is not None:
                raise UdfInvocationError(
                    f"field [{field_name}] is a keyword field; udf inputs must be numeric, date or "
                    f"boolean fields",
                    function_name=function_name,
                )
            columns[field_name] = FieldColumn.all_missing(len(doc_ids))
        else:
            columns[field_name] = FieldColumn.from_numeric_doc_values(numeric.offsets, numeric.values, doc_ids)
    return columns
