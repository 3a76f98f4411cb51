"""Retrieval metrics against pytorch-metric-learning's AccuracyCalculator; indexes against brute force."""

import numpy as np
import pytest
import torch
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import CustomKNN

from explorer.analysis.distances import pairwise
from explorer.analysis.neighbors import BruteForceIndex, HnswIndex, build_index
from explorer.analysis.retrieval import EPS32, retrieval_metrics, tie_scale

RNG = np.random.default_rng(0)


def _blobs(n=600, d=16, c=12, noise=1.2, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(c, d)) * 2
    y = rng.integers(0, c, n)
    return (centres[y] + noise * rng.normal(size=(n, d))).astype(np.float32), y


def _pml(x, y):
    calc = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        knn_func=CustomKNN(LpDistance(normalize_embeddings=False)),
        device=torch.device("cpu"),
    )
    t, ty = torch.from_numpy(x), torch.from_numpy(y)
    return calc.get_accuracy(t, ty, t, ty, ref_includes_query=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_metrics_equal_pml_accuracy_calculator(seed):
    x, y = _blobs(seed=seed)
    ours = retrieval_metrics(x, y, metric="euclidean", batch=97)
    ref = _pml(x, y)
    assert ours.precision_at_1 == pytest.approx(ref["precision_at_1"], abs=1e-6)
    assert ours.r_precision == pytest.approx(ref["r_precision"], abs=1e-6)
    assert ours.map_at_r == pytest.approx(ref["mean_average_precision_at_r"], abs=1e-6)


def test_per_class_rows_average_to_the_overall_figures():
    x, y = _blobs()
    res = retrieval_metrics(x, y)
    f = res.per_class
    assert f["items"].sum() == len(y)
    assert (f["precision_at_1"] * f["items"]).sum() / len(y) == pytest.approx(res.precision_at_1)
    with pytest.raises(ValueError, match="single item"):
        retrieval_metrics(x[:5], np.arange(5))
    assert (f["map_at_r"] * f["items"]).sum() / len(y) == pytest.approx(res.map_at_r)


def test_one_item_classes_are_left_out_of_r_metrics():
    x, y = _blobs(n=200)
    y = y.copy()
    y[:3] = [100, 101, 102]  # three singletons
    res = retrieval_metrics(x, y)
    f = res.per_class.set_index("class")
    assert np.isnan(f.loc["100", "map_at_r"]) and f.loc["100", "items"] == 1
    ref = _pml(x, y)
    assert res.map_at_r == pytest.approx(ref["mean_average_precision_at_r"], abs=1e-6)
    assert res.precision_at_1 == pytest.approx(ref["precision_at_1"], abs=1e-6)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_exact_index_against_full_matrix(metric):
    x, _ = _blobs(n=300)
    idx = build_index(x, metric=metric)
    d, nb = idx.query(x[:50], 5, exclude=np.arange(50))
    full = pairwise(x[:50].astype(np.float64), x.astype(np.float64), metric=metric)
    full[np.arange(50), np.arange(50)] = np.inf
    ref = np.argsort(full, axis=1)[:, :5]
    np.testing.assert_array_equal(nb, ref)
    np.testing.assert_allclose(d, np.take_along_axis(full, ref, axis=1), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_hnsw_recall_against_exact(metric):
    x, _ = _blobs(n=3000, d=32)
    exact = BruteForceIndex(metric)
    exact.add(x)
    hnsw = HnswIndex(metric, ef=100)
    hnsw.add(x[:1500])
    hnsw.add(x[1500:])  # grows
    assert len(hnsw) == 3000
    q = np.arange(0, 3000, 7)
    _, ne = exact.query(x[q], 10, exclude=q)
    dh, nh = hnsw.query(x[q], 10, exclude=q)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ne, nh, strict=True)])
    assert recall >= 0.98
    full = pairwise(x[q].astype(np.float64), x.astype(np.float64), metric=metric)
    np.testing.assert_allclose(dh, np.take_along_axis(full, nh, axis=1), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("bad,match", [(np.array([[1.0, np.nan]]), "NaN"), (np.zeros((1, 3)), "dimensions")])
def test_index_refuses_bad_vectors(bad, match):
    idx = BruteForceIndex("euclidean")
    idx.add(np.ones((2, 2)))
    with pytest.raises(ValueError, match=match):
        idx.add(bad)


def test_cosine_index_refuses_zero_rows_and_unknown_metric():
    with pytest.raises(ValueError, match="all zero"):
        HnswIndex("cosine").add(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unknown metric"):
        BruteForceIndex("manhattan")


def test_hnsw_index_saved_with_a_manifest_loads_only_when_it_matches(tmp_path):
    x, _ = _blobs(n=500, d=16)
    hnsw = HnswIndex("cosine", M=8, ef_construction=50, ef=80)
    hnsw.add(x)
    m = hnsw.save(tmp_path / "ix", model_hash="abc", refreshed_at=7)
    assert (m["dim"], m["space"], m["count"], m["model_hash"], m["refreshed_at"]) == (16, "cosine", 500, "abc", 7)
    back, why = HnswIndex.load(tmp_path / "ix", metric="cosine", dim=16, count=500, model_hash="abc", ef=80)
    assert why == "loaded" and len(back) == 500 and back.saved_manifest["checksum"] == m["checksum"]
    for a, b in zip(hnsw.query(x[:20], 5), back.query(x[:20], 5), strict=True):
        np.testing.assert_array_equal(a, b)  # the same graph: the same answers
    for wrong, field in [
        (dict(model_hash="other"), "model_hash"),
        (dict(count=499), "count"),
        (dict(dim=8), "dim"),
        (dict(metric="euclidean"), "metric"),
    ]:
        args = dict(metric="cosine", dim=16, count=500, model_hash="abc") | wrong
        index, why = HnswIndex.load(tmp_path / "ix", **args)
        assert index is None and field in why
    raw = bytearray((tmp_path / "ix" / "index.bin").read_bytes())
    raw[-1] ^= 0xFF  # a flipped bit
    (tmp_path / "ix" / "index.bin").write_bytes(bytes(raw))
    index, why = HnswIndex.load(tmp_path / "ix", metric="cosine", dim=16, count=500, model_hash="abc")
    assert index is None and "checksum" in why
    assert HnswIndex.load(tmp_path / "nothing", metric="cosine", dim=16, count=500)[0] is None


def test_metrics_through_hnsw_match_exact():
    x, y = _blobs(n=800)
    exact = retrieval_metrics(x, y)
    approx = retrieval_metrics(x, y, index=build_index(x, kind="hnsw", ef=200))
    assert approx.map_at_r == pytest.approx(exact.map_at_r, abs=5e-3)
    assert approx.precision_at_1 == pytest.approx(exact.precision_at_1, abs=5e-3)


def _hand_loop(x, y, metric, queries=None):
    """Every query ranks all others by distance in float64, then the three figures. Ties: a
    negative within the index's tie tolerance of a positive ranks before it (counted by hand)."""
    index = BruteForceIndex(metric)
    index.add(x)
    tau = tie_scale(index)
    rows = index.rows.astype(np.float64)
    sq = (rows * rows).sum(1)
    if metric == "cosine":
        d = 1 - rows @ rows.T
    else:
        d = ((rows[:, None, :] - rows[None, :, :]) ** 2).sum(-1)
    p1, rp, mr = [], [], []
    for q in range(len(x)) if queries is None else queries:
        others = np.delete(np.arange(len(x)), q)
        rel = y[others] == y[q]
        r = int(rel.sum())
        if r == 0:
            continue
        pos, neg = np.sort(d[q, others][rel]), d[q, others][~rel]
        tol = 8 * EPS32 * (sq[q] + sq.max()) + (2 * tau if metric == "cosine" else 2 * tau * np.sqrt(pos[-1]) + tau**2)
        ranks = np.array([i + 1 + int((neg <= p + tol).sum()) for i, p in enumerate(pos)])
        hit_ranks = ranks[ranks <= r]
        p1.append(float(ranks[0] == 1))
        rp.append(len(hit_ranks) / r)
        mr.append((np.arange(1, len(hit_ranks) + 1) / hit_ranks).sum() / r)
    return np.mean(p1), np.mean(rp), np.mean(mr)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_exact_kernel_against_hand_loop(metric):
    """Overlapping classes (many negatives rank among the positives), a one-item class, odd batches."""
    x, y = _blobs(n=400, d=6, c=7, noise=3.0, seed=3)
    y = y.astype(str)
    y[:1] = "alone"
    ours = retrieval_metrics(x, y, metric=metric, batch=37)
    ref = _hand_loop(x, y, metric)
    assert (ours.precision_at_1, ours.r_precision, ours.map_at_r) == pytest.approx(ref, abs=1e-9)


def _tied_reference(xi, y):
    """Sort-based reference on integer vectors: squared distances exact in int64, so ties are
    real ties; a tied negative ranks before the positive."""
    diff = xi[:, None, :] - xi[None, :, :]
    d = (diff * diff).sum(-1)
    p1, rp, mr = [], [], []
    for q in range(len(xi)):
        others = np.delete(np.arange(len(xi)), q)
        rel = y[others] == y[q]
        r = int(rel.sum())
        if r == 0:
            continue
        order = np.lexsort((rel, d[q, others]))
        hit = rel[order][:r]
        p1.append(float(rel[order][0]))
        rp.append(hit.mean())
        mr.append((np.cumsum(hit) / np.arange(1, r + 1) * hit).sum() / r)
    return np.mean(p1), np.mean(rp), np.mean(mr)


@pytest.mark.parametrize("shift", [0.0, 100.0, -37.5, 1000.0])
def test_tied_distances_rank_by_one_rule_whatever_the_rounding(shift):
    """Vectors on a 0.1 grid (like the iris measurements) have many tied distances; the figures
    equal the exact integer reference, and do not move when the same vectors are shifted."""
    rng = np.random.default_rng(5)
    xi = rng.integers(0, 6, size=(240, 4))  # few values: most distances are tied with others
    y = rng.integers(0, 6, 240).astype(str)
    ref = _tied_reference(xi, y)
    ours = retrieval_metrics((xi / 10.0 + shift).astype(np.float32), y, batch=50)
    assert (ours.precision_at_1, ours.r_precision, ours.map_at_r) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_a_sample_of_queries_is_the_hand_loop_over_those_queries(metric):
    """The first answer on a large set: a seeded sample of queries, each against every item."""
    from explorer.analysis.retrieval import query_sample

    x, y = _blobs(n=400, d=6, c=7, noise=3.0, seed=3)
    y = y.astype(str)
    y[:1] = "alone"
    q = query_sample(y, 90, seed=4)
    assert len(q) == 90 and len(np.unique(q)) == 90
    ours = retrieval_metrics(x, y, metric=metric, batch=16, queries=q)
    ref = _hand_loop(x, y, metric, queries=q)
    assert (ours.precision_at_1, ours.r_precision, ours.map_at_r) == pytest.approx(ref, abs=1e-9)
    assert ours.sampled and ours.queries == 90 and ours.items == 400
    assert all(v > 0 for v in ours.half_width.values())
    assert ours.per_class["queries"].sum() == 90
    full = retrieval_metrics(x, y, metric=metric)
    assert not full.sampled and full.half_width is None
    assert abs(ours.map_at_r - full.map_at_r) < 3 * ours.half_width["map_at_r"]
    hnsw = retrieval_metrics(x, y, metric=metric, index=build_index(x, metric=metric, kind="hnsw"), queries=q)
    assert hnsw.map_at_r == pytest.approx(ours.map_at_r, abs=0.02)
