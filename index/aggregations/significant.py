"""The significant_terms aggregation: terms unusually frequent in the matching documents.

Owns: its spec and parsing, the partial (per term: count in the matching documents — the
foreground — and in every live document — the background — plus both set sizes), the merge
(sums; exact at every level) and the rendering with OpenSearch's significance heuristics (jlh,
the default, and percentage).

The background is the whole index, as OpenSearch's default: every live document of each
segment. Must never: render other aggregation types; it reads doc values only through the
helpers collect.py passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from index.errors import AggregationError


@dataclass(frozen=True, slots=True)
class SignificantTermsSpec:
    field: str
    size: int = 10
    shard_size: int = 25
    min_doc_count: int = 3
    heuristic: str = "jlh"             # jlh | percentage
    include: Any = None
    exclude: Any = None


def parse_significant_terms(name: str, body: dict, parse_include_exclude) -> SignificantTermsSpec:
    body = dict(body)
    field_name = body.pop("field", None)
    if "script" in body:
        raise AggregationError(f"[script] is not supported in aggregation [{name}]")
    if not isinstance(field_name, str):
        raise AggregationError(f"Required one of fields [field, script], but none were specified. "
                               f"in [{name}]")
    size = body.pop("size", 10)
    shard_size = body.pop("shard_size", None)
    min_doc_count = body.pop("min_doc_count", 3)
    for key, value in (("size", size), ("min_doc_count", min_doc_count)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "size" else 0):
            raise AggregationError(f"[{key}] of [{name}] must be a non-negative integer "
                                   f"({'greater than 0' if key == 'size' else '>= 0'}), got [{value!r}]")
    heuristic = "jlh"
    for candidate in ("jlh", "percentage", "mutual_information", "chi_square", "gnd",
                      "script_heuristic"):
        if candidate in body:
            body.pop(candidate)
            heuristic = candidate
    if heuristic not in ("jlh", "percentage"):
        raise AggregationError(f"significance heuristic [{heuristic}] is not supported in [{name}]: "
                               f"use jlh (the default) or percentage")
    if "background_filter" in body:
        raise AggregationError(f"[background_filter] is not supported in [{name}]: the background "
                               f"is the whole index")
    include = parse_include_exclude(body.pop("include", None), "include", name)
    exclude = parse_include_exclude(body.pop("exclude", None), "exclude", name)
    for ignored in ("shard_min_doc_count", "execution_hint"):
        body.pop(ignored, None)
    if body:
        from index.aggregations.tree import did_you_mean
        unknown = next(iter(body))
        known = ("field", "size", "shard_size", "min_doc_count", "shard_min_doc_count", "execution_hint",
                 "include", "exclude", "background_filter", "jlh", "percentage", "mutual_information",
                 "chi_square", "gnd", "script_heuristic")
        raise AggregationError(f"[significant_terms] unknown field [{unknown}]{did_you_mean(unknown, known)} in "
                               f"aggregation [{name}]")
    if shard_size is None:
        shard_size = int(size * 1.5 + 10)
    return SignificantTermsSpec(field_name, size, max(int(shard_size), size), min_doc_count,
                                heuristic, include, exclude)


@dataclass(frozen=True, slots=True)
class SignificantTermsState:
    value_type: str
    keys: list
    subset_counts: np.ndarray         # documents of the matching set holding the term
    superset_counts: np.ndarray       # live documents holding the term
    subset_size: int = 0
    superset_size: int = 0
    kind = "significant_terms"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "value_type": self.value_type, "keys": list(self.keys),
                "subset_counts": self.subset_counts.tolist(),
                "superset_counts": self.superset_counts.tolist(),
                "subset_size": self.subset_size, "superset_size": self.superset_size}

    @classmethod
    def from_wire(cls, wire: dict) -> SignificantTermsState:
        return cls(wire["value_type"], list(wire["keys"]),
                   np.asarray(wire["subset_counts"], dtype=np.int64),
                   np.asarray(wire["superset_counts"], dtype=np.int64),
                   int(wire["subset_size"]), int(wire["superset_size"]))

    @staticmethod
    def merge(states, node) -> SignificantTermsState:
        typed = next((state for state in states if state.value_type != "unmapped"), states[0])
        all_keys: list = []
        for state in states:
            all_keys.extend(state.keys)
        positions_by_key = dict(zip(dict.fromkeys(all_keys), range(len(all_keys))))
        positions = np.fromiter(map(positions_by_key.__getitem__, all_keys), dtype=np.int64,
                                count=len(all_keys))
        bucket_count = len(positions_by_key)

        def summed(parts):
            if not positions.size:
                return np.zeros(bucket_count, dtype=np.int64)
            return np.rint(np.bincount(positions, weights=np.concatenate(parts),
                                       minlength=bucket_count)).astype(np.int64)
        return SignificantTermsState(
            typed.value_type, list(positions_by_key),
            summed([state.subset_counts for state in states]),
            summed([state.superset_counts for state in states]),
            sum(state.subset_size for state in states), sum(state.superset_size for state in states))


def scores(state: SignificantTermsState, heuristic: str) -> np.ndarray:
    subset = state.subset_counts.astype(np.float64)
    superset = state.superset_counts.astype(np.float64)
    if heuristic == "percentage":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(superset > 0, subset / np.maximum(superset, 1), 0.0)
    if state.subset_size == 0 or state.superset_size == 0:
        return np.zeros(subset.size)
    subset_probability = subset / state.subset_size
    superset_probability = superset / state.superset_size
    with np.errstate(divide="ignore", invalid="ignore"):
        absolute_change = subset_probability - superset_probability
        relative_change = np.where(superset_probability > 0,
                                   subset_probability / np.where(superset_probability > 0,
                                                                 superset_probability, 1), 0.0)
    valid = (subset_probability > 0) & (superset_probability > 0) & (absolute_change > 0)
    return np.where(valid, absolute_change * relative_change, 0.0)


def render_significant_terms(node, state: SignificantTermsState) -> dict:
    spec = node.spec
    significance = scores(state, spec.heuristic)
    eligible = np.flatnonzero((significance > 0) & (state.subset_counts >= spec.min_doc_count))
    # highest score first; ties by key, as a stable order
    ranked = sorted(eligible.tolist(), key=lambda position: state.keys[position])
    ranked.sort(key=lambda position: -significance[position])
    buckets = []
    for position in ranked[:spec.size]:
        key = state.keys[position]
        if state.value_type == "ip":
            from index.mapping.ip import format_ip

            key = format_ip(key)
        buckets.append({"key": key, "doc_count": int(state.subset_counts[position]),
                        "score": float(significance[position]),
                        "bg_count": int(state.superset_counts[position])})
    return {"doc_count": state.subset_size, "bg_count": state.superset_size, "buckets": buckets}
