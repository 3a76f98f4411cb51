"""The modelled FMR of the impostor tail: the GPD fit against scipy's and known parameters; the
modelled rate at 1e-6 and 1e-7 against the exact tail of Gaussian and Student-t impostors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import genpareto, norm
from scipy.stats import t as student

from explorer.analysis.scores import from_distances
from explorer.analysis.tail_model import fit_tail


def impostors(dist, centre: float, seed: int, n: int = 100_000):
    rng = np.random.default_rng(seed)
    imp = centre + dist.rvs(size=n, random_state=rng)
    return from_distances(rng.normal(centre - 8, 1, 500), imp, metric="euclidean", bins=4096)


def test_the_fit_is_scipys_maximum_likelihood_on_the_tails_excesses():
    s = impostors(student(5), 60.0, 8)
    m = fit_tail(s.impostor, s.n_impostor)
    d = np.sort(s.impostor.values)
    u = d[1000]  # the 1001st smallest of 100,000: 1% below it
    xi, _, sigma = genpareto.fit(u - d[:1000], floc=0)
    assert (m.u, m.k) == (u, 1000) and m.xi == pytest.approx(xi) and m.sigma == pytest.approx(sigma)


def test_the_fits_draws_spread_as_fits_of_fresh_samples_do():
    """The oracle: 150 maximum-likelihood fits of fresh GPD samples of 500; the draws that give
    the intervals should spread as much."""
    from explorer.analysis.tail_model import draws_of_the_fit

    rng = np.random.default_rng(9)
    fits = np.array(
        [genpareto.fit(genpareto.rvs(0.2, scale=2.0, size=500, random_state=rng), floc=0) for _ in range(150)]
    )
    draws = draws_of_the_fit(0.2, 2.0, 500, 50_000, 4000, 0)
    assert draws[:, 1].std() == pytest.approx(fits[:, 0].std(), rel=0.25)
    assert draws[:, 2].std() == pytest.approx(fits[:, 2].std(), rel=0.25)
    assert np.corrcoef(draws[:, 1], draws[:, 2])[0, 1] == pytest.approx(
        np.corrcoef(fits[:, 0], fits[:, 2])[0, 1], abs=0.15
    )


@pytest.mark.parametrize(("dist", "centre"), [(norm, 10.0), (student(5), 60.0)], ids=["gaussian", "student-t5"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_modelled_fmr_holds_the_exact_tail_at_1e6_and_1e7(dist, centre, seed):
    s = impostors(dist, centre, seed)
    m = fit_tail(s.impostor, s.n_impostor)
    assert m.k == 1000 and m.n == 100_000
    for target in (1e-6, 1e-7):  # 10 and 100 times beyond what 1e5 pairs can count
        t = centre + dist.ppf(target)  # the exact threshold of that false match rate
        lo, hi = m.fmr_interval(t)
        assert lo <= target <= hi, (target, lo, hi)
        assert 1e-2 * target < m.fmr(t) < 1e2 * target
        assert hi < 1e3 * target  # an interval that says something


def test_the_threshold_for_a_rate_inverts_the_rate_and_the_qq_plot_lies_on_its_line():
    s = impostors(student(5), 60.0, 3)
    m = fit_tail(s.impostor, s.n_impostor)
    t = m.threshold_at(1e-6)
    assert m.fmr(t) == pytest.approx(1e-6, rel=1e-9)
    lo, hi = m.threshold_interval(1e-6)
    assert lo < t < hi < m.u
    model, seen = m.qq()
    assert np.corrcoef(model, seen)[0, 1] > 0.99
    with pytest.raises(ValueError, match="counted"):
        m.fmr(m.u + 0.1)


def test_too_few_impostor_pairs_say_why_no_model():
    s = from_distances(np.array([0.1, 0.2]), np.linspace(1, 2, 3_000), metric="euclidean")
    assert "fewer than 50" in fit_tail(s.impostor, s.n_impostor)


def test_with_a_floor_the_fit_is_on_log_distances_and_no_threshold_crosses_it():
    """Squared distances of Gaussian points near a probe: P(d < t) grows as t^(D/2) near 0 (the
    chi-square's lower tail, D = 4: as t^2), exactly the tail a log turns exponential."""
    from scipy.stats import chi2

    rng = np.random.default_rng(4)
    d = chi2.rvs(4, size=100_000, random_state=rng) + 0.0  # the squared distance of two 4-D points, scaled
    s = from_distances(np.full(10, 0.5), d, metric="sqeuclidean", bins=4096)
    m = fit_tail(s.impostor, s.n_impostor, floor=0.0)
    assert m.floor == 0.0 and m.xi == pytest.approx(0.0, abs=0.1)  # exponential on the log scale
    for target in (1e-6, 1e-7, 1e-8):
        t = chi2.ppf(target, 4)
        lo, hi = m.fmr_interval(t)
        assert lo <= target <= hi and 0.1 * target < m.fmr(t) < 10 * target
        assert m.threshold_at(target) > 0
    raw = fit_tail(s.impostor, s.n_impostor)  # without the floor the fit crosses 0 for a far target
    assert raw.floor is None and raw.threshold_at(1e-8) != pytest.approx(chi2.ppf(1e-8, 4), rel=0.5)


def test_a_large_set_fits_its_smallest_two_thousand():
    s = impostors(norm, 10.0, 6, n=1_000_000)
    m = fit_tail(s.impostor, s.n_impostor)
    assert m.k == 2000 and m.u == pytest.approx(np.sort(s.impostor.values)[2000])
    t = 10.0 + norm.ppf(1e-7)
    lo, hi = m.fmr_interval(t)
    assert lo <= 1e-7 <= hi


def test_a_tail_of_tied_distances_says_there_is_no_tail_to_fit():
    d = np.r_[np.full(2_000, 1.0), np.linspace(2, 3, 98_000)]  # the smallest 2% all at one distance
    s = from_distances(np.array([0.1]), d, metric="euclidean", bins=1024)
    assert "no tail to fit" in fit_tail(s.impostor, s.n_impostor)
