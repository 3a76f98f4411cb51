"""Distances, named explicitly; smaller distance = more similar.

``euclidean``, ``sqeuclidean``, ``cosine`` (1 - cos), ``manhattan`` and ``mahalanobis`` (the
covariance of the embeddings, Ledoit-Wolf shrunk, applied as whitening then euclidean).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.covariance import LedoitWolf

from explorer.analysis.metrics import check_metric


def whitener(x: np.ndarray) -> np.ndarray:
    """L with L L^T = the Ledoit-Wolf shrunk precision: (x_i - x_j) P (x_i - x_j)^T = ||(x_i - x_j) L||^2."""
    precision = LedoitWolf().fit(x).precision_
    return np.linalg.cholesky((precision + precision.T) / 2)


def prepare(vectors: np.ndarray, metric: str) -> tuple[np.ndarray, str]:
    """Transform vectors once so that every later block is a plain euclidean/cosine/manhattan.

    Returns (transformed float64 (N, D), base metric). Mahalanobis becomes euclidean after
    whitening with the Cholesky factor of the shrunk precision; cosine rows are L2-normalised.
    """
    check_metric(metric)
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"vectors must be (N, D), got shape {x.shape}")
    if metric == "mahalanobis":
        return x @ whitener(x), "euclidean"
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError("cosine distance is undefined for all-zero vectors")
        return x / norms, "cosine"
    return x, metric


def block_distances(a: np.ndarray, b: np.ndarray, base: str) -> np.ndarray:
    """(len(a), len(b)) distances between prepared rows (see :func:`prepare`)."""
    if base in ("euclidean", "sqeuclidean"):
        # ||a||^2 + ||b||^2 - 2ab through BLAS; clipped at 0 against rounding.
        d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
        np.maximum(d, 0.0, out=d)
        return np.sqrt(d, out=d) if base == "euclidean" else d
    if base == "cosine":
        return np.clip(1.0 - a @ b.T, 0.0, 2.0)
    return cdist(a, b, "cityblock")


def pairwise(a: np.ndarray, b: np.ndarray | None = None, *, metric: str = "euclidean") -> np.ndarray:
    """Distances between rows of ``a`` and ``b`` (or ``a`` and itself) under ``metric``.

    For mahalanobis the covariance is estimated from ``a`` (the embeddings).
    """
    check_metric(metric)
    if metric == "mahalanobis":
        chol = whitener(np.asarray(a, np.float64))
        pa = np.asarray(a, np.float64) @ chol
        pb = pa if b is None else np.asarray(b, np.float64) @ chol
        return block_distances(pa, pb, "euclidean")
    pa, base = prepare(a, metric)
    pb = pa if b is None else prepare(b, metric)[0]
    return block_distances(pa, pb, base)
