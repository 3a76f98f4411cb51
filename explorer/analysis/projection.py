"""2D / 3D maps of an embedding: PCA (instant) and UMAP on our own neighbour graph.

UMAP here: the k-nearest-neighbour graph is exact up to 20k items (our BruteForceIndex) and
NN-descent beyond (pynndescent, which umap-learn itself uses: deterministic for a seed and a
thread count, unlike a multi-threaded HNSW build, and 5x faster than one at 50k items); umap-learn's
fuzzy graph is built from it (``fuzzy_graph``); the layout is ours (``umap_layout``: parallel and reproducible);
it starts from the PCA map instead of a spectral embedding. Beyond ``pca_dims`` dimensions a graph
built here is built on PCA-reduced vectors. A short run gives a first picture; a second run goes
on from it. The same ``random_state`` gives the same coordinates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from explorer.analysis.fuzzy_graph import fuzzy_graph
from explorer.analysis.metrics import INDEX_METRICS, check_metric
from explorer.analysis.neighbors import build_index, check_vectors, drop_excluded
from explorer.analysis.umap_layout import Layout
from explorer.compute import cache_compiled, heavy
from explorer.config import EXACT_SEARCH_UP_TO

GRAPH_KINDS = ("exact", "hnsw", "nndescent")
GRAPH_THREADS = 2  # NN-descent's result depends on its thread count: fixed, so a seed gives one map


def project_pca(vectors: np.ndarray, *, n_components: int = 2, random_state: int = 0) -> np.ndarray:
    """(N, n_components) float32 PCA coordinates (randomized SVD beyond 10k items)."""
    x = np.asarray(vectors, np.float32)
    k = min(n_components, x.shape[1], len(x))
    solver = "randomized" if len(x) > 10_000 else "full"
    with heavy(blas_threads=1):  # one BLAS thread: the same bits whatever else runs
        out = PCA(k, svd_solver=solver, random_state=random_state).fit_transform(x).astype(np.float32)
    if k < n_components:  # fewer dimensions than asked: pad with zeros
        out = np.pad(out, ((0, 0), (0, n_components - k)))
    return out


@dataclass(frozen=True)
class KnnGraph:
    """Each item's k nearest (itself first, at distance 0), as umap-learn's precomputed_knn wants."""

    indices: np.ndarray
    distances: np.ndarray
    metric: str


def knn_graph(
    vectors: np.ndarray, *, k: int = 15, metric: str = "euclidean", kind: str | None = None, random_state: int = 0
) -> KnnGraph:
    """Each item's k nearest: ``kind`` "exact" (default up to 20k items), "nndescent" (default
    beyond) or "hnsw" (fast too, but its multi-threaded build is not reproducible)."""
    check_metric(metric, INDEX_METRICS, what="for a neighbour graph")
    kind = kind or ("exact" if len(vectors) <= EXACT_SEARCH_UP_TO else "nndescent")
    if kind not in GRAPH_KINDS:
        raise ValueError(f"unknown graph kind {kind!r}; choose one of {', '.join(GRAPH_KINDS)}")
    rows = np.arange(len(vectors))
    k = min(k, len(vectors))
    with heavy(blas_threads=1):  # float32 products give other last bits with other BLAS threads: UMAP would too
        if kind == "nndescent":
            x = check_vectors(vectors, dim=None, metric=metric)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numba: "cannot cache ... dynamic globals", known
                idx, d = nndescent()(
                    x, metric=metric, n_neighbors=min(k + 1, len(x)), random_state=random_state, n_jobs=GRAPH_THREADS
                ).neighbor_graph
            d, nb = drop_excluded(d.astype(np.float32), idx.astype(np.int64), rows, k - 1)
        else:
            index = build_index(vectors, metric=metric, kind=kind)
            d, nb = index.query(vectors, k - 1, exclude=rows)
    return KnnGraph(np.c_[rows, nb].astype(np.int64), np.c_[np.zeros(len(rows)), d].astype(np.float32), metric)


def nndescent():
    """pynndescent's NNDescent, its compiled functions cached on disk where numba can (pynndescent
    does not ask for it: 35 s of compiling at every server start, 14 s with this)."""
    import pynndescent.pynndescent_ as pn
    import pynndescent.rp_trees as rp
    import pynndescent.utils as pu

    cache_compiled(pn, pu, rp)
    return pn.NNDescent


def default_epochs(n_items: int) -> int:
    """200 epochs at every size (umap-learn takes 500 up to 10k items): started from the PCA map,
    10k x 64 blobs lose 0.001 of trustworthiness (0.9779 against 0.9788) in a third of the time."""
    return 200


def _reduced(vectors: np.ndarray, pca_dims: int, random_state: int) -> np.ndarray:
    x = np.asarray(vectors, np.float32)
    return project_pca(x, n_components=pca_dims, random_state=random_state) if x.shape[1] > pca_dims else x


def project_umap(
    vectors: np.ndarray,
    *,
    n_components: int = 2,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "euclidean",
    random_state: int | None = 0,
    n_epochs: int | None = None,
    graph: KnnGraph | None = None,
    init: np.ndarray | None = None,
    pca_dims: int = 50,
    progress=None,
) -> np.ndarray:
    """(N, n_components) float32 UMAP coordinates.

    graph: our kNN graph (built here when None, on PCA-reduced vectors beyond ``pca_dims``; its k
    must be at least n_neighbors); init: start coordinates (default: the PCA map); n_epochs: None
    takes ``default_epochs``; progress(fraction) is called as epochs finish.
    """
    if len(vectors) <= n_neighbors:
        raise ValueError(f"UMAP needs more items than n_neighbors ({n_neighbors}); there are {len(vectors)}")
    if not 1 <= n_components <= 3:
        raise ValueError(f"a map has 1 to 3 dimensions, not {n_components}")
    seed = 0 if random_state is None else int(random_state)
    x = _reduced(vectors, pca_dims, seed) if graph is None or init is None else None
    if graph is None:
        graph = knn_graph(x, k=n_neighbors, metric=metric, random_state=seed)
    if graph.indices.shape[1] < n_neighbors:
        raise ValueError(f"the graph holds {graph.indices.shape[1]} neighbours per item; n_neighbors is {n_neighbors}")
    if init is None:
        init = project_pca(x, n_components=n_components, random_state=seed)
    fuzzy = fuzzy_graph(graph.indices[:, :n_neighbors], graph.distances[:, :n_neighbors])
    layout = Layout(
        fuzzy, init, min_dist=min_dist, n_epochs=n_epochs or default_epochs(len(vectors)), random_state=seed
    )
    return layout.run(progress=progress)


def trustworthiness(
    vectors: np.ndarray, coords: np.ndarray, *, n_neighbors: int = 5, sample: int = 3000, random_state: int = 0
) -> float:
    """sklearn's trustworthiness of a map, on a random sample of items beyond ``sample``."""
    from sklearn.manifold import trustworthiness as tw

    rng = np.random.default_rng(random_state)
    idx = rng.choice(len(vectors), sample, replace=False) if len(vectors) > sample else np.arange(len(vectors))
    return float(tw(np.asarray(vectors)[idx], np.asarray(coords)[idx], n_neighbors=n_neighbors))
