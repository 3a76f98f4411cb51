import numpy as np
import pytest
from scipy.spatial.distance import pdist

from explorer.analysis.pairs import pair_histograms

RNG = np.random.default_rng(0)
X = RNG.normal(size=(157, 5))
Y = RNG.integers(0, 7, size=157)


def _brute(metric):
    d = pdist(X, {"manhattan": "cityblock"}.get(metric, metric))
    i, j = np.triu_indices(len(X), 1)
    same = Y[i] == Y[j]
    return d[same], d[~same]


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine", "manhattan"])
@pytest.mark.parametrize("block", [16, 50, 1000])
def test_counts_and_tails_match_brute_force(metric, block):
    h = pair_histograms(X, Y, metric=metric, bins=64, k_tail=25, block=block)
    dg, di = _brute(metric)
    ref_g, _ = np.histogram(dg, h.edges)
    ref_i, _ = np.histogram(di, h.edges)
    # the same bins up to floating ties at the edges: totals exact, per-bin within 1 pair
    assert h.n_genuine == len(dg) and h.n_impostor == len(di)
    assert np.abs(h.genuine - ref_g).max() <= 1 and np.abs(h.impostor - ref_i).max() <= 1
    np.testing.assert_allclose(h.impostor_smallest, np.sort(di)[:25], atol=1e-9)
    np.testing.assert_allclose(h.genuine_largest, np.sort(dg)[::-1][:25], atol=1e-9)


def test_one_class_has_no_impostors_and_nan_is_refused():
    h = pair_histograms(X[:10], np.zeros(10), bins=8)
    assert h.n_impostor == 0 and h.n_genuine == 45 and len(h.impostor_smallest) == 0
    bad = X[:10].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pair_histograms(bad, Y[:10])


def test_separation_against_numpy():
    from explorer.analysis.pairs import separation

    h = pair_histograms(X, Y, metric="euclidean", bins=64, block=40)
    dg, di = _brute("euclidean")
    s = separation(h)
    ref = abs(di.mean() - dg.mean()) / np.sqrt((dg.var() + di.var()) / 2)
    assert s.d_prime == pytest.approx(ref, rel=1e-9) and s.mean_genuine == pytest.approx(dg.mean())
    pg, _ = np.histogram(dg, h.edges)
    pi, _ = np.histogram(di, h.edges)
    assert s.overlap == pytest.approx(np.minimum(pg / len(dg), pi / len(di)).sum(), abs=2 / len(dg))
    one = separation(pair_histograms(X[:10], np.zeros(10), bins=8))
    assert one.d_prime is None and one.overlap is None
