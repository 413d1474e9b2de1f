"""function_score's functions, vectorised over a segment's candidate docs.

Owns ``build_score_function``: field_value_factor (with its modifiers), gauss/exp/linear decay
over numbers and dates (origin, scale, offset, decay, multi_value_mode), and random_score (a
seeded, stateless hash of the doc's ``_seq_no`` or a field). Each returns
``evaluate(segment_execution, docs) -> float64 array``. It must never loop per document in
Python, and never keep state between calls (a seeded random score is a pure function of seed
and doc key, so every replica and every page agrees).
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from index.errors import QueryShardError
from index.query import nodes
from index.query.execution import field_numeric_doc_values

_TIME_UNITS_MILLIS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_TIME_VALUE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def _time_value_millis(value: Any, function_name: str, key: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _TIME_VALUE.match(str(value))
    if match is None:
        raise QueryShardError(f"[{function_name}] failed to parse [{key}] as a time value, got [{value}]")
    return float(match.group(1)) * _TIME_UNITS_MILLIS[match.group(2) or "ms"]


def _single_values(segment_execution: Any, field_name: str, docs: np.ndarray,
                   mode: str = "min") -> tuple[np.ndarray, np.ndarray]:
    """(value per doc, has value) from numeric doc values; mode picks among several values."""
    doc_values = field_numeric_doc_values(segment_execution, field_name)
    if doc_values is None:
        return np.zeros(len(docs)), np.zeros(len(docs), dtype=bool)
    offsets = doc_values.offsets
    starts = offsets[docs]
    ends = offsets[docs + 1]
    has_value = ends > starts
    values = doc_values.values.astype(np.float64)
    if len(values) == 0:
        return np.zeros(len(docs)), has_value
    safe_starts = np.minimum(starts, len(values) - 1)
    safe_ends = np.maximum(np.minimum(ends - 1, len(values) - 1), 0)
    if mode == "max":
        picked = values[safe_ends]
    elif mode in ("sum", "avg"):
        cumulative = np.concatenate(([0.0], np.cumsum(values)))
        picked = cumulative[ends] - cumulative[starts]
        if mode == "avg":
            picked = picked / np.maximum(ends - starts, 1)
    else:
        picked = values[safe_starts]
    return np.where(has_value, picked, 0.0), has_value


def _field_value_factor(function: nodes.FieldValueFactorFunction) -> Callable:
    def evaluate(segment_execution: Any, docs: np.ndarray) -> np.ndarray:
        values, has_value = _single_values(segment_execution, function.field, docs)
        if not has_value.all():
            if function.missing is None:
                raise QueryShardError(f"Missing value for field [{function.field}]", field=function.field)
            values = np.where(has_value, values, function.missing)
        scaled = values * function.factor
        modifier = function.modifier
        with np.errstate(divide="ignore", invalid="ignore"):
            if modifier == "log":
                result = np.log10(scaled)
            elif modifier == "log1p":
                result = np.log10(scaled + 1)
            elif modifier == "log2p":
                result = np.log10(scaled + 2)
            elif modifier == "ln":
                result = np.log(scaled)
            elif modifier == "ln1p":
                result = np.log1p(scaled)
            elif modifier == "ln2p":
                result = np.log(scaled + 2)
            elif modifier == "square":
                result = scaled * scaled
            elif modifier == "sqrt":
                result = np.sqrt(scaled)
            elif modifier == "reciprocal":
                result = 1.0 / scaled
            else:
                result = scaled
        if not np.all(np.isfinite(result)):
            raise QueryShardError(
                f"field value function must not produce negative or infinite scores; field [{function.field}] "
                f"with modifier [{modifier}] did")
        return result
    return evaluate


def _decay(planner: Any, function: nodes.DecayFunction) -> Callable:
    from index.query.planner import field_type, parse_date_bound

    shard = planner.shard
    type_name = field_type(shard, function.field)
    if type_name is None:
        # OpenSearch fails on an unmapped decay field; a missing field scores 1 only when mapped
        raise QueryShardError(f"unknown field [{function.field}]", field=function.field)
    is_date = type_name == "date"
    if is_date:
        origin = parse_date_bound(shard, function.field, function.origin if function.origin is not None else "now",
                                  None, None, round_up=False)
        scale = _time_value_millis(function.scale, function.function_type, "scale")
        offset = _time_value_millis(function.offset, function.function_type, "offset") if function.offset else 0.0
    else:
        if function.origin is None:
            raise QueryShardError(f"[{function.function_type}] must supply [origin] for a numeric field")
        try:
            origin = float(function.origin)
            scale = float(function.scale)
            offset = float(function.offset) if function.offset is not None else 0.0
        except (TypeError, ValueError):
            raise QueryShardError(f"[{function.function_type}] origin, scale and offset must be numbers "
                                  f"for field [{function.field}]") from None
    if scale <= 0:
        raise QueryShardError(f"[{function.function_type}] scale must be positive, got [{function.scale}]")
    decay = function.decay
    kind = function.function_type

    def evaluate(segment_execution: Any, docs: np.ndarray) -> np.ndarray:
        doc_values = field_numeric_doc_values(segment_execution, function.field)
        if doc_values is None or len(doc_values.values) == 0:
            return np.ones(len(docs))
        offsets = doc_values.offsets
        counts = offsets[docs + 1] - offsets[docs]
        has_value = counts > 0
        # distance of every value of every candidate doc, then reduced per doc by multi_value_mode
        value_index = np.repeat(offsets[docs], counts) + (
            np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts))
        distances = np.maximum(np.abs(doc_values.values[value_index].astype(np.float64) - origin) - offset, 0.0)
        owner = np.repeat(np.arange(len(docs)), counts)
        reduced = np.zeros(len(docs))
        mode = function.multi_value_mode
        if len(distances):
            if mode == "max":
                reduced = np.full(len(docs), -np.inf)
                np.maximum.at(reduced, owner, distances)
            elif mode in ("sum", "avg"):
                reduced = np.bincount(owner, weights=distances, minlength=len(docs))
                if mode == "avg":
                    reduced = reduced / np.maximum(counts, 1)
            else:
                reduced = np.full(len(docs), np.inf)
                np.minimum.at(reduced, owner, distances)
        reduced = np.where(has_value, reduced, 0.0)
        if kind == "gauss":
            sigma_squared = -(scale ** 2) / (2.0 * np.log(decay))
            result = np.exp(-(reduced ** 2) / (2.0 * sigma_squared))
        elif kind == "exp":
            result = np.exp(np.log(decay) / scale * reduced)
        else:
            stretched = scale / (1.0 - decay)
            result = np.maximum(0.0, (stretched - reduced) / stretched)
        return np.where(has_value, result, 1.0)
    return evaluate


def _splitmix64(keys: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        mixed = keys.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return mixed ^ (mixed >> np.uint64(31))


def _random_score(planner: Any, function: nodes.RandomScoreFunction) -> Callable:
    seed = function.seed if function.seed is not None else planner.shard.now_millis
    shard_index = getattr(planner.shard.context, "shard_index", 0)

    def evaluate(segment_execution: Any, docs: np.ndarray) -> np.ndarray:
        if function.field is not None and function.field != "_seq_no":
            values, _ = _single_values(segment_execution, function.field, docs)
            keys = values.astype(np.int64)
        else:
            keys = np.asarray(segment_execution.segment.seq_nos)[docs].astype(np.int64)
        with np.errstate(over="ignore"):
            salted = keys.astype(np.uint64) ^ _splitmix64(np.array([seed * 31 + shard_index], dtype=np.int64))[0]
        return (_splitmix64(salted) >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return evaluate


def build_score_function(planner: Any, function: Any) -> Callable:
    if isinstance(function, nodes.FieldValueFactorFunction):
        return _field_value_factor(function)
    if isinstance(function, nodes.DecayFunction):
        return _decay(planner, function)
    if isinstance(function, nodes.RandomScoreFunction):
        return _random_score(planner, function)
    raise QueryShardError(f"unsupported score function [{type(function).__name__}]")
