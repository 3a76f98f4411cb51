"""Retrieval metrics of an embedding (Musgrave et al., "A Metric Learning Reality Check", 2020).

Every item queries all the others. For an item of a class with n items, R = n - 1:
- Precision@1: the nearest other item shares the label;
- R-Precision: the share of the R nearest that share the label;
- MAP@R: mean over the first R ranks of precision@i at the ranks that share the label, / R.
Queries in classes of one item (R = 0) have nothing to retrieve and are left out of all three,
as in pytorch-metric-learning's AccuracyCalculator.

Exact search (the default) never sorts a row: for each query a compiled kernel sorts only the R
distances to its own class and counts, in one pass over the row, the other-class items closer
than each of them (a binary search for the few that are); the ranks of the positives follow, and
from them all three figures. Blocks of queries are matrix products in two worker threads, so
memory is 2 x block x N floats, never N x N. With another index (HNSW), its k = max(R) nearest
are ranked instead (in the index's order).

Ties: two distances that agree within what the stored float32 vectors can resolve (``tie_scale``:
each coordinate is known to about 2 ulp of the largest one, and the float32 products add their
own rounding) are tied, and a tied negative ranks before the positive (the pessimistic rule).
The figures then do not move when the same vectors are shifted or rounded differently.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from explorer.analysis.neighbors import BruteForceIndex, NeighborIndex
from explorer.compute import heavy

WORKERS = 2
EPS32 = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class RetrievalResult:
    """Overall figures and one row per class (class, items, precision_at_1, r_precision, map_at_r)."""

    precision_at_1: float
    r_precision: float
    map_at_r: float
    per_class: pd.DataFrame
    k: int
    queries: int = 0  # how many items queried (all of them unless a sample was asked for)
    items: int = 0
    half_width: dict | None = None  # for a sample of queries: 95 % half-widths of the three means

    @property
    def sampled(self) -> bool:
        return self.queries < self.items


def ranked_metrics(nb_labels: np.ndarray, q_labels: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per query (P@1, R-Precision, MAP@R) from the labels of its ranked neighbours (at least R of
    them, nearest first) and its R."""
    rel = nb_labels == q_labels[:, None]
    ranks = np.arange(1, rel.shape[1] + 1)
    within = ranks[None, :] <= r[:, None]
    hits = np.cumsum(rel & within, axis=1)
    rr = np.maximum(r, 1)
    r_prec = hits[:, -1] / rr
    map_r = ((rel & within) * (hits / ranks[None, :])).sum(axis=1) / rr
    return rel[:, 0].astype(float), r_prec, map_r


@njit(nogil=True, cache=True)
def _rank_block(dots, q_rows, q_sq, x_sq, cosine, y, members, starts, tau, p1, rp, mr, pos, cnt):  # pragma: no cover
    """Retrieval figures of queries ``q_rows`` from their products with every item (dots, b x N);
    scores of a query closer than its tolerance are tied (a tied negative counts first): on
    squared euclidean scores s, 2 tau sqrt(s) + tau^2 at the farthest positive, on 1 - cos
    2 tau; plus the float32 products' rounding, 8 eps (|q|^2 + max |x|^2).

    Hand-written because a full sort (or partition) of each row is what made exact retrieval
    slow (100 s at 100k items): here one pass per row, and a sort of R values only.
    Scores: squared euclidean from products of centred rows, or 1 - cos for unit rows.
    """
    n = dots.shape[1]
    x_max = x_sq.max()
    for r in range(dots.shape[0]):
        q = q_rows[r]
        c = y[q]
        lo, hi = starts[c], starts[c + 1]
        big_r = hi - lo - 1
        if big_r <= 0:
            p1[r] = rp[r] = mr[r] = 0.0
            continue
        m = 0
        for t in range(lo, hi):
            j = members[t]
            if j != q:
                pos[m] = 1.0 - dots[r, j] if cosine else q_sq[r] + x_sq[j] - 2.0 * dots[r, j]
                m += 1
        s = pos[:big_r]
        s.sort()
        cnt[: big_r + 1] = 0
        tol = 8.0 * EPS32 * (q_sq[r] + x_max)
        tol += 2.0 * tau if cosine else 2.0 * tau * np.sqrt(max(s[big_r - 1], 0.0)) + tau * tau
        top = s[big_r - 1] + tol
        for j in range(n):
            if y[j] == c:
                continue
            d = 1.0 - dots[r, j] if cosine else q_sq[r] + x_sq[j] - 2.0 * dots[r, j]
            if d <= top:  # closer than (or tied with) some positive: before which ones?
                a, b = 0, big_r - 1
                while a < b:  # first positive at or beyond d, ties included
                    mid = (a + b) // 2
                    if s[mid] + tol < d:
                        a = mid + 1
                    else:
                        b = mid
                cnt[a] += 1
        before, hits, ap = 0, 0, 0.0
        for i in range(big_r):
            before += cnt[i]
            rank = i + 1 + before
            if rank > big_r:
                break
            hits += 1
            ap += (i + 1) / rank
        p1[r] = 1.0 if cnt[0] == 0 else 0.0
        rp[r] = hits / big_r
        mr[r] = ap / big_r


