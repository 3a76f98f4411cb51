"""Nearest-neighbour search behind one small interface: ``add`` vectors, ``query`` the k nearest.

Two backends: :class:`BruteForceIndex` (exact; blocked matrix products, never an N x N matrix)
and :class:`HnswIndex` (approximate, hnswlib). Distances are returned in the units of the named
metric (``euclidean``, ``sqeuclidean``, ``cosine`` = 1 - cos), nearest first. hnswlib's "l2"
space is the squared distance, so euclidean takes its square root; its "cosine" is 1 - cos.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from explorer.compute import heavy

INDEX_METRICS = ("euclidean", "sqeuclidean", "cosine")


class NeighborIndex(Protocol):
    metric: str

    def add(self, vectors: np.ndarray) -> None: ...

    def query(self, vectors: np.ndarray, k: int, *, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(distances, indices), each (len(vectors), k), nearest first. ``exclude[i]`` is an index
        that row i must not get back (itself, when the queries are the indexed items), or -1."""
        ...

    def __len__(self) -> int: ...


def check_vectors(vectors: np.ndarray, *, dim: int | None, metric: str) -> np.ndarray:
    """float32 (n, D) rows that an index can hold: finite, of the index's dimension, and of
    non-zero norm for cosine. Raises ValueError naming the first bad rows."""
    if metric not in INDEX_METRICS:
        raise ValueError(f"unknown metric {metric!r}; an index supports {', '.join(INDEX_METRICS)}")
    x = np.ascontiguousarray(vectors, np.float32)
    if x.ndim != 2:
        raise ValueError(f"vectors must be (n, D), got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"vectors have {x.shape[1]} dimensions, the index holds {dim}")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        raise ValueError(f"rows {bad[:10].tolist()} hold NaN or inf")
    if metric == "cosine":
        zero = np.flatnonzero(np.linalg.norm(x, axis=1) == 0)
        if len(zero):
            raise ValueError(f"rows {zero[:10].tolist()} are all zero: cosine distance is undefined for them")
    return x


def drop_excluded(d: np.ndarray, idx: np.ndarray, exclude: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From k + 1 results per row, drop the excluded index (else the farthest): k remain."""
    if exclude is None:
        return d[:, :k], idx[:, :k]
    hit = idx == exclude[:, None]
    drop = np.where(hit.any(axis=1), hit.argmax(axis=1), idx.shape[1] - 1)
    keep = np.ones(idx.shape, bool)
    keep[np.arange(len(idx)), drop] = False
    return d[keep].reshape(len(d), -1)[:, :k], idx[keep].reshape(len(idx), -1)[:, :k]


class BruteForceIndex:
    """Exact search: query blocks against all indexed rows by float32 matrix products (the rows
    are centred first, which keeps |a|^2 + |b|^2 - 2ab accurate in float32)."""

    def __init__(self, metric: str = "euclidean", *, block: int = 2048):
        check_vectors(np.zeros((0, 1)), dim=None, metric=metric)
        self.metric, self.block = metric, block
        self._raw = np.zeros((0, 0), np.float32)

    def __len__(self) -> int:
        return len(self._raw)

    def add(self, vectors: np.ndarray) -> None:
        x = check_vectors(vectors, dim=self._raw.shape[1] if len(self._raw) else None, metric=self.metric)
        if self.metric == "cosine":
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
        self._raw = x if not len(self._raw) else np.concatenate([self._raw, x])
        self._centre = self._raw.mean(0) if self.metric != "cosine" else np.zeros(self._raw.shape[1], np.float32)
        self._x = np.ascontiguousarray(self._raw - self._centre)
        self._sq = np.einsum("ij,ij->i", self._x, self._x)

    @property
    def rows(self) -> np.ndarray:
        """The indexed rows as products see them: unit rows for cosine, centred otherwise (float32)."""
        return self._x

    @property
    def squared_norms(self) -> np.ndarray:
        return self._sq

    def prepare(self, vectors: np.ndarray) -> np.ndarray:
        """Queries as products see them (like ``rows``)."""
        q = check_vectors(vectors, dim=self._raw.shape[1], metric=self.metric)
        if self.metric == "cosine":
            q = q / np.linalg.norm(q, axis=1, keepdims=True)
        return q - self._centre

    def query(self, vectors: np.ndarray, k: int, *, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = self.prepare(vectors)
        extra = 0 if exclude is None else 1
        kk = min(k + extra, len(self))
        out_d = np.empty((len(q), kk), np.float32)
        out_i = np.empty((len(q), kk), np.int64)
        for s in range(0, len(q), self.block):
            qb = q[s : s + self.block]
            d = qb @ self._x.T  # float32, in place from here on: blocks are large
            if self.metric == "cosine":
                np.subtract(1.0, d, out=d)
            else:
                d *= -2.0
                d += np.einsum("ij,ij->i", qb, qb)[:, None]
                d += self._sq[None, :]
                np.maximum(d, 0.0, out=d)
            part = np.argpartition(d, kk - 1, axis=1)[:, :kk] if kk < d.shape[1] else np.tile(np.arange(kk), (len(d), 1))
            pd = np.take_along_axis(d, part, axis=1)
            order = np.argsort(pd, axis=1, kind="stable")
            out_i[s : s + self.block] = np.take_along_axis(part, order, axis=1)
            out_d[s : s + self.block] = np.take_along_axis(pd, order, axis=1)
        if self.metric == "euclidean":
            np.sqrt(out_d, out=out_d)
        return drop_excluded(out_d, out_i, exclude, k)


class HnswIndex:
    """Approximate search with hnswlib. ``M``, ``ef_construction`` and ``ef`` trade build time
    and memory for recall; ``threads`` is explicit (this is a shared 2-core server)."""

    SPACES = {"euclidean": "l2", "sqeuclidean": "l2", "cosine": "cosine"}

    def __init__(self, metric: str = "euclidean", *, M: int = 16, ef_construction: int = 200, ef: int = 64,
                 threads: int = 2, random_state: int = 0):
        check_vectors(np.zeros((0, 1)), dim=None, metric=metric)
        self.metric, self.M, self.ef_construction, self.ef = metric, M, ef_construction, ef
        self.threads, self.random_state = threads, random_state
        self._index = None
        self._dim: int | None = None

    def __len__(self) -> int:
        return 0 if self._index is None else self._index.get_current_count()

    def add(self, vectors: np.ndarray) -> None:
        import hnswlib

        x = check_vectors(vectors, dim=self._dim, metric=self.metric)
        if self._index is None:
            self._dim = x.shape[1]
            self._index = hnswlib.Index(space=self.SPACES[self.metric], dim=self._dim)
            self._index.init_index(max_elements=max(len(x), 1), ef_construction=self.ef_construction, M=self.M,
                                   random_seed=self.random_state)
            self._index.set_num_threads(self.threads)
        start = len(self)
        if start + len(x) > self._index.get_max_elements():
            self._index.resize_index(start + len(x))
        with heavy(blas_threads=1):  # hnswlib's own threads do the work
            self._index.add_items(x, np.arange(start, start + len(x)))

    def query(self, vectors: np.ndarray, k: int, *, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = check_vectors(vectors, dim=self._dim, metric=self.metric)
        extra = 0 if exclude is None else 1
        kk = min(k + extra, len(self))
        self._index.set_ef(max(self.ef, kk))
        idx, d = self._index.knn_query(q, k=kk, num_threads=self.threads)
        d = np.maximum(d, 0)
        if self.metric == "euclidean":
            d = np.sqrt(d)
        return drop_excluded(d.astype(np.float32), idx.astype(np.int64), exclude, k)


def build_index(vectors: np.ndarray, *, metric: str = "euclidean", kind: str = "exact", **options) -> NeighborIndex:
    """An index of ``vectors``: ``kind`` "exact" (BruteForceIndex) or "hnsw" (HnswIndex)."""
    if kind not in ("exact", "hnsw"):
        raise ValueError(f"unknown index kind {kind!r}; choose 'exact' or 'hnsw'")
    index = BruteForceIndex(metric, **options) if kind == "exact" else HnswIndex(metric, **options)
    index.add(vectors)
    return index
