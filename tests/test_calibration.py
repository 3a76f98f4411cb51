"""Cllr and min Cllr against bob.measure's definitions written out by hand; the logistic
calibration against the closed-form LLR of two Gaussians."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer.analysis.calibration import (
    Logistic,
    Pairs,
    Pav,
    calibration_figures,
    cllr,
    min_cllr,
    probability_same,
)
from explorer.analysis.scores import from_distances


def hand_cllr(llr_pos, llr_neg) -> float:
    """bob.measure.calibration.cllr, loop for loop."""
    sp = sum(math.log(1.0 + math.exp(-x)) for x in llr_pos)
    sn = sum(math.log(1.0 + math.exp(x)) for x in llr_neg)
    return (sp / len(llr_pos) + sn / len(llr_neg)) / (2 * math.log(2))


def hand_min_cllr(positives, negatives) -> float:
    """bob.measure.calibration.min_cllr: PAV of the labels sorted by score (higher = same), the
    posterior log odds less the prior log odds, then Cllr; a plain pool-adjacent-violators loop."""
    scores = np.r_[negatives, positives]
    ideal = np.r_[np.zeros(len(negatives)), np.ones(len(positives))][np.argsort(scores, kind="mergesort")]
    blocks = []  # [mean, weight]
    for v in ideal:
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m1, w1), (m2, w2) = blocks[-2], blocks[-1]
            blocks[-2:] = [[(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2]]
    popt = np.concatenate([[m] * int(w) for m, w in blocks])
    popt = np.clip(popt, 1e-12, 1 - 1e-12)
    llrs = np.log(popt) - np.log(1 - popt) - math.log(len(positives) / len(negatives))
    return hand_cllr(llrs[ideal == 1], llrs[ideal == 0])


def gaussians(n_g: int, n_i: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, n_g) + 5, rng.normal(2.0, 1.0, n_i) + 5  # distances: genuine smaller


def test_cllr_is_bobs_formula():
    g, i = gaussians(300, 900, 0)
    p = Pairs.of(g, i)
    llr = 0.7 - 1.3 * (p.d - 5)
    assert cllr(llr, p) == pytest.approx(hand_cllr(llr[p.same], llr[~p.same]), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_min_cllr_is_bobs_pav_and_no_calibration_beats_it(seed):
    g, i = gaussians(400, 1500, seed)
    p = Pairs.of(g, i)
    assert min_cllr(p) == pytest.approx(hand_min_cllr(-g, -i), abs=1e-9)  # bob's scores: higher = same
    log = Logistic().fit(p)
    assert min_cllr(p) <= cllr(log.llr(p.d), p)
    assert cllr(Pav().fit(p).llr(p.d), p) == pytest.approx(min_cllr(p))


def test_logistic_llr_recovers_the_closed_form_of_two_gaussians():
    # genuine N(0, 1), impostor N(2, 1): llr(x) = ((x - 2)^2 - x^2) / 2 = 2 - 2x, here x = d - 5
    g, i = gaussians(40_000, 120_000, 2)
    log = Logistic().fit(Pairs.of(g, i))
    assert log.b == pytest.approx(-2.0, abs=0.05)
    assert log.a + 5 * log.b == pytest.approx(2.0, abs=0.05)


def test_the_binned_pairs_give_the_figures_of_the_pairs_themselves():
    g, i = gaussians(5_000, 50_000, 3)
    exact, binned = Pairs.of(g, i), Pairs.binned(from_distances(g, i, metric="euclidean", bins=16384))
    f = calibration_figures(binned, binned, fitted_on="all", measured_on="all")
    assert f.min_cllr == pytest.approx(min_cllr(exact), abs=2e-3)
    log = Logistic().fit(exact)
    assert f.cllr["logistic regression"] == pytest.approx(cllr(log.llr(exact.d), exact), abs=2e-3)
    assert 0 < f.min_cllr < f.cllr["logistic regression"] < 1


def test_probability_same_at_a_prior():
    assert probability_same(0.0, 0.3) == pytest.approx(0.3)
    assert probability_same(math.log(9), 0.5) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="prior"):
        probability_same(0.0, 1.0)
