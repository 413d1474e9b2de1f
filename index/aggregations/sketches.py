"""Mergeable sketches for the approximate metrics: cardinality and percentiles.

Owns: hashing values to 64 bits (vectorised), a HyperLogLog sketch that counts exactly below a
threshold and merges exactly (set union, then register max), and a merging t-digest built
with sorts and cumulative sums instead of a per-value loop.

Must never: know about segments, trees or rendering. Sketches are plain values; every
operation returns a new one.

Error bounds (stated, and checked by tests/property/aggregations):
- cardinality: exact (up to 64-bit hash collisions) while the distinct count is at most
  `precision_threshold`; above it, HyperLogLog with 2**14 registers and Ertl's improved raw
  estimator, relative standard error 1.04/sqrt(16384) ≈ 0.81% (tests allow 6%).
- percentiles: t-digest with the arcsine scale function and compression δ (default 100). Each
  centroid spans at most one unit of k = δ/(2π)·asin(2q−1), so a centroid near the median
  holds at most a fraction π/δ of the data: the estimate of quantile q has a rank within
  q ± (π/δ + 1/n) (≈ ±3.1% at δ=100, much tighter near the tails; the 1/n is interpolation
  between neighbouring data points); small inputs, where every centroid still holds a single
  value, interpolate between the exact values.
"""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass

import numpy as np

_MASK_64 = np.uint64(0xFFFFFFFFFFFFFFFF)

HYPERLOGLOG_PRECISION = 14
DEFAULT_PRECISION_THRESHOLD = 3000
MAX_PRECISION_THRESHOLD = 40000


# --------------------------------------------------------------------------- hashing


def hash_numbers(values: np.ndarray) -> np.ndarray:
    """64-bit hashes of numbers (splitmix64 finaliser over the int64 / float64 bit pattern)."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        # -0.0 and 0.0 are the same value for counting.
        bits = (values + 0.0).astype(np.float64).view(np.uint64)
    else:
        bits = values.astype(np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        mixed = bits + np.uint64(0x9E3779B97F4A7C15)
        mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        mixed = mixed ^ (mixed >> np.uint64(31))
    return mixed


def hash_strings(terms) -> np.ndarray:
    """64-bit hashes of strings: one blake2b call per distinct term (not per document)."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little")
         for term in terms), dtype=np.uint64, count=len(terms))


# --------------------------------------------------------------------------- cardinality


@dataclass(frozen=True, slots=True)
class CardinalitySketch:
    """Distinct hashes while few (exact), HyperLogLog registers once above the threshold."""

    precision_threshold: int
    exact_hashes: np.ndarray | None     # sorted unique uint64, while count <= threshold
    registers: np.ndarray | None        # uint8 of length 2**HYPERLOGLOG_PRECISION otherwise

    @classmethod
    def empty(cls, precision_threshold: int = DEFAULT_PRECISION_THRESHOLD) -> CardinalitySketch:
        return cls(precision_threshold, np.zeros(0, dtype=np.uint64), None)

    @classmethod
    def from_hashes(cls, hashes: np.ndarray, precision_threshold: int,
                    assume_unique: bool = False) -> CardinalitySketch:
        hashes = np.asarray(hashes, dtype=np.uint64)
        if assume_unique and hashes.size > precision_threshold:
            return cls(precision_threshold, None, _registers_from_hashes(hashes))
        unique = np.unique(hashes)
        return cls(precision_threshold, unique, None)._maybe_promote()

    def _maybe_promote(self) -> CardinalitySketch:
        if self.exact_hashes is not None and self.exact_hashes.size > self.precision_threshold:
            return CardinalitySketch(self.precision_threshold, None,
                                     _registers_from_hashes(self.exact_hashes))
        return self

    def merge(self, other: CardinalitySketch) -> CardinalitySketch:
        threshold = max(self.precision_threshold, other.precision_threshold)
        if self.exact_hashes is not None and other.exact_hashes is not None:
            union = np.union1d(self.exact_hashes, other.exact_hashes)
            return CardinalitySketch(threshold, union, None)._maybe_promote()
        registers = np.maximum(self._as_registers(), other._as_registers())
        return CardinalitySketch(threshold, None, registers)

    def _as_registers(self) -> np.ndarray:
        if self.registers is not None:
            return self.registers
        return _registers_from_hashes(self.exact_hashes)

    def estimate(self) -> int:
        if self.exact_hashes is not None:
            return int(self.exact_hashes.size)
        return int(round(_ertl_estimate(self.registers)))

    def to_wire(self) -> dict:
        if self.exact_hashes is not None:
            return {"threshold": self.precision_threshold,
                    "exact": base64.b64encode(self.exact_hashes.astype("<u8").tobytes()).decode()}
        return {"threshold": self.precision_threshold,
                "registers": base64.b64encode(self.registers.tobytes()).decode()}

    @classmethod
    def from_wire(cls, wire: dict) -> CardinalitySketch:
        if "exact" in wire:
            hashes = np.frombuffer(base64.b64decode(wire["exact"]), dtype="<u8").astype(np.uint64)
            return cls(int(wire["threshold"]), hashes, None)
        registers = np.frombuffer(base64.b64decode(wire["registers"]), dtype=np.uint8).copy()
        return cls(int(wire["threshold"]), None, registers)


