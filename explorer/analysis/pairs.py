"""Genuine / impostor pair statistics over ALL pairs, without an N x N matrix.

Blocks of rows are compared by matrix products; each block's distances are counted into fine
histograms (genuine = same label, impostor = different label) and the extreme tails are kept
exactly: the k smallest impostor distances and the k largest genuine distances, so low-FAR
figures come from exact values, not bins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from explorer.analysis.distances import block_distances, prepare


@dataclass(frozen=True)
class PairHistograms:
    """Counts of i < j pairs per distance bin.

    edges : (B + 1,) bin edges in distance units of ``metric``.
    genuine, impostor : (B,) int64 counts.
    impostor_smallest : (<= k,) the k smallest impostor distances, ascending (exact).
    genuine_largest : (<= k,) the k largest genuine distances, descending (exact).
    """

    metric: str
    edges: np.ndarray
    genuine: np.ndarray
    impostor: np.ndarray
    impostor_smallest: np.ndarray
    genuine_largest: np.ndarray
    genuine_moments: tuple[float, float] = (0.0, 0.0)  # exact (sum, sum of squares) of distances
    impostor_moments: tuple[float, float] = (0.0, 0.0)

    @property
    def n_genuine(self) -> int:
        return int(self.genuine.sum())

    @property
    def n_impostor(self) -> int:
        return int(self.impostor.sum())


def distance_bound(x: np.ndarray, base: str) -> float:
    """An upper bound on any pairwise distance of prepared rows (the histogram's range)."""
    if base == "cosine":
        return 2.0
    if base == "manhattan":
        return float((x.max(0) - x.min(0)).sum())
    radius = float(np.linalg.norm(x - x.mean(0), axis=1).max())
    return (2 * radius) ** 2 if base == "sqeuclidean" else 2 * radius


def _merge_smallest(kept: np.ndarray, new: np.ndarray, k: int) -> np.ndarray:
    both = np.concatenate([kept, new])
    if len(both) > k:
        both = np.partition(both, k - 1)[:k]
    return np.sort(both)


def pair_histograms(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    metric: str = "euclidean",
    bins: int = 4096,
    k_tail: int = 1000,
    block: int = 2048,
    progress: Callable[[float, str], None] | None = None,
) -> PairHistograms:
    """Histograms of all N(N-1)/2 pair distances, split into genuine and impostor.

    Memory is O(block^2), time O(N^2 D / BLAS). Raises ValueError for NaN/inf vectors.
    """
    x, base = prepare(vectors, metric)
    if not np.isfinite(x).all():
        raise ValueError("vectors hold NaN or inf: fix or drop those rows before pair statistics")
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    n = len(x)
    hi = max(distance_bound(x, base), 1e-12) * (1 + 1e-9)
    edges = np.linspace(0.0, hi, bins + 1)
    gen = np.zeros(bins, np.int64)
    imp = np.zeros(bins, np.int64)
    imp_small, gen_large = np.empty(0), np.empty(0)
    mom = np.zeros(4)  # genuine sum, sumsq, impostor sum, sumsq
    starts = list(range(0, n, block))
    total_blocks = len(starts) * (len(starts) + 1) // 2
    done = 0
    for bi, i in enumerate(starts):
        for j in starts[bi:]:
            d = block_distances(x[i : i + block], x[j : j + block], base)
            same = y[i : i + block, None] == y[None, j : j + block]
            if i == j:  # upper triangle only: each unordered pair once, no self-pairs
                upper = np.triu(np.ones(d.shape, bool), 1)
                dg, di = d[upper & same], d[upper & ~same]
            else:
                dg, di = d[same], d[~same]
            idx_g = np.minimum((dg * (bins / hi)).astype(np.int64), bins - 1)
            idx_i = np.minimum((di * (bins / hi)).astype(np.int64), bins - 1)
            mom += (dg.sum(), (dg * dg).sum(), di.sum(), (di * di).sum())
            gen += np.bincount(idx_g, minlength=bins)
            imp += np.bincount(idx_i, minlength=bins)
            if k_tail:
                imp_small = _merge_smallest(imp_small, di, k_tail)
                gen_large = -_merge_smallest(-gen_large, -dg, k_tail)
            done += 1
            if progress:
                progress(done / total_blocks, f"pairs: block {done} of {total_blocks}")
    return PairHistograms(metric, edges, gen, imp, imp_small, gen_large, (mom[0], mom[1]), (mom[2], mom[3]))


@dataclass(frozen=True)
class Separation:
    """How well genuine and impostor distances separate.

    d_prime : |mean_imp - mean_gen| / sqrt((var_gen + var_imp) / 2), from exact moments.
    overlap : sum over bins of min(p_gen, p_imp), 0 (disjoint) .. 1 (identical), binned.
    """

    mean_genuine: float
    mean_impostor: float
    std_genuine: float
    std_impostor: float
    d_prime: float | None
    overlap: float | None


def separation(h: PairHistograms) -> Separation:
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
    overlap = float(np.minimum(h.genuine / h.n_genuine, h.impostor / h.n_impostor).sum())
    return Separation(mg, mi, sg, si, d_prime, overlap)
