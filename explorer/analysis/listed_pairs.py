"""Pairs given one by one: exact float64 distances of row pairs, the listed pairs of a protocol
file, and the pairs two models are scored on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from explorer.analysis.distances import prepare
from explorer.analysis.kernels import class_pairs, pair_rows_distance
from explorer.analysis.metrics import TABLE
from explorer.analysis.scores import PairScores, from_distances

WORKERS = 2


def pair_distances(x: np.ndarray, a: np.ndarray, b: np.ndarray, base: str) -> np.ndarray:
    """Exact float64 distances of the pairs (a[k], b[k]) of rows prepared by distances.prepare,
    on both cores. Random pairs of rows are bound by memory: rows whose float64 values are float32
    values (embeddings, before a cosine or mahalanobis transform) are read as float32."""
    x = np.asarray(x)
    small = x.astype(np.float32)
    x = small if np.array_equal(small, x) else np.ascontiguousarray(x, np.float64)
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    code = TABLE[base].code
    if len(a) < 200_000:
        return pair_rows_distance(x, a, b, code)
    cuts = np.linspace(0, len(a), WORKERS + 1).astype(int)
    with ThreadPoolExecutor(WORKERS) as pool:  # the kernel releases the GIL
        parts = pool.map(lambda s: pair_rows_distance(x, a[s[0] : s[1]], b[s[0] : s[1]], code), zip(cuts, cuts[1:]))
        return np.concatenate(list(parts))


def protocol_pairs(
    vectors: np.ndarray, a: np.ndarray, b: np.ndarray, same: np.ndarray, *, metric: str = "euclidean"
) -> tuple[PairScores, np.ndarray]:
    """Scores of listed pairs (rows a[k], b[k]; same[k] = genuine) and their distances.

    Rows with NaN/inf are left out of the metric's fit (mahalanobis) and their pairs get a NaN
    distance and are not scored. Raises ValueError when no listed pair is usable.
    """
    a, b, same = np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(same, bool)
    finite = np.isfinite(vectors).all(axis=1)
    rows = np.flatnonzero(finite)
    ok = finite[a] & finite[b]
    if not ok.any():
        raise ValueError("none of the listed pairs has two items with finite embeddings")
    x, base = prepare(np.asarray(vectors)[rows], metric)
    where = np.full(len(vectors), -1, np.int64)
    where[rows] = np.arange(len(rows))
    d = np.full(len(a), np.nan)
    d[ok] = pair_distances(x, where[a[ok]], where[b[ok]], base)
    g, i = ok & same, ok & ~same
    pairs = np.c_[a, b]
    scores = from_distances(
        d[g], d[i], metric=metric, pairs_genuine=pairs[g], pairs_impostor=pairs[i], source="protocol pairs"
    )
    return scores, d


def sample_pairs(
    labels: np.ndarray, *, max_genuine: int = 25_000, max_impostor: int = 25_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (a, b, same) to score two models on: every genuine pair (a uniform sample beyond
    max_genuine) and a uniform sample of max_impostor impostor pairs (all, when fewer exist),
    seeded, a < b, no pair twice."""
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    order = np.argsort(y, kind="stable")
    starts = np.r_[np.flatnonzero(np.r_[True, np.diff(y[order]) != 0]), len(y)] if len(y) else np.zeros(1, np.int64)
    ga, gb = class_pairs(order.astype(np.int64), starts.astype(np.int64))
    ga, gb = np.minimum(ga, gb), np.maximum(ga, gb)
    rng = np.random.default_rng(seed)
    if len(ga) > max_genuine:
        keep = np.sort(rng.choice(len(ga), max_genuine, replace=False))
        ga, gb = ga[keep], gb[keep]
    n = len(y)
    n_imp = n * (n - 1) // 2 - int((np.bincount(y) * (np.bincount(y) - 1) // 2).sum())
    if n_imp <= max_impostor:
        i, j = np.triu_indices(n, 1)
        ok = y[i] != y[j]
        ia, ib = i[ok], j[ok]
    else:
        seen: set[tuple[int, int]] = set()
        while len(seen) < max_impostor:
            a, b = rng.integers(0, n, 2 * max_impostor), rng.integers(0, n, 2 * max_impostor)
            for p, q in zip(np.minimum(a, b), np.maximum(a, b), strict=True):
                if y[p] != y[q] and (p, q) not in seen:
                    seen.add((int(p), int(q)))
                    if len(seen) == max_impostor:
                        break
        ia, ib = (np.array(v, np.int64) for v in zip(*sorted(seen), strict=True))
    same = np.r_[np.ones(len(ga), bool), np.zeros(len(ia), bool)]
    return np.r_[ga, ia].astype(np.int64), np.r_[gb, ib].astype(np.int64), same


def listed_distances(vectors: np.ndarray, a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Exact float64 distances of the pairs (a[k], b[k]) under ``metric``."""
    x, base = prepare(np.asarray(vectors), metric)
    return pair_distances(x, a, b, base)
