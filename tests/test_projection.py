"""Maps: PCA against sklearn, UMAP trustworthiness and determinism, the kNN graph against brute force."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA

from explorer.analysis.distances import pairwise
from explorer.analysis.projection import knn_graph, project_pca, project_umap, trustworthiness

X, Y = make_blobs(n_samples=600, centers=6, n_features=20, cluster_std=2.0, random_state=0)
X = X.astype(np.float32)


def test_pca_is_sklearns_and_pads():
    ours = project_pca(X, n_components=3)
    ref = PCA(3, svd_solver="full", random_state=0).fit_transform(X)
    np.testing.assert_allclose(np.abs(ours), np.abs(ref), rtol=1e-3, atol=1e-3)  # signs are arbitrary
    assert project_pca(X[:, :1], n_components=2).shape == (600, 2)


def test_knn_graph_has_self_first_and_true_neighbours():
    g = knn_graph(X, k=6)
    assert (g.indices[:, 0] == np.arange(len(X))).all() and (g.distances[:, 0] == 0).all()
    d = pairwise(X.astype(np.float64))
    np.fill_diagonal(d, np.inf)
    np.testing.assert_array_equal(np.sort(g.indices[:, 1:], axis=1), np.sort(np.argsort(d, axis=1)[:, :5], axis=1))


def test_umap_is_trustworthy_and_deterministic():
    a = project_umap(X, random_state=0, n_epochs=100)
    b = project_umap(X, random_state=0, n_epochs=100)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (600, 2) and a.dtype == np.float32
    assert trustworthiness(X, a) > 0.9
    c = project_umap(X, random_state=1, n_epochs=100)
    assert not np.array_equal(a, c)


def test_umap_3d_and_cosine_and_too_few_items():
    e = project_umap(X, n_components=3, metric="cosine", n_epochs=50)
    assert e.shape == (600, 3) and np.isfinite(e).all()
    with pytest.raises(ValueError, match="more items"):
        project_umap(X[:10])


def test_same_map_while_other_heavy_work_runs():
    """BLAS thread counts are process-wide: another visitor's all-pairs pass must not change a map."""
    import threading

    from explorer.analysis.pairs import all_pairs

    ref = project_umap(X, random_state=0, n_epochs=30)
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            all_pairs(X, Y, bins=64)

    t = threading.Thread(target=busy)
    t.start()
    try:
        again = [project_umap(X, random_state=0, n_epochs=30) for _ in range(2)]
    finally:
        stop.set()
        t.join()
    assert all(np.array_equal(ref, a) for a in again)
