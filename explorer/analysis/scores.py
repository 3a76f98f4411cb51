"""Genuine / impostor pair distances, summarised so that every threshold is cheap and exact.

A :class:`PairScores` holds, for one distance ``metric``:
- fine histograms of genuine (same label) and impostor (different label) distances on shared edges;
- the exact extreme pairs of each side with their item indices (:class:`Tail`): the smallest
  impostor distances (false accepts at strict thresholds) and the largest genuine distances
  (false rejects at lax ones); a tail that holds every pair of its side is "complete";
- sums and sums of squares over every pair (means and spreads without binning);
- how the impostor pairs were taken: all of them, or a uniform sample of them.

Counts are exact at every bin edge and at every tail value on the side the tail covers, so the
threshold grid (:func:`explorer.analysis.verification.scores_curve`) holds exact points only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from explorer.analysis.kernels import bin_values


@dataclass(frozen=True)
class Tail:
    """Exact distances of one side's extreme pairs, ascending, with the pairs' item indices.

    For impostors every pair with distance < ``cover`` is here; for genuine pairs every pair with
    distance > ``cover``. A complete tail has cover +inf (impostor) or -inf (genuine).
    """

    values: np.ndarray
    a: np.ndarray
    b: np.ndarray
    cover: float

    @classmethod
    def empty(cls, cover: float) -> Tail:
        return cls(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64), cover)

    @classmethod
    def of(cls, values, a, b, cover: float) -> Tail:
        order = np.lexsort((np.asarray(b), np.asarray(a), np.asarray(values)))  # ties by pair: one order however found
        return cls(
            np.asarray(values, np.float64)[order],
            np.asarray(a, np.int64)[order],
            np.asarray(b, np.int64)[order],
            float(cover),
        )


@dataclass(frozen=True)
class PairScores:
    """Pair distance statistics (smaller distance = more similar). See the module docstring.

    edges : (B + 1,) bin edges, distance units of ``metric``; bin k holds edges[k] <= d < edges[k+1]
    genuine_hist, impostor_hist : (B,) int64 counts
    n_impostor_total : impostor pairs that exist; more than the histogram holds when sampled
    """

    metric: str
    edges: np.ndarray
    genuine_hist: np.ndarray
    impostor_hist: np.ndarray
    genuine: Tail
    impostor: Tail
    genuine_moments: tuple[float, float]
    impostor_moments: tuple[float, float]
    n_impostor_total: int
    source: str = "all pairs"
    figures: Any = None  # verification.Figures, exact, where the raw distances were at hand (a sample)
    # (thresholds, tp, fp) counted exactly besides the grid: the TAR@FAR points of the impostor
    # tail when genuine pairs were too many to keep
    exact_points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def n_genuine(self) -> int:
        return int(self.genuine_hist.sum())

    @property
    def n_impostor(self) -> int:
        """Impostor pairs counted (the sample size when sampled)."""
        return int(self.impostor_hist.sum())

    @property
    def sampled(self) -> bool:
        return self.n_impostor < self.n_impostor_total

    @property
    def all_equal(self) -> bool:
        """Every pair has the same distance (one occupied bin, and the exact tails agree)."""
        occupied = np.count_nonzero(self.genuine_hist + self.impostor_hist)
        ends = np.r_[self.genuine.values, self.impostor.values]
        return occupied == 1 and len(ends) > 0 and ends.min() == ends.max()

    @property
    def complete(self) -> bool:
        """Both tails hold every pair: every figure is exact at every distinct distance."""
        return self.impostor.cover == np.inf and self.genuine.cover == -np.inf

    def on_rows(self, rows: np.ndarray) -> PairScores:
        """The tails' pair indices mapped through ``rows`` (scores of a subset of rows, e.g. the
        finite ones, named by the rows of the whole set)."""

        def fix(t: Tail) -> Tail:
            return replace(t, a=rows[t.a], b=rows[t.b])

        return replace(self, genuine=fix(self.genuine), impostor=fix(self.impostor))


def histogram_edges(lo: float, hi: float, bins: int) -> tuple[np.ndarray, float]:
    """Edges over [lo, hi] (widened a hair so hi falls inside) and the scale (bins per unit)."""
    width = max(hi - lo, 1e-12) * (1 + 1e-9)
    return lo + np.arange(bins + 1) * (width / bins), bins / width


def value_histogram(values: np.ndarray, lo: float, scale: float, bins: int) -> np.ndarray:
    """Counts of values in bins int((v - lo) * scale) (the same rule as the pair kernels)."""
    if not len(values):
        return np.zeros(bins, np.int64)
    v = np.ascontiguousarray(values, np.float64)
    return bin_values(v, float(lo), float(scale), bins)


def from_distances(
    genuine: np.ndarray,
    impostor: np.ndarray,
    *,
    metric: str,
    pairs_genuine=None,
    pairs_impostor=None,
    bins: int = 16384,
    source: str = "pairs",
) -> PairScores:
    """PairScores of explicit pair distances (a protocol's pairs, a sample), tails complete.

    pairs_* : optional (n, 2) item indices of each pair (for galleries); -1 when unknown.
    """
    g = np.asarray(genuine, np.float64).ravel()
    i = np.asarray(impostor, np.float64).ravel()
    both = np.concatenate([g, i])
    if not np.isfinite(both).all():
        raise ValueError("pair distances hold NaN or inf")
    hi = float(both.max()) if len(both) else 1.0
    edges, scale = histogram_edges(0.0, max(hi, 1e-12), bins)

    def tail(v, p, cover):
        p = np.full((len(v), 2), -1, np.int64) if p is None else np.asarray(p, np.int64).reshape(-1, 2)
        return Tail.of(v, p[:, 0], p[:, 1], cover)

    return PairScores(
        metric,
        edges,
        value_histogram(g, 0.0, scale, bins),
        value_histogram(i, 0.0, scale, bins),
        tail(g, pairs_genuine, -np.inf),
        tail(i, pairs_impostor, np.inf),
        (float(g.sum()), float((g * g).sum())),
        (float(i.sum()), float((i * i).sum())),
        len(i),
        source,
    )


@dataclass(frozen=True)
class Separation:
    """How well genuine and impostor distances separate.

    d_prime : |mean_imp - mean_gen| / sqrt((var_gen + var_imp) / 2).
    overlap : the share of the two distributions that no single threshold separates: the least
        FAR + FRR over thresholds (1 - the Kolmogorov-Smirnov distance), 0 (some threshold separates
        every pair) .. 1 (identical). It means the same at any pair count (a shared histogram area
        falls to 0 when a few hundred pairs scatter over thousands of bins); read at the bin edges,
        so within one bin's pairs of the exact least sum.
    """

    mean_genuine: float
    mean_impostor: float
    std_genuine: float
    std_impostor: float
    d_prime: float | None
    overlap: float | None


def separation(h: PairScores) -> Separation:
    def stats(moments, n):
        if n == 0:
            return float("nan"), float("nan")
        mean = moments[0] / n
        return mean, float(np.sqrt(max(moments[1] / n - mean * mean, 0.0)))

    mg, sg = stats(h.genuine_moments, h.n_genuine)
    mi, si = stats(h.impostor_moments, h.n_impostor)
    if not (h.n_genuine and h.n_impostor):
        return Separation(mg, mi, sg, si, None, None)
    pooled = np.sqrt((sg * sg + si * si) / 2)
    d_prime = float(abs(mi - mg) / pooled) if pooled > 0 else None
    far = np.r_[0.0, np.cumsum(h.impostor_hist)] / h.n_impostor  # accepted at each edge, distance <= edge
    frr = 1.0 - np.r_[0.0, np.cumsum(h.genuine_hist)] / h.n_genuine
    overlap = float(np.clip((far + frr).min(), 0.0, 1.0))
    return Separation(mg, mi, sg, si, d_prime, overlap)
