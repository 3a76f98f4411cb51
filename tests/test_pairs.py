"""All-pairs statistics against brute-force enumeration (scipy pdist)."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from explorer.analysis.distances import pairwise
from explorer.analysis.pairs import all_pairs
from explorer.analysis.scores import separation

RNG = np.random.default_rng(0)
X = RNG.normal(size=(457, 5))
Y = RNG.integers(0, 7, size=457)


def _brute(metric, x=X, y=Y):
    d = pairwise(x, metric=metric)
    i, j = np.triu_indices(len(x), 1)
    same = y[i] == y[j]
    return d[i, j][same], d[i, j][~same], i[~same], j[~same]


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine", "manhattan", "mahalanobis"])
@pytest.mark.parametrize("block", [16, 100, 1000])
def test_counts_and_tails_match_brute_force(metric, block):
    h = all_pairs(X, Y, metric=metric, bins=64, k_tail=25, block=block)
    dg, di, ia, ib = _brute(metric)
    ref_g, _ = np.histogram(dg, h.edges)
    ref_i, _ = np.histogram(di, h.edges)
    assert h.n_genuine == len(dg) and h.n_impostor == len(di) == h.n_impostor_total and not h.sampled
    # float32 blocks: a pair may sit on the other side of a bin edge, never further
    assert np.abs(h.genuine_hist - ref_g).max() <= 1 and np.abs(h.impostor_hist - ref_i).max() <= 2
    # the impostor tail: exactly every impostor pair below its cover, with the right items
    below = np.sort(di[di < h.impostor.cover])
    assert len(h.impostor.values) >= 20 and len(below) == len(h.impostor.values)
    np.testing.assert_allclose(h.impostor.values, below, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pairwise(X, metric=metric)[h.impostor.a, h.impostor.b], h.impostor.values, atol=1e-9)
    assert (Y[h.impostor.a] != Y[h.impostor.b]).all() and (h.impostor.a < h.impostor.b).all()
    # the genuine side is kept whole, exactly
    np.testing.assert_allclose(h.genuine.values, np.sort(dg), atol=1e-9)
    assert h.genuine.cover == -np.inf
    assert h.impostor_moments[0] == pytest.approx(di.sum(), rel=1e-5)


def test_one_class_has_no_impostors_and_nan_is_refused():
    h = all_pairs(X[:10], np.zeros(10), bins=8)
    assert h.n_impostor == 0 and h.n_genuine == 45 and len(h.impostor.values) == 0
    sampled = all_pairs(X[:10], np.zeros(10), bins=8, max_pairs=1)  # nothing to sample from: no endless draw
    assert sampled.n_impostor == 0 and not sampled.sampled
    bad = X[:10].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        all_pairs(bad, Y[:10])


def test_singletons_have_no_genuine_pairs():
    h = all_pairs(X[:6], np.arange(6), bins=8)
    assert h.n_genuine == 0 and h.n_impostor == 15


def test_separation_against_numpy():
    h = all_pairs(X, Y, metric="euclidean", bins=64, block=40)
    dg, di, _, _ = _brute("euclidean")
    s = separation(h)
    ref = abs(di.mean() - dg.mean()) / np.sqrt((dg.var() + di.var()) / 2)
    assert s.d_prime == pytest.approx(ref, rel=1e-5) and s.mean_genuine == pytest.approx(dg.mean())
    # the least FAR + FRR over every threshold, by hand from the sorted distances (1 - KS distance)
    ts = np.sort(np.r_[dg, di])
    least = min(np.mean(di <= t) + np.mean(dg > t) for t in np.r_[-1.0, ts])
    assert s.overlap == pytest.approx(least, abs=2 * h.n_genuine**-0.5)  # read at the 64 bin edges
    assert s.overlap >= least - 1e-12  # the bin edges are some of the thresholds: never below the least
    one = separation(all_pairs(X[:10], np.zeros(10), bins=8))
    assert one.d_prime is None and one.overlap is None


def test_overlap_means_the_same_with_few_pairs_and_many_bins():
    """Few hundred pairs that barely separate (AUC ~0.5): the shared area of 8,192-bin histograms
    would read ~0; the least FAR + FRR reads close to 1, as it does with many pairs."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 8)), np.repeat(np.arange(10), 3)  # labels that mean nothing
    s = separation(all_pairs(x, y, bins=8192))
    assert s.overlap > 0.7


def test_sampled_impostors_beyond_max_pairs():
    h = all_pairs(X, Y, metric="euclidean", bins=64, max_pairs=10_000, sample_size=5_000, k_tail=100)
    dg, di, _, _ = _brute("euclidean")
    assert h.sampled and h.n_impostor == 5_000 and h.n_impostor_total == len(di) and h.n_genuine == len(dg)
    assert "sampled" in h.source
    # a uniform sample: its mean is the population's within a few standard errors
    mean = h.impostor_moments[0] / h.n_impostor
    assert abs(mean - di.mean()) < 5 * di.std() / np.sqrt(5_000)
    np.testing.assert_allclose(pairwise(X)[h.impostor.a, h.impostor.b], h.impostor.values, atol=1e-9)


def test_large_block_run_matches_pdist_counts():
    x = RNG.normal(size=(2500, 16)).astype(np.float32)
    y = RNG.integers(0, 30, 2500)
    h = all_pairs(x, y, metric="euclidean", bins=256, block=512)
    d = pdist(x.astype(np.float64))
    i, j = np.triu_indices(len(x), 1)
    same = y[i] == y[j]
    ref_i, _ = np.histogram(d[~same], h.edges)
    assert h.n_impostor == int((~same).sum()) and np.abs(h.impostor_hist - ref_i).sum() <= 50
    k = len(h.impostor.values)
    np.testing.assert_allclose(h.impostor.values, np.sort(d[~same])[:k], rtol=1e-7)


