"""Clustering and its scores against scikit-learn and hand loops."""

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.datasets import make_blobs

from explorer.analysis.clustering import (
    against_labels,
    cluster,
    contingency,
    k_sweep,
    purity,
    silhouette,
    suggest_k,
    sweep_range,
)

X, Y = make_blobs(n_samples=400, centers=5, n_features=8, cluster_std=1.0, random_state=0)


def test_kmeans_is_sklearns():
    res = cluster(X, method="kmeans", n_clusters=5, random_state=0)
    ref = KMeans(n_clusters=5, n_init=3, random_state=0).fit_predict(X)
    assert skm.adjusted_rand_score(res.labels, ref) == 1.0


@pytest.mark.parametrize("linkage", ["ward", "average", "complete", "single"])
def test_agglomerative_is_sklearns(linkage):
    res = cluster(X, method="agglomerative", n_clusters=5, linkage=linkage)
    ref = AgglomerativeClustering(n_clusters=5, linkage=linkage).fit_predict(X)
    assert skm.adjusted_rand_score(res.labels, ref) == 1.0


def test_connectivity_graph_for_large_sets_still_finds_blobs():
    x, y = make_blobs(n_samples=3000, centers=4, n_features=8, random_state=1)
    res = cluster(x, method="agglomerative", n_clusters=4, large=1000)
    assert res.settings["connectivity_k"] == 10 and skm.adjusted_rand_score(y, res.labels) > 0.95


def test_scores_against_sklearn_and_a_hand_loop():
    pred = cluster(X, n_clusters=6).labels
    s = against_labels(Y, pred)
    assert s["NMI"] == pytest.approx(skm.normalized_mutual_info_score(Y, pred))
    assert s["AMI"] == pytest.approx(skm.adjusted_mutual_info_score(Y, pred))
    assert s["ARI"] == pytest.approx(skm.adjusted_rand_score(Y, pred))
    assert s["homogeneity"] == pytest.approx(skm.homogeneity_score(Y, pred))
    assert s["completeness"] == pytest.approx(skm.completeness_score(Y, pred))
    hand = sum(max(np.sum((pred == c) & (t == Y)) for t in set(Y)) for c in set(pred)) / len(Y)
    assert purity(Y, pred) == pytest.approx(hand)
    table = contingency(pred, Y)
    assert table.to_numpy().sum() == len(Y) and table.loc[pred[0], str(Y[0])] >= 1


def test_sweep_suggests_the_true_k_and_silhouette_matches_sklearn():
    sweep = k_sweep(X, range(2, 9))
    assert suggest_k(sweep) == 5 and list(sweep["k"]) == list(range(2, 9))
    pred = cluster(X, n_clusters=5).labels
    assert silhouette(X, pred) == pytest.approx(skm.silhouette_score(X, pred))


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"n_clusters": 1}, "between 2"),
        ({"method": "dbscan"}, "unknown method"),
        ({"method": "agglomerative", "linkage": "median"}, "unknown linkage"),
        ({"method": "agglomerative", "metric": "manhattan"}, "ward"),
        ({"metric": "hamming"}, "unknown metric"),
    ],
)
def test_bad_settings_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        cluster(X, **kw)


@pytest.mark.parametrize(
    "n_items, n_labels, expected",
    [
        (400, 40, (50, 45)),  # the AT&T faces: the sweep reaches past their 40 identities
        (1797, 10, (30, 20)),  # the digits: as before
        (10_000, 1_000, (200, 60)),  # thousands of identities: capped, and not swept to the cap by default
        (3, 2, (3, 2)),  # tiny: k stays below the number of items by default
    ],
)
def test_sweep_range_reaches_past_the_number_of_labels(n_items, n_labels, expected):
    assert sweep_range(n_items, n_labels) == expected


def test_sweep_fits_each_k_once_on_a_seeded_sample_beyond_fit_items():
    """Oracle: sklearn's KMeans (one k-means++ start, float32) and silhouette on the same sample."""
    from sklearn.cluster import KMeans

    x, _ = make_blobs(n_samples=3000, centers=4, n_features=6, random_state=1)
    sweep = k_sweep(x, [3, 4, 5], fit_items=1000, sample=500)
    xs = x[np.sort(np.random.default_rng(0).choice(3000, 1000, replace=False))].astype(np.float32)
    for k, s in zip(sweep["k"], sweep["silhouette"], strict=True):
        lab = KMeans(n_clusters=k, n_init=1, random_state=0).fit_predict(xs)
        assert s == pytest.approx(skm.silhouette_score(xs, lab, sample_size=500, random_state=0), abs=1e-5)
    assert suggest_k(sweep) == 4


def test_kmeans_beyond_five_thousand_items_takes_one_float32_start():
    from sklearn.cluster import KMeans

    x, _ = make_blobs(n_samples=6_000, centers=6, n_features=4, random_state=2)
    res = cluster(x, n_clusters=6)
    want = KMeans(n_clusters=6, n_init=1, random_state=0).fit_predict(x.astype(np.float32))
    np.testing.assert_array_equal(res.labels, want)


def test_kmeans_beyond_fifty_thousand_items_is_sklearns_mini_batch():
    from sklearn.cluster import MiniBatchKMeans

    x, _ = make_blobs(n_samples=60_000, centers=5, n_features=4, random_state=3)
    res = cluster(x, n_clusters=5)
    want = MiniBatchKMeans(
        n_clusters=5, n_init=1, random_state=0, batch_size=8192, init_size=3000, max_no_improvement=5
    ).fit_predict(x.astype(np.float32))
    np.testing.assert_array_equal(res.labels, want)
    assert res.settings["algorithm"] == "MiniBatchKMeans"


def test_the_heatmap_reads_labels_in_the_maps_order():
    from explorer.analysis.clustering import contingency
    from explorer.plots import contingency_heatmap

    labels = np.array([f"s{k}" for k in (10, 2, 1, 11, 3, 2, 10)])
    t = contingency(np.array([0, 1, 1, 0, 2, 1, 0]), labels)
    heat = contingency_heatmap(t).data[0]
    assert list(heat.x) == ["s1", "s2", "s3", "s10", "s11"]  # not s1, s10, s11, s2, s3
    assert heat.z[list(heat.y).index("cluster 0")][3] == 2  # s10 twice in cluster 0: counts follow their label
