"""UMAP's fuzzy graph from a kNN graph, and its curve parameters, in plain numpy / scipy.

The same mathematics as umap-learn's ``smooth_knn_dist``, ``compute_membership_strengths``,
``fuzzy_simplicial_set`` (fuzzy union), ``find_ab_params`` and ``make_epochs_per_sample`` (tests
compare each with umap-learn's). Hand-written because importing ``umap.umap_`` imports
pynndescent, which compiles its numba code at import: 25 s in a fresh install and 3 s even from
numba's disk cache, plus 7 s to compile these functions, all before a new user's first map. These
steps are a few vectorised passes over the (N, k) neighbour table, so numpy does them in
milliseconds with nothing to compile.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SMOOTH_K_TOLERANCE = 1e-5
MIN_K_DIST_SCALE = 1e-3
_FLOATMAX = np.float32(np.finfo(np.float32).max)


def smooth_knn_dist(distances: np.ndarray, k: float, *, n_iter: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(sigma, rho) per row of sorted kNN distances (itself first), local connectivity 1:
    rho is the distance to the nearest non-zero neighbour, sigma is found by bisection so that
    sum_j exp(-(d_j - rho) / sigma) over the neighbours after the first equals log2(k)."""
    d = np.asarray(distances, np.float32)
    n = len(d)
    target = np.float32(np.log2(k))
    positive = d > 0
    first = np.argmax(positive, axis=1)
    rho = np.where(positive.any(axis=1), d[np.arange(n), first], 0).astype(np.float32)
    lo = np.zeros(n, np.float32)
    hi = np.full(n, _FLOATMAX, np.float32)
    mid = np.ones(n, np.float32)
    active = np.ones(n, bool)
    shifted = d[:, 1:] - rho[:, None]
    for _ in range(n_iter):
        rows = np.flatnonzero(active)
        if not len(rows):
            break
        s, m = shifted[rows], mid[rows]
        psum = np.where(s > 0, np.exp(-(np.maximum(s, 0) / m[:, None])), np.float32(1)).sum(axis=1, dtype=np.float32)
        done = np.abs(psum - target) < SMOOTH_K_TOLERANCE
        go = ~done
        above = go & (psum > target)
        below = go & ~above
        h = hi[rows]
        lo_r = lo[rows]
        h = np.where(above, m, h)
        lo_r = np.where(below, m, lo_r)
        m = np.where(above, (lo_r + h) / np.float32(2), m)
        m = np.where(below, np.where(h >= _FLOATMAX, m * np.float32(2), (lo_r + h) / np.float32(2)), m)
        hi[rows], lo[rows], mid[rows] = h, lo_r, m
        active[rows[done]] = False
    floor = np.where(rho > 0, d.mean(axis=1), d.mean()) * np.float32(MIN_K_DIST_SCALE)
    return np.maximum(mid, floor).astype(np.float32), rho


def fuzzy_graph(indices: np.ndarray, distances: np.ndarray) -> sp.csr_matrix:
    """umap-learn's fuzzy simplicial set (symmetric fuzzy union, float32 weights) from each item's
    k nearest, itself first."""
    idx = np.ascontiguousarray(indices, np.int64)
    d = np.ascontiguousarray(distances, np.float32)
    n, k = idx.shape
    sigma, rho = smooth_knn_dist(d, float(k))
    excess = d - rho[:, None]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        w = np.exp(-(excess / sigma[:, None])).astype(np.float32)
    w = np.where((excess <= 0) | (sigma[:, None] == 0), np.float32(1), w)
    w[idx == np.arange(n)[:, None]] = 0  # an item is not its own neighbour
    keep = idx >= 0  # -1: a neighbour the search did not find
    rows = np.repeat(np.arange(n), k).reshape(n, k)
    g = sp.coo_matrix((w[keep], (rows[keep], idx[keep])), shape=(n, n)).tocsr()
    g.eliminate_zeros()
    t = g.transpose().tocsr()
    out = (g + t - g.multiply(t)).tocsr()
    out.eliminate_zeros()
    return out.astype(np.float32)


def find_ab_params(spread: float, min_dist: float) -> tuple[float, float]:
    """a, b of the low-dimensional curve 1 / (1 + a d^2b) fitted to the offset exponential decay."""
    from scipy.optimize import curve_fit

    def curve(x, a, b):
        return 1.0 / (1.0 + a * x ** (2 * b))

    xv = np.linspace(0, spread * 3, 300)
    yv = np.where(xv < min_dist, 1.0, np.exp(-(xv - min_dist) / spread))
    params, _ = curve_fit(curve, xv, yv)
    return float(params[0]), float(params[1])


def epochs_per_sample(weights: np.ndarray, n_epochs: int) -> np.ndarray:
    """How many epochs apart each edge is sampled: the strongest every epoch, -1 never."""
    out = -np.ones(len(weights), np.float64)
    n_samples = n_epochs * (weights / weights.max())
    out[n_samples > 0] = float(n_epochs) / n_samples[n_samples > 0].astype(np.float64)
    return out
