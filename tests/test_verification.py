import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from explorer.analysis.verification import FAR_TARGETS, auc, eer, roc_curve, tar_at_far

RNG = np.random.default_rng(0)


def _pairs(n_g, n_i, rounding=None):
    g, i = RNG.normal(1.0, 0.3, n_g), RNG.normal(2.0, 0.4, n_i)
    if rounding:
        g, i = np.round(g, rounding), np.round(i, rounding)  # many ties
    return g, i


def _ref_tar_at_far(g, i, target):
    """Sort-based reference: accept the k smallest impostors, k = floor(target * I)."""
    k = int(np.floor(target * len(i) + 1e-9))
    if target * len(i) < 1:
        return None
    s = np.sort(i)
    # the largest threshold that accepts at most k impostors: just below the (k+1)-th smallest
    t = s[k] if k < len(s) else np.inf
    accepted = g < t if k < len(s) else np.ones_like(g, bool)
    # thresholds between distinct values: equal distances to s[k] would be accepted too, so exclude them
    return accepted.mean()


@pytest.mark.parametrize("rounding", [None, 2])
def test_auc_against_sklearn(rounding):
    g, i = _pairs(3000, 20000, rounding)
    y = np.r_[np.ones(len(g)), np.zeros(len(i))]
    assert abs(auc(g, i) - roc_auc_score(y, -np.r_[g, i])) <= 1e-6


def test_auc_at_a_million_pairs():
    g, i = _pairs(50_000, 950_000)
    y = np.r_[np.ones(len(g)), np.zeros(len(i))]
    assert abs(auc(g, i) - roc_auc_score(y, -np.r_[g, i])) <= 1e-6


@pytest.mark.parametrize("rounding", [None, 2])
def test_tar_at_far_against_sort_reference(rounding):
    g, i = _pairs(5000, 100_000, rounding)
    curve = roc_curve(g, i)
    for target in FAR_TARGETS:
        ours, ref = tar_at_far(curve, target), _ref_tar_at_far(g, i, target)
        assert (ours is None) == (ref is None)
        if ref is not None:
            assert ours == pytest.approx(ref, abs=1e-12)
    assert tar_at_far(curve, 1e-6) is None  # 1e-6 x 1e5 impostors < 1: not measurable


def _sklearn_eer(g, i):
    """The usual exact EER: sklearn's ROC (ties are one diagonal step), FAR = FRR solved on it."""
    from scipy.interpolate import interp1d
    from scipy.optimize import brentq
    from sklearn.metrics import roc_curve as sk_roc

    fpr, tpr, _ = sk_roc(np.r_[np.ones(len(g)), np.zeros(len(i))], -np.r_[g, i])
    return brentq(lambda x: 1.0 - x - interp1d(fpr, tpr)(x), 0.0, 1.0, xtol=1e-15)


@pytest.mark.parametrize("rounding", [None, 1, 2])
def test_eer_against_sklearn_with_and_without_ties(rounding):
    g, i = _pairs(2000, 8000, rounding)
    e, t = eer(roc_curve(g, i))
    assert e == pytest.approx(_sklearn_eer(g, i), abs=1e-12)
    assert t in set(np.r_[g, i])  # an end of the crossing segment: a threshold one can set


def test_eer_of_the_iris_measurements_is_the_exact_crossing():
    """Iris measurements are on a 0.1 grid, so many pair distances tie (14.296% by the nearest
    point's mean, 14.291% exact)."""
    from scipy.spatial.distance import pdist
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    d, same = pdist(x), pdist(y[:, None].astype(float)) == 0
    ref = _sklearn_eer(d[same], d[~same])
    assert eer(roc_curve(d[same], d[~same]))[0] == pytest.approx(ref, abs=1e-12)
    assert fast_figures(d[same], d[~same]).eer == pytest.approx(ref, abs=1e-12)
    assert round(100 * ref, 3) == 14.291


def test_needs_both_kinds():
    with pytest.raises(ValueError, match="impostor"):
        roc_curve(np.ones(3), np.empty(0))
    with pytest.raises(ValueError, match="NaN"):
        auc(np.array([np.nan]), np.ones(2))


# --- fast exact figures (histogram + refinement) against sklearn and the sort-based reference ---

