"""UMAP's layout step, parallel on every core and still reproducible, run in stages.

The fuzzy graph and the curve parameters come from ``fuzzy_graph`` (umap-learn's, without its
import cost); the stochastic gradient descent that places the
points is ours. Hand-written because umap-learn's own layout runs on one core whenever a
``random_state`` is set (its parallel mode updates shared coordinates from several threads, so
the result depends on timing), and a map that changes between two clicks with the same seed is
useless for finding an item again. Here each epoch reads the other points from a snapshot taken
at the start of the epoch and each thread writes only its own points, so the result is the same
bits on 1 or 16 threads. Everything else follows umap-learn's ``optimize_layout_euclidean``:
edges sampled in proportion to their weight, ``negative_sample_rate`` repulsions per sample,
gradients clipped at 4, a learning rate falling linearly to 0. umap-learn moves both ends of a
sampled edge; here the graph is symmetric and each end moves itself along its own copy of the
edge, twice, which keeps the attraction to repulsion ratio of umap-learn.

Epochs run in chunks (a progress callback between them); how a run is chunked does not change
it.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from explorer.analysis.fuzzy_graph import epochs_per_sample, find_ab_params
from explorer.compute import heavy


@intrinsic
def _bits(typingctx, x):  # pragma: no cover - compiled
    """float32 -> its int32 bit pattern."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


# Gradient coefficients as functions of the squared distance, tabulated: libm's powf was half of
# the layout's time (a polynomial pow was no faster). 128 steps per octave over 2^-20 .. 2^20 and
# linear interpolation inside a step: within 1e-4 of the formula (tests check it); outside that
# range the formula itself is used.
STEPS_LOG2, LO_EXP, HI_EXP = 7, -20, 20
_FIRST = (127 + LO_EXP) << STEPS_LOG2
LOW, HIGH = np.float32(2.0**LO_EXP), np.float32(2.0**HI_EXP)