def test_candidate_overflow_tightens_the_cut(monkeypatch):
    """A strip with more candidates than its buffer holds is collected again under a tighter cut."""
    import explorer.analysis.pairs as pairs_mod

    monkeypatch.setattr(pairs_mod, "MIN_CAP", 8)
    h = all_pairs(X, Y, metric="euclidean", bins=64, k_tail=4, block=64)
    _, di, _, _ = _brute("euclidean")
    below = np.sort(di[di < h.impostor.cover])
    assert len(below) == len(h.impostor.values) >= 1
    np.testing.assert_allclose(h.impostor.values, below, rtol=1e-9)
    assert h.n_impostor == len(di)


def test_genuine_pairs_beyond_the_limit_keep_histogram_and_largest():
    h = all_pairs(X, Y, metric="euclidean", bins=64, k_tail=30, genuine_limit=100)
    dg, di, _, _ = _brute("euclidean")
    ref_g, _ = np.histogram(dg, h.edges)
    assert h.n_genuine == len(dg) and np.abs(h.genuine_hist - ref_g).max() <= 1
    np.testing.assert_allclose(h.genuine.values, np.sort(dg)[-30:], atol=1e-9)
    assert h.genuine.cover == pytest.approx(np.sort(dg)[-30]) and not h.complete
    assert h.impostor_moments[0] == pytest.approx(di.sum(), rel=1e-5)
    from explorer.analysis.verification import auc, curve_auc, scores_curve

    c = scores_curve(h)
    a, bound = curve_auc(c)
    assert abs(a - auc(dg, di)) <= bound + 1e-9
    ii = np.searchsorted(c.thresholds, 1.0)  # a grid point's counts are exact (float32 edge ties aside)
    t = c.thresholds[ii]
    assert abs(c.tp[ii] - (dg <= t).sum()) <= 1 and abs(c.fp[ii] - (di <= t).sum()) <= 2


def test_tar_at_far_stays_exact_when_genuine_pairs_are_too_many_to_keep():
    """Beyond genuine_limit the genuine pairs are binned, yet every TAR@FAR whose deciding
    impostor lies in the exact tail is counted exactly (the sort-based reference)."""
    from explorer.analysis.headline import headline
    from explorer.analysis.verification import FAR_TARGETS, roc_curve, scores_curve, tar_at_far

    h = all_pairs(X, Y, metric="euclidean", bins=64, k_tail=400, genuine_limit=100)
    dg, di, _, _ = _brute("euclidean")
    assert h.n_genuine > 100 and h.exact_points is not None
    head, ref = headline(scores_curve(h)), roc_curve(dg, di)
    exact = [t for t in FAR_TARGETS if head.tar_exact[t]]
    assert exact and all(t * len(di) < 400 for t in exact)  # the targets the tail decides
    for t in exact:
        assert head.tar_at_far[t] == pytest.approx(tar_at_far(ref, t), abs=1e-12)
    for t in set(FAR_TARGETS) - set(exact):
        if tar_at_far(ref, t) is None:
            continue
        lo, hi = head.tar_bounds[t]  # binned: the true value lies within the stated bounds
        assert lo - 1e-12 <= tar_at_far(ref, t) <= hi + 1e-12


def test_sampled_pairs_for_two_models_are_distinct_labelled_and_seeded():
    from explorer.analysis.listed_pairs import listed_distances, sample_pairs

    a, b, same = sample_pairs(Y, max_genuine=500, max_impostor=3000, seed=2)
    assert same.sum() == 500 and (~same).sum() == 3000
    assert ((Y[a] == Y[b]) == same).all() and (a < b).all()
    assert len({(p, q) for p, q in zip(a, b, strict=True)}) == len(a)
    a2, b2, _ = sample_pairs(Y, max_genuine=500, max_impostor=3000, seed=2)
    assert (a == a2).all() and (b == b2).all()
    small = sample_pairs(Y[:30], max_genuine=10**6, max_impostor=10**6)
    i, j = np.triu_indices(30, 1)
    assert len(small[0]) == len(i)  # everything, when fewer exist
    d = listed_distances(X, a, b, "euclidean")
    np.testing.assert_allclose(d, np.linalg.norm(X[a] - X[b], axis=1), atol=1e-12)


@pytest.mark.parametrize("base", ["euclidean", "sqeuclidean", "cosine", "manhattan"])
def test_pair_distances_read_as_float32_are_the_float64_ones_bit_for_bit(base):
    """Rows holding float32 values are read as float32 (half the memory traffic) on two threads:
    the same distances as the float64 loop, and as a hand loop in float64."""
    from explorer.analysis.kernels import pair_rows_distance
    from explorer.analysis.listed_pairs import pair_distances
    from explorer.analysis.metrics import TABLE

    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 24)).astype(np.float32).astype(np.float64)
    if base == "cosine":
        x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
    a, b = rng.integers(0, 500, 300_000), rng.integers(0, 500, 300_000)
    got = pair_distances(x, a, b, base)
    want = pair_rows_distance(np.ascontiguousarray(x), a, b, TABLE[base].code)
    np.testing.assert_array_equal(got, want)
    k = np.arange(0, 300_000, 9973)
    diff = x[a[k]] - x[b[k]]
    hand = {
        "euclidean": np.sqrt((diff**2).sum(1)),
        "sqeuclidean": (diff**2).sum(1),
        "cosine": np.clip(1 - (x[a[k]] * x[b[k]]).sum(1), 0, 2),
        "manhattan": np.abs(diff).sum(1),
    }[base]
    np.testing.assert_allclose(got[k], hand, rtol=1e-12, atol=1e-12)