from explorer.analysis.scores import from_distances  # noqa: E402
from explorer.analysis.verification import curve_auc, fast_figures, scores_curve  # noqa: E402


@pytest.mark.parametrize(
    "n_g,n_i,rounding,bins",
    [(3000, 20000, None, 1 << 16), (3000, 20000, 2, 1 << 16), (5000, 100_000, 3, 64), (20, 30, None, 4)],
)
def test_fast_figures_equal_the_sorted_path(n_g, n_i, rounding, bins):
    g, i = _pairs(n_g, n_i, rounding)
    f = fast_figures(g, i, bins=bins, auc_tolerance=0)
    curve = roc_curve(g, i)
    assert f.auc_bound == 0
    y = np.r_[np.ones(len(g)), np.zeros(len(i))]
    assert abs(f.auc - roc_auc_score(y, -np.r_[g, i])) <= 1e-6 and f.auc == pytest.approx(auc(g, i), abs=1e-12)
    assert (f.eer, f.eer_threshold) == eer(curve)
    for target in FAR_TARGETS:
        assert f.tar_at_far[target] == tar_at_far(curve, target)
        ref = _ref_tar_at_far(g, i, target)
        assert (ref is None) == (f.tar_at_far[target] is None)


def test_fast_figures_at_a_million_pairs():
    g, i = _pairs(100_000, 900_000)
    g, i = g.astype(np.float32), i.astype(np.float32)  # float32 distances: many exact ties
    f = fast_figures(g, i)
    y = np.r_[np.ones(len(g)), np.zeros(len(i))]
    ref = roc_auc_score(y, -np.r_[g, i].astype(np.float64))
    assert abs(f.auc - ref) <= max(f.auc_bound, 1e-12) <= 1e-6  # binned, within its stated bound
    exact = fast_figures(g, i, auc_tolerance=0)
    assert exact.auc_bound == 0 and exact.auc == pytest.approx(auc(g, i), abs=1e-12)
    curve = roc_curve(g, i)
    assert (f.eer, f.eer_threshold) == eer(curve)
    assert all(f.tar_at_far[t] == tar_at_far(curve, t) for t in FAR_TARGETS)


def test_all_distances_equal():
    f = fast_figures(np.ones(10), np.ones(40))
    assert f.auc == 0.5 and f.eer == 0.5 and f.tar_at_far[0.1] == 0.0


def test_complete_scores_curve_is_the_raw_curve():
    g, i = _pairs(400, 3000, 2)
    c = scores_curve(from_distances(g, i, metric="euclidean", bins=32))
    ref = roc_curve(g, i)
    np.testing.assert_array_equal(c.thresholds, ref.thresholds)
    np.testing.assert_array_equal(c.tp, ref.tp)
    np.testing.assert_array_equal(c.fp, ref.fp)
    assert curve_auc(c) == (pytest.approx(auc(g, i), abs=1e-12), 0.0)


def test_grid_curve_points_are_exact_and_auc_within_its_bound():
    from explorer.analysis.pairs import all_pairs

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(900, 8)), rng.integers(0, 12, 900)
    s = all_pairs(x, y, metric="euclidean", bins=128, k_tail=200)
    assert not s.complete
    c = scores_curve(s)
    d = pairwise_upper(x)
    ii, jj = np.triu_indices(len(x), 1)
    same = y[ii] == y[jj]
    g, i = d[same], d[~same]
    for k in range(1, len(c.thresholds), 7):  # counts at the grid points are exact (edges: float32 ties aside)
        t = c.thresholds[k]
        assert abs(c.tp[k] - (g <= t).sum()) <= 1 and abs(c.fp[k] - (i <= t).sum()) <= 2
    a, bound = curve_auc(c)
    assert 0 < bound < 0.05 and abs(a - auc(g, i)) <= bound + 1e-9
    low = c.fp < len(s.impostor.values)  # the low-FAR end: every distinct tail value is a point
    assert np.isin(s.impostor.values[:-1], c.thresholds[low]).all()


def pairwise_upper(x):
    from explorer.analysis.distances import pairwise

    d = pairwise(x, metric="euclidean")
    return d[np.triu_indices(len(x), 1)]
