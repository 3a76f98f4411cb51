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


def test_nndescent_graph_is_reproducible_and_close_to_exact():
    exact = knn_graph(X, k=10, kind="exact")
    a = knn_graph(X, k=10, kind="nndescent")
    b = knn_graph(X, k=10, kind="nndescent")
    np.testing.assert_array_equal(a.indices, b.indices)
    assert (a.indices[:, 0] == np.arange(len(X))).all() and (a.distances[:, 0] == 0).all()
    recall = np.mean([len(set(p[1:]) & set(q[1:])) / 9 for p, q in zip(a.indices, exact.indices, strict=True)])
    assert recall > 0.95
    # its distances are the true ones for the neighbours it found
    d = np.linalg.norm(X[a.indices[:, 1:]] - X[:, None, :], axis=2)
    np.testing.assert_allclose(a.distances[:, 1:], d, rtol=1e-4, atol=1e-4)


def test_layout_is_the_same_on_any_thread_count_and_in_any_chunks():
    from explorer.analysis.fuzzy_graph import fuzzy_graph
    from explorer.analysis.umap_layout import Layout

    g = knn_graph(X, k=15)
    fuzzy = fuzzy_graph(g.indices, g.distances)
    init = project_pca(X)
    one = Layout(fuzzy, init, n_epochs=60, random_state=3).run(threads=1)
    two = Layout(fuzzy, init, n_epochs=60, random_state=3).run(threads=2)
    chunked = Layout(fuzzy, init, n_epochs=60, random_state=3).run(threads=2, chunk=7)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, chunked)


@pytest.mark.parametrize("k", [5, 15, 40])
def test_fuzzy_graph_is_umap_learns(k):
    """Oracle: umap-learn's fuzzy_simplicial_set on the same kNN graph (with a duplicated item, so
    some rows have a zero distance after the first)."""
    from umap.umap_ import fuzzy_simplicial_set, smooth_knn_dist

    from explorer.analysis import fuzzy_graph as fg

    x = np.r_[X, X[:3]]
    g = knn_graph(x, k=k)
    want, sigma, rho = fuzzy_simplicial_set(
        np.empty((len(x), 0)), k, np.random.RandomState(0), "euclidean", knn_indices=g.indices, knn_dists=g.distances
    )
    got = fg.fuzzy_graph(g.indices, g.distances)
    s, r = fg.smooth_knn_dist(g.distances, float(k))
    np.testing.assert_array_equal(r, rho)
    np.testing.assert_allclose(s, sigma, rtol=1e-4)
    np.testing.assert_allclose(s, smooth_knn_dist(g.distances.astype(np.float32), float(k))[0], rtol=1e-4)
    want = want.tocsr()
    want.sort_indices()
    assert got.dtype == np.float32 and (got != got.T).nnz == 0
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_allclose(got.data, want.data, rtol=1e-4, atol=1e-6)


def test_curve_parameters_and_epochs_are_umap_learns():
    from umap.umap_ import find_ab_params, make_epochs_per_sample

    from explorer.analysis import fuzzy_graph as fg

    for spread, min_dist in [(1.0, 0.1), (1.0, 0.0), (2.0, 0.5), (1.0, 0.99)]:
        np.testing.assert_allclose(fg.find_ab_params(spread, min_dist), find_ab_params(spread, min_dist), rtol=1e-9)
    w = np.random.default_rng(0).random(1000).astype(np.float32)
    w[:5] = 0
    np.testing.assert_array_equal(fg.epochs_per_sample(w, 200), make_epochs_per_sample(w, 200))


def test_a_map_needs_no_umap_learn_import():
    """umap-learn imports pynndescent, which compiles for 25 s in a fresh install: a map up to the
    exact-graph size must not import it."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from explorer.analysis.projection import project_umap\n"
        "project_umap(np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32), n_epochs=5)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('umap', 'pynndescent')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_coefficient_tables_follow_the_formula():
    """The layout interpolates UMAP's gradient coefficients in a table: check it against the formula."""
    import numba

    from explorer.analysis.umap_layout import HI_EXP, LO_EXP, _lookup, coefficient_tables

    a, b, gamma = 1.577, 0.895, 1.0
    attract, repel = coefficient_tables(a, b, gamma)
    lookup = numba.njit(lambda t, v: _lookup(t, v))
    d2 = np.float32(np.geomspace(2.0**LO_EXP * 1.001, 2.0**HI_EXP * 0.999, 20_000))
    got_a = np.array([lookup(attract, v) for v in d2])
    got_r = np.array([lookup(repel, v) for v in d2])
    x = d2.astype(np.float64)
    want_a = -2 * a * b * x ** (b - 1) / (a * x**b + 1)
    want_r = 2 * gamma * b / ((0.001 + x) * (a * x**b + 1))
    assert np.max(np.abs(got_a / want_a - 1)) < 1e-4
    assert np.max(np.abs(got_r / want_r - 1)) < 1e-4


def test_layout_as_trustworthy_as_umap_learns_own():
    """Oracle: umap-learn's layout on the same graph and start."""
    import umap

    g = knn_graph(X, k=15)
    init = project_pca(X).astype(np.float64)
    stock = umap.UMAP(random_state=0, n_epochs=200, init=init, precomputed_knn=(g.indices, g.distances)).fit_transform(
        X
    )
    ours = project_umap(X, graph=g, init=init, n_epochs=200)
    assert trustworthiness(X, ours) > trustworthiness(X, stock) - 0.01


def test_umap_rejects_bad_shapes():
    with pytest.raises(ValueError, match="1 to 3"):
        project_umap(X, n_components=4)
    g = knn_graph(X, k=5)
    with pytest.raises(ValueError, match="neighbours per item"):
        project_umap(X, graph=g, n_neighbors=15)
