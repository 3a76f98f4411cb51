"""One table of distances: each module's choices come from it, and each entry is what it says."""

import hnswlib
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from explorer.analysis import clustering, kernels, metrics, neighbors, pairs
from explorer.analysis.distances import pairwise


def test_every_module_offers_what_the_table_says():
    assert metrics.METRICS == ("euclidean", "sqeuclidean", "cosine", "manhattan", "mahalanobis")
    assert metrics.INDEX_METRICS == ("euclidean", "sqeuclidean", "cosine")
    assert neighbors.HnswIndex.SPACES == {"euclidean": "l2", "sqeuclidean": "l2", "cosine": "cosine"}
    assert set(kernels.FORMS) == {"euclidean", "sqeuclidean", "cosine"}
    assert [kernels.FORMS[n] for n in ("euclidean", "sqeuclidean", "cosine")] == [
        kernels.FORM_EUCLIDEAN,
        kernels.FORM_SQEUCLIDEAN,
        kernels.FORM_COSINE,
    ]
    assert metrics.cluster_metrics("kmeans") == ("euclidean", "cosine")
    assert metrics.cluster_metrics("agglomerative", "ward") == ("euclidean", "cosine")
    assert metrics.cluster_metrics("agglomerative", "average") == ("euclidean", "cosine", "manhattan")
    for bad, call in (
        ("manhattan", lambda m: neighbors.BruteForceIndex(m)),
        ("sqeuclidean", lambda m: clustering.cluster(np.eye(3), n_clusters=2, metric=m)),
        ("hamming", lambda m: pairwise(np.eye(3), metric=m)),
    ):
        with pytest.raises(ValueError, match=f"unknown metric '{bad}'"):
            call(bad)


def test_each_base_distance_code_computes_that_distance():
    """The compiled kernels' code of each base distance against scipy (cosine: 1 - cos)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5))
    a, b = rng.integers(0, 30, 40), rng.integers(0, 30, 40)
    scipy_name = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "cosine": "cosine", "manhattan": "cityblock"}
    for name in metrics.BASE_METRICS:
        prepared = x / np.linalg.norm(x, axis=1, keepdims=True) if name == "cosine" else x
        want = cdist(x, x, scipy_name[name])[a, b]
        np.testing.assert_allclose(pairs.pair_distances(prepared, a, b, name), want, atol=1e-12)


def test_the_hnsw_space_of_each_index_metric_orders_as_the_metric():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    for name in metrics.INDEX_METRICS:
        index = hnswlib.Index(space=metrics.TABLE[name].hnsw_space, dim=8)
        index.init_index(max_elements=200, ef_construction=200, M=16)
        index.add_items(x)
        index.set_ef(200)
        _, got = index.knn_query(x[:20], k=10)  # (labels, distances)
        want = np.sort(pairwise(x[:20], x, metric=name), axis=1)[:, :10]
        if name == "euclidean":
            want = want**2  # hnswlib's "l2" is squared
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
