"""pyeer's named points against a brute-force loop over thresholds; the EER's interval against
the closed form of two Gaussians."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from explorer.analysis.operating_points import eer_interval, named_points
from explorer.analysis.pairs import all_pairs
from explorer.analysis.scores import from_distances
from explorer.analysis.verification import roc_curve, scores_curve


def brute(g: np.ndarray, i: np.ndarray) -> dict:
    """pyeer's definitions, by a loop over every threshold (accept d <= t)."""
    rows = []
    for t in np.r_[-np.inf, np.unique(np.r_[g, i])]:
        rows.append(((i <= t).mean(), (g > t).mean()))
    fmr, fnmr = np.array(rows).T
    return {
        "FMR100": fnmr[fmr <= 0.01].min(),
        "FMR1000": fnmr[fmr <= 0.001].min(),
        "ZeroFMR": fnmr[fmr == 0].min(),
        "ZeroFNMR": fmr[fnmr == 0].min(),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_named_points_equal_a_loop_over_every_threshold(seed):
    rng = np.random.default_rng(seed)
    g = np.round(rng.normal(0.4, 0.15, 600), 3)  # rounded: ties across and within sides
    i = np.round(rng.normal(1.0, 0.2, 3000), 3)
    got = named_points(roc_curve(g, i)).as_dict()
    for k, v in brute(g, i).items():
        assert got[k] == pytest.approx(v, abs=1e-12), k
    assert got["counted"] == "exactly"


def test_fmr1000_is_not_measurable_below_a_thousand_impostor_pairs():
    p = named_points(roc_curve(np.array([0.1, 0.2]), np.linspace(0.3, 1, 500)))
    assert p.fmr100 == 0.0 and p.fmr1000 is None


def test_on_every_pair_of_a_set_the_points_are_within_a_bin_of_exact():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(900, 6)), rng.integers(0, 30, 900)
    s = all_pairs(x, y, metric="euclidean", bins=512, k_tail=200)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    iu = np.triu_indices(len(x), 1)
    same = (y[:, None] == y[None])[iu]
    exact = brute(d[iu][same], d[iu][~same])
    got = named_points(scores_curve(s)).as_dict()
    width = s.edges[1] - s.edges[0]
    for k in exact:  # within the share of pairs one bin can hold
        g, i = d[iu][same], d[iu][~same]
        side = i if k == "ZeroFNMR" else g
        most = max(np.histogram(side, bins=s.edges)[0].max(), 1) / len(side)
        assert abs(got[k] - exact[k]) <= most + 1e-12, (k, got[k], exact[k], width)


def test_eer_interval_covers_the_closed_form_and_narrows_with_more_pairs():
    # genuine N(0, 1), impostor N(2, 1): the EER threshold is 1, EER = 1 - Phi(1)
    truth = norm.sf(1.0)
    widths = []
    for n in (2_000, 32_000):
        rng = np.random.default_rng(n)
        s = from_distances(rng.normal(0, 1, n) + 5, rng.normal(2, 1, n) + 5, metric="euclidean", bins=4096)
        lo, hi = eer_interval(s, replicates=400)
        assert lo <= truth <= hi
        widths.append(hi - lo)
    assert 2.5 < widths[0] / widths[1] < 6  # 1 / sqrt(n): 16x the pairs, a quarter of the width


def test_eer_interval_is_as_wide_as_the_spread_of_the_eer_over_fresh_samples():
    """The oracle: the EER of 300 independent samples of the same two Gaussians (its 2.5 and 97.5
    percentiles); a bootstrap from one sample should span about as much."""
    from explorer.analysis.verification import eer

    n = 3_000
    rng = np.random.default_rng(7)
    fresh = [eer(roc_curve(rng.normal(0, 1, n), rng.normal(2, 1, n)))[0] for _ in range(300)]
    spread = np.subtract(*np.percentile(fresh, [97.5, 2.5]))
    s = from_distances(rng.normal(0, 1, n) + 5, rng.normal(2, 1, n) + 5, metric="euclidean", bins=8192)
    lo, hi = eer_interval(s, replicates=600)
    assert 0.85 < (hi - lo) / spread < 1.35
