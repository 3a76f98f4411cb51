"""Retrieval metrics of an embedding (Musgrave et al., "A Metric Learning Reality Check", 2020).

Every item queries all the others. For an item of a class with n items, R = n - 1:
- Precision@1: the nearest other item shares the label;
- R-Precision: the share of the R nearest that share the label;
- MAP@R: mean over the first R ranks of precision@i at the ranks that share the label, / R.
Queries in classes of one item (R = 0) have nothing to retrieve and are left out of all three,
as in pytorch-metric-learning's AccuracyCalculator. Neighbours come from a
NeighborIndex in query batches, so memory is batch x max(R), never N x N.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.analysis.neighbors import NeighborIndex, build_index


@dataclass(frozen=True)
class RetrievalResult:
    """Overall figures and one row per class (class, items, precision_at_1, r_precision, map_at_r)."""

    precision_at_1: float
    r_precision: float
    map_at_r: float
    per_class: pd.DataFrame
    k: int


def _batch_metrics(nb_labels: np.ndarray, q_labels: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
    rel = nb_labels == q_labels[:, None]
    ranks = np.arange(1, rel.shape[1] + 1)
    within = ranks[None, :] <= r[:, None]
    hits = np.cumsum(rel & within, axis=1)
    rr = np.maximum(r, 1)
    r_prec = hits[:, -1] / rr
    map_r = ((rel & within) * (hits / ranks[None, :])).sum(axis=1) / rr
    return rel[:, 0].astype(float), r_prec, map_r


def retrieval_metrics(vectors: np.ndarray, labels: np.ndarray, *, metric: str = "euclidean",
                      index: NeighborIndex | None = None, batch: int = 512,
                      progress: Callable[[float, str], None] | None = None) -> RetrievalResult:
    """Precision@1, R-Precision and MAP@R of every item against all others, overall and per class.

    ``index`` must hold ``vectors`` in order (default: an exact index is built).
    """
    labels = np.asarray(labels).astype(str)
    classes, y, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(vectors) < 2:
        raise ValueError("retrieval needs at least two items")
    r_all = counts[y] - 1
    k = int(max(r_all.max(), 1))
    index = index if index is not None else build_index(vectors, metric=metric)
    p1, rp, mr = (np.zeros(len(y)) for _ in range(3))
    for s in range(0, len(y), batch):
        rows = np.arange(s, min(s + batch, len(y)))
        _, nb = index.query(vectors[rows], k, exclude=rows)
        p1[rows], rp[rows], mr[rows] = _batch_metrics(y[nb], y[rows], r_all[rows])
        if progress:
            progress(min(1.0, (s + batch) / len(y)), f"retrieval: {min(s + batch, len(y)):,} of {len(y):,} items")
    has = r_all > 0
    frame = pd.DataFrame({"class": classes, "items": counts,
                          "precision_at_1": np.where(counts > 1, np.bincount(y, p1, len(classes)) / counts, np.nan),
                          "r_precision": np.where(counts > 1, np.bincount(y, rp * has, len(classes)) / counts, np.nan),
                          "map_at_r": np.where(counts > 1, np.bincount(y, mr * has, len(classes)) / counts, np.nan)})
    if not has.any():
        raise ValueError("every class has a single item: there is nothing to retrieve")
    return RetrievalResult(float(p1[has].mean()), float(rp[has].mean()), float(mr[has].mean()), frame, k)