def _registers_from_hashes(hashes: np.ndarray) -> np.ndarray:
    precision = HYPERLOGLOG_PRECISION
    remainder_bits = 64 - precision
    hashes = np.asarray(hashes, dtype=np.uint64)
    indexes = (hashes >> np.uint64(remainder_bits)).astype(np.int64)
    remainders = hashes & np.uint64((1 << remainder_bits) - 1)
    # rank = leading zeros of the remainder within its (64-p) bits, plus one; capped at q+1.
    bit_lengths = np.zeros(remainders.shape, dtype=np.int64)
    nonzero = remainders != 0
    # float64 log2 is exact enough to find the bit length of integers below 2**50.
    bit_lengths[nonzero] = np.floor(np.log2(remainders[nonzero].astype(np.float64))).astype(np.int64) + 1
    ranks = (remainder_bits - bit_lengths + 1).astype(np.uint8)
    registers = np.zeros(1 << precision, dtype=np.uint8)
    # Assign rank by rank in increasing order, so each register ends with its largest rank
    # (np.maximum.at is ~20x slower; ranks are few and mostly small).
    for rank in np.unique(ranks).tolist():
        registers[indexes[ranks == rank]] = rank
    return registers


def _ertl_estimate(registers: np.ndarray) -> float:
    """Ertl (2017) 'New cardinality estimation algorithms for HyperLogLog sketches', the
    improved raw estimator: unbiased over the whole range without empirical bias tables."""
    register_count = registers.size
    remainder_bits = 64 - HYPERLOGLOG_PRECISION
    histogram = np.bincount(registers, minlength=remainder_bits + 2).astype(np.float64)
    estimate_z = register_count * _tau(1.0 - histogram[remainder_bits + 1] / register_count)
    for rank in range(remainder_bits, 0, -1):
        estimate_z = 0.5 * (estimate_z + histogram[rank])
    estimate_z += register_count * _sigma(histogram[0] / register_count)
    alpha_infinity = 1.0 / (2.0 * math.log(2.0))
    return alpha_infinity * register_count * register_count / estimate_z


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x = x * x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3.0


# --------------------------------------------------------------------------- t-digest

DEFAULT_COMPRESSION = 100.0