def coefficient_tables(a: float, b: float, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """(attraction, repulsion) coefficients at the table's points (float64 formula, float32 table)."""
    steps = 1 << STEPS_LOG2
    e = np.arange(LO_EXP, HI_EXP + 1, dtype=np.float64).repeat(steps)[: (HI_EXP - LO_EXP) * steps + 1]
    m = np.tile(1 + np.arange(steps) / steps, HI_EXP - LO_EXP + 1)[: len(e)]
    d2 = m * 2.0**e
    attract = -2 * a * b * d2 ** (b - 1) / (a * d2**b + 1)
    repel = 2 * gamma * b / ((0.001 + d2) * (a * d2**b + 1))
    return attract.astype(np.float32), repel.astype(np.float32)


@numba.njit(inline="always", fastmath=True)
def _lookup(table, d2):
    """Table value at d2 (within the table's range; the caller checks), linearly interpolated."""
    bits = _bits(d2)
    at = (bits >> (23 - STEPS_LOG2)) - _FIRST
    frac = np.float32(bits & ((1 << (23 - STEPS_LOG2)) - 1)) * np.float32(1.0 / (1 << (23 - STEPS_LOG2)))
    return table[at] + frac * (table[at + 1] - table[at])


@numba.njit(inline="always")
def _next(state):
    """xorshift64* step: a private random stream per point, advanced only by that point's thread."""
    x = state
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    return x, x * np.uint64(2685821657736338717)


@numba.njit(inline="always")
def _clip(v):
    return min(max(v, np.float32(-4.0)), np.float32(4.0))


@numba.njit(parallel=True, fastmath=True, cache=True)
def _epochs(
    emb,
    prev,
    indptr,
    indices,
    every,
    next_at,
    every_neg,
    next_neg,
    rng,
    a,
    b,
    gamma,
    attract,
    repel,
    start,
    stop,
    n_epochs,
):  # pragma: no cover - compiled
    """Epochs [start, stop) on (N, 3) float32 coordinates (a 2D map keeps its third column at 0)."""
    n = emb.shape[0]
    two_ab = np.float32(2.0) * a * b
    rep = np.float32(2.0) * gamma * b
    nn = np.uint64(n)
    for epoch in range(start, stop):
        alpha = np.float32(1.0 - epoch / n_epochs)
        prev[:, :] = emb
        for i in numba.prange(n):
            state = rng[i]
            x0, x1, x2 = emb[i, 0], emb[i, 1], emb[i, 2]
            for e in range(indptr[i], indptr[i + 1]):
                if next_at[e] > epoch:
                    continue
                j = indices[e]
                d0, d1, d2_ = x0 - prev[j, 0], x1 - prev[j, 1], x2 - prev[j, 2]
                dd = d0 * d0 + d1 * d1 + d2_ * d2_
                if dd > 0:  # both ends of the edge pull: this end's share, twice (see module doc)
                    if LOW < dd < HIGH:
                        g = _lookup(attract, dd)
                    else:
                        pb1 = dd ** (b - np.float32(1.0))
                        g = -two_ab * pb1 / (a * pb1 * dd + np.float32(1.0))
                    step = np.float32(2.0) * alpha
                    x0 += _clip(g * d0) * step
                    x1 += _clip(g * d1) * step
                    x2 += _clip(g * d2_) * step
                next_at[e] += every[e]
                n_neg = int((epoch - next_neg[e]) / every_neg[e])
                m0 = m1 = m2 = np.float32(0.0)
                for _ in range(n_neg):  # repulsions from the same spot, summed: their latencies overlap
                    state, r = _next(state)
                    k = np.int64(((r >> np.uint64(32)) * nn) >> np.uint64(32))
                    if k == i:
                        continue
                    d0, d1, d2_ = x0 - prev[k, 0], x1 - prev[k, 1], x2 - prev[k, 2]
                    dd = d0 * d0 + d1 * d1 + d2_ * d2_
                    if dd > 0:
                        if LOW < dd < HIGH:
                            g = _lookup(repel, dd)
                        else:
                            g = rep / ((np.float32(0.001) + dd) * (a * dd**b + np.float32(1.0)))
                        m0 += _clip(g * d0)
                        m1 += _clip(g * d1)
                        m2 += _clip(g * d2_)
                x0 += m0 * alpha
                x1 += m1 * alpha
                x2 += m2 * alpha
                next_neg[e] += n_neg * every_neg[e]
            emb[i, 0], emb[i, 1], emb[i, 2] = x0, x1, x2
            rng[i] = state


def _seeds(n: int, random_state: int) -> np.ndarray:
    """One non-zero 64-bit stream state per point, from the seed (splitmix64 of seed and index)."""
    with np.errstate(over="ignore"):
        z = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(random_state)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    z[z == 0] = 1
    return z


class Layout:
    """A UMAP layout: ``run()`` optimises it and returns the coordinates.

    graph: symmetric fuzzy graph (``fuzzy_graph``); init: (N, dims) start coordinates (scaled to
    [0, 10] per axis, as umap-learn does; duplicated rows get a little noise).
    """

    def __init__(
        self,
        graph: sp.csr_matrix,
        init: np.ndarray,
        *,
        min_dist: float = 0.1,
        spread: float = 1.0,
        n_epochs: int = 200,
        random_state: int = 0,
        negative_sample_rate: float = 5.0,
        gamma: float = 1.0,
    ):
        if n_epochs < 1:
            raise ValueError("n_epochs must be at least 1")
        g = sp.csr_matrix(graph, dtype=np.float32, copy=True)
        if g.nnz:  # umap-learn drops edges too weak to be sampled once in the run
            g.data[g.data < g.data.max() / max(n_epochs, 10)] = 0
            g.eliminate_zeros()
        g.sort_indices()
        a, b = find_ab_params(spread, min_dist)
        self.a, self.b, self.gamma = np.float32(a), np.float32(b), np.float32(gamma)
        self.attract, self.repel = coefficient_tables(a, b, gamma)
        self.indptr, self.indices = g.indptr.astype(np.int64), g.indices.astype(np.int64)
        self.every = epochs_per_sample(g.data, n_epochs) if g.nnz else np.empty(0)
        self.next_at = self.every.copy()
        self.every_neg = self.every / negative_sample_rate
        self.next_neg = self.every_neg.copy()
        self.rng = _seeds(g.shape[0], random_state)
        init = np.asarray(init, np.float64)
        if init.ndim != 2 or init.shape[0] != g.shape[0] or not 1 <= init.shape[1] <= 3:
            raise ValueError(f"init must be ({g.shape[0]}, 1 to 3) coordinates; got {init.shape}")
        self.dims = init.shape[1]
        self.coords = np.zeros((len(init), 3), np.float32)  # 3 columns always: the kernel is unrolled
        self.coords[:, : self.dims] = _start(init, random_state)
        self.prev = np.empty_like(self.coords)
        self.n_epochs, self.epoch = n_epochs, 0

    def run(self, *, threads: int | None = None, progress=None, chunk: int = 10) -> np.ndarray:
        """All epochs, ``chunk`` at a time, progress(fraction) between chunks; a copy of the coordinates."""
        with heavy():  # one parallel numba region at a time in this process
            old = numba.get_num_threads()
            numba.set_num_threads(threads or numba.config.NUMBA_NUM_THREADS)
            try:
                while self.epoch < self.n_epochs:
                    stop = min(self.epoch + chunk, self.n_epochs)
                    _epochs(
                        self.coords,
                        self.prev,
                        self.indptr,
                        self.indices,
                        self.every,
                        self.next_at,
                        self.every_neg,
                        self.next_neg,
                        self.rng,
                        self.a,
                        self.b,
                        self.gamma,
                        self.attract,
                        self.repel,
                        self.epoch,
                        stop,
                        self.n_epochs,
                    )
                    self.epoch = stop
                    if progress is not None:
                        progress(self.epoch / self.n_epochs)
            finally:
                numba.set_num_threads(old)
        return self.coords[:, : self.dims].copy()


def _start(init: np.ndarray, random_state: int) -> np.ndarray:
    x = init.copy()
    if len(np.unique(x, axis=0)) < len(x):  # duplicates would never part: umap-learn's noise, scaled to the map
        span = float(np.abs(x).max()) or 1.0
        x += np.random.default_rng(random_state).normal(scale=1e-4 * span, size=x.shape)
    lo, hi = x.min(0), x.max(0)
    return np.ascontiguousarray(10.0 * (x - lo) / np.where(hi > lo, hi - lo, 1), np.float32)
