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


def test_eer_against_a_threshold_scan():
    g, i = _pairs(2000, 8000)
    e, t = eer(roc_curve(g, i))
    best = min(np.unique(np.r_[g, i]), key=lambda th: abs((i <= th).mean() - (g > th).mean()))
    far, frr = (i <= best).mean(), (g > best).mean()
    assert e == pytest.approx((far + frr) / 2, abs=1e-12) and t == best


def test_needs_both_kinds():
    with pytest.raises(ValueError, match="impostor"):
        roc_curve(np.ones(3), np.empty(0))
    with pytest.raises(ValueError, match="NaN"):
        auc(np.array([np.nan]), np.ones(2))