@dataclass(frozen=True, slots=True)
class TDigest:
    """A merging t-digest: centroids (means, weights) sorted by mean, plus exact min/max."""

    compression: float
    means: np.ndarray      # float64
    weights: np.ndarray    # float64
    minimum: float
    maximum: float

    @classmethod
    def empty(cls, compression: float = DEFAULT_COMPRESSION) -> TDigest:
        return cls(compression, np.zeros(0), np.zeros(0), math.inf, -math.inf)

    @classmethod
    def from_values(cls, values: np.ndarray, compression: float = DEFAULT_COMPRESSION) -> TDigest:
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        if values.size == 0:
            return cls.empty(compression)
        return _compress(compression, np.sort(values), np.ones(values.size), presorted=True)

    @classmethod
    def from_sorted_values(cls, values: np.ndarray, compression: float = DEFAULT_COMPRESSION) -> TDigest:
        """As from_values, for values already sorted ascending and free of NaN."""
        if values.size == 0:
            return cls.empty(compression)
        values = np.asarray(values, dtype=np.float64)
        if values.size + 1 <= compression / math.pi:     # every value its own centroid (_compress)
            return cls(compression, values, np.ones(values.size), float(values[0]), float(values[-1]))
        return _compress(compression, values, np.ones(values.size), presorted=True)

    @classmethod
    def from_weighted(cls, values: np.ndarray, weights: np.ndarray,
                      compression: float = DEFAULT_COMPRESSION) -> TDigest:
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:
            return cls.empty(compression)
        digest = _compress(compression, values, np.asarray(weights, dtype=np.float64))
        return TDigest(compression, digest.means, digest.weights, float(values.min()), float(values.max()))

    @property
    def count(self) -> float:
        return float(self.weights.sum())

    def merge(self, other: TDigest) -> TDigest:
        compression = max(self.compression, other.compression)
        if other.weights.size == 0:
            return self if self.compression == compression else _recompress(self, compression)
        if self.weights.size == 0:
            return other if other.compression == compression else _recompress(other, compression)
        merged = _compress(compression, np.concatenate([self.means, other.means]),
                           np.concatenate([self.weights, other.weights]))
        return TDigest(compression, merged.means, merged.weights,
                       min(self.minimum, other.minimum), max(self.maximum, other.maximum))

    def quantiles(self, quantiles: np.ndarray) -> np.ndarray:
        """Values at quantiles in [0, 1]; NaN when empty."""
        quantiles = np.asarray(quantiles, dtype=np.float64)
        if self.weights.size == 0:
            return np.full(quantiles.shape, np.nan)
        total = self.weights.sum()
        centers = np.cumsum(self.weights) - self.weights / 2.0
        positions = np.concatenate([[0.0], centers, [total]])
        values = np.concatenate([[self.minimum], self.means, [self.maximum]])
        return np.interp(quantiles * total, positions, values)

    def ranks(self, values: np.ndarray) -> np.ndarray:
        """Fraction of the data at or below each value (percentile_ranks), in [0, 1]."""
        values = np.asarray(values, dtype=np.float64)
        if self.weights.size == 0:
            return np.full(values.shape, np.nan)
        total = self.weights.sum()
        centers = np.cumsum(self.weights) - self.weights / 2.0
        positions = np.concatenate([[0.0], centers, [total]])
        points = np.concatenate([[self.minimum], self.means, [self.maximum]])
        result = np.interp(values, points, positions) / total
        result[values < self.minimum] = 0.0
        result[values >= self.maximum] = 1.0
        return result

    def to_wire(self) -> dict:
        return {"compression": self.compression, "means": self.means.tolist(),
                "weights": self.weights.tolist(),
                "min": None if self.weights.size == 0 else self.minimum,
                "max": None if self.weights.size == 0 else self.maximum}

    @classmethod
    def from_wire(cls, wire: dict) -> TDigest:
        means = np.asarray(wire["means"], dtype=np.float64)
        if means.size == 0:
            return cls.empty(float(wire["compression"]))
        return cls(float(wire["compression"]), means, np.asarray(wire["weights"], dtype=np.float64),
                   float(wire["min"]), float(wire["max"]))


def _recompress(digest: TDigest, compression: float) -> TDigest:
    merged = _compress(compression, digest.means, digest.weights)
    return TDigest(compression, merged.means, merged.weights, digest.minimum, digest.maximum)


def _compress(compression: float, means: np.ndarray, weights: np.ndarray,
              presorted: bool = False) -> TDigest:
    """Group sorted centroids so that each group spans at most one unit of the scale k.

    A centroid joins the group of floor(k(q)) at its left edge q; groups are reduced with
    np.add.reduceat, so the whole pass is sorts and cumulative sums, no Python loop."""
    if not presorted:
        order = np.argsort(means, kind="stable")
        means, weights = means[order], weights[order]
    if means.size + 1 <= compression / math.pi and bool((weights == 1.0).all()):
        # Few single values: a value holds a fraction 1/n >= π/δ of the data, at least one unit
        # of k even at the median, so every value is its own centroid. Skipping the numpy pass
        # matters when thousands of small buckets each build a digest.
        return TDigest(compression, means, weights, float(means[0]), float(means[-1]))
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    left_quantiles = (cumulative - weights) / total
    scale = compression / (2.0 * math.pi) * np.arcsin(2.0 * left_quantiles - 1.0)
    right_quantiles = cumulative / total
    right_scale = compression / (2.0 * math.pi) * np.arcsin(np.clip(2.0 * right_quantiles - 1.0, -1, 1))
    group_ids = np.floor(scale).astype(np.int64)
    # A heavy centroid that itself crosses a k boundary stays alone (it cannot be split).
    crossing = np.floor(right_scale - 1e-12).astype(np.int64) > group_ids
    boundaries = np.flatnonzero(np.diff(group_ids) != 0) + 1
    alone = np.flatnonzero(crossing)
    boundaries = np.union1d(boundaries, np.union1d(alone, alone + 1))
    boundaries = boundaries[(boundaries > 0) & (boundaries < means.size)]
    starts = np.concatenate([[0], boundaries]).astype(np.int64)
    group_weights = np.add.reduceat(weights, starts)
    group_means = np.add.reduceat(means * weights, starts) / group_weights
    return TDigest(compression, group_means, group_weights, float(means[0]), float(means[-1]))