def tie_scale(index: BruteForceIndex) -> float:
    """tau: how far a distance may move with what the stored vectors cannot resolve.

    A coordinate is known to 2 ulp of the largest stored one (the rows are float32, centred or
    normalised once more); a distance then moves by up to tau = 2 sqrt(D) x that.
    """
    raw = index.raw
    if not raw.size:
        return 0.0
    scale = 1.0 if index.metric == "cosine" else float(np.abs(raw).max())
    return 2.0 * np.sqrt(raw.shape[1]) * 2.0 * EPS32 * scale


def _exact_figures(
    index: BruteForceIndex, vectors: np.ndarray, y: np.ndarray, block: int, progress, queries: np.ndarray
) -> tuple:
    order = np.argsort(y, kind="stable")
    starts = np.searchsorted(y[order], np.arange(y.max() + 2)).astype(np.int64)
    max_r = int(np.diff(starts).max())
    xs, x_sq, cosine = index.rows, index.squared_norms, index.metric == "cosine"
    tau = tie_scale(index)
    q_all = index.prepare(vectors[queries])
    n, m = len(y), len(queries)
    p1, rp, mr = (np.zeros(n) for _ in range(3))
    yy, members = y.astype(np.int64), order.astype(np.int64)

    def work(s):
        at = slice(s, min(s + block, m))
        rows = queries[at]
        q = q_all[at]
        q_sq = np.einsum("ij,ij->i", q, q)
        out = [np.zeros(len(rows)) for _ in range(3)]
        _rank_block(
            q @ xs.T,
            rows,
            q_sq,
            x_sq,
            cosine,
            yy,
            members,
            starts,
            tau,
            *out,
            np.empty(max_r, np.float32),
            np.empty(max_r + 1, np.int64),
        )
        p1[rows], rp[rows], mr[rows] = out
        return len(rows)

    done = 0
    with heavy(blas_threads=1), ThreadPoolExecutor(WORKERS) as pool:  # 2 workers x 1 BLAS thread: see pairs.py
        for got in pool.map(work, range(0, m, block)):
            done += got
            if progress:
                progress(done / m, f"retrieval: {done:,} of {m:,} queries")
    return p1, rp, mr


def retrieval_metrics(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    metric: str = "euclidean",
    index: NeighborIndex | None = None,
    batch: int = 256,
    queries: np.ndarray | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> RetrievalResult:
    """Precision@1, R-Precision and MAP@R of every item against all others, overall and per class.

    ``index`` must hold ``vectors`` in order (default: an exact index is built). ``queries``: only
    these items query (each still against all items), e.g. a uniform sample for a first answer
    on a large set; the result then carries 95 % half-widths of its means (normal approximation,
    with the finite-population correction).
    """
    labels = np.asarray(labels).astype(str)
    classes, y, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(vectors) < 2:
        raise ValueError("retrieval needs at least two items")
    n = len(y)
    queries = np.arange(n) if queries is None else np.unique(np.asarray(queries, np.int64))
    r_all = counts[y] - 1
    k = int(max(r_all.max(), 1))
    if index is None:
        index = BruteForceIndex(metric)
        index.add(vectors)
    if isinstance(index, BruteForceIndex):
        p1, rp, mr = _exact_figures(index, vectors, y, batch, progress, queries)
    else:
        p1, rp, mr = (np.zeros(n) for _ in range(3))
        for s in range(0, len(queries), batch):
            rows = queries[s : s + batch]
            _, nb = index.query(vectors[rows], k, exclude=rows)
            p1[rows], rp[rows], mr[rows] = ranked_metrics(y[nb], y[rows], r_all[rows])
            if progress:
                done = min(s + batch, len(queries))
                progress(done / len(queries), f"retrieval: {done:,} of {len(queries):,} queries")
    asked = np.zeros(n, bool)
    asked[queries] = True
    has = (r_all > 0) & asked
    if not has.any():
        raise ValueError("every class has a single item: there is nothing to retrieve")
    q_counts = np.bincount(y, asked, len(classes))
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = pd.DataFrame(
            {
                "class": classes,
                "items": counts,
                "precision_at_1": np.where(
                    (counts > 1) & (q_counts > 0), np.bincount(y, p1 * asked, len(classes)) / q_counts, np.nan
                ),
                "r_precision": np.where(
                    (counts > 1) & (q_counts > 0), np.bincount(y, rp * has, len(classes)) / q_counts, np.nan
                ),
                "map_at_r": np.where(
                    (counts > 1) & (q_counts > 0), np.bincount(y, mr * has, len(classes)) / q_counts, np.nan
                ),
            }
        )
    if len(queries) < n:
        frame.insert(2, "queries", q_counts.astype(np.int64))
    m = int(has.sum())
    half = None
    if len(queries) < n and m > 1:
        fpc = np.sqrt(max(0.0, 1 - m / max(int((r_all > 0).sum()), 1)))
        half = {
            name: float(1.96 * v[has].std(ddof=1) / np.sqrt(m) * fpc)
            for name, v in (("precision_at_1", p1), ("r_precision", rp), ("map_at_r", mr))
        }
    return RetrievalResult(
        float(p1[has].mean()), float(rp[has].mean()), float(mr[has].mean()), frame, k, len(queries), n, half
    )


def query_sample(labels: np.ndarray, size: int, *, seed: int = 0) -> np.ndarray:
    """A seeded uniform sample of ``size`` query items (sorted), or all when fewer."""
    n = len(labels)
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))
