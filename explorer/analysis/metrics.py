"""The table of distances: every module that takes a ``metric`` reads what it may do here.

Smaller distance = more similar, always. ``cosine`` is 1 - cos. ``mahalanobis`` is euclidean after
whitening by the embeddings' (Ledoit-Wolf shrunk) covariance (``distances.prepare``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    base: str  # the plain distance its pairs are counted in once prepared (distances.prepare)
    code: int | None  # the compiled kernels' number for a base distance (None: not a base)
    from_dots: bool  # a base that the pair kernels compute from dot products and squared norms
    hnsw_space: str | None  # hnswlib's space for a neighbour index (its "l2" is squared); None: no index
    kmeans: bool  # k-means can cluster under it (cosine: k-means on unit rows)
    agglomerative: bool  # agglomerative clustering can (ward needs euclidean, or cosine as unit rows)


TABLE: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("euclidean", "euclidean (L2)", "euclidean", 0, True, "l2", True, True),
        Metric("sqeuclidean", "squared euclidean", "sqeuclidean", 1, True, "l2", False, False),
        Metric("cosine", "cosine distance, 1 - cos", "cosine", 2, True, "cosine", True, True),
        Metric("manhattan", "manhattan (L1)", "manhattan", 3, False, None, False, True),
        Metric("mahalanobis", "mahalanobis (shrunk covariance)", "euclidean", None, False, None, False, False),
    )
}

METRICS = tuple(TABLE)  # for pair statistics: all of them
BASE_METRICS = tuple(n for n, m in TABLE.items() if m.code is not None)
INDEX_METRICS = tuple(n for n, m in TABLE.items() if m.hnsw_space)  # neighbour search, maps, retrieval
CLUSTER_METRICS = tuple(n for n, m in TABLE.items() if m.kmeans or m.agglomerative)


def check_metric(metric: str, allowed: tuple[str, ...] = METRICS, *, what: str = "") -> Metric:
    """The metric's entry, or ValueError naming the ones ``allowed`` (for ``what``, when said)."""
    if metric not in allowed:
        scope = f" {what}" if what else ""
        raise ValueError(f"unknown metric {metric!r}{scope}; choose one of {', '.join(allowed)}")
    return TABLE[metric]


def cluster_metrics(method: str, linkage: str = "ward") -> tuple[str, ...]:
    """The distances a clustering method (and linkage) can use."""
    if method == "kmeans" or linkage == "ward":
        return tuple(n for n, m in TABLE.items() if m.kmeans)
    return tuple(n for n, m in TABLE.items() if m.agglomerative)
