"""Intervals and rates against their closed forms: Wilson's score interval, Clopper-Pearson's
beta quantiles, FAR = fp / n exactly, and the rule of 30 at its boundary."""

import math

import numpy as np
import pytest
from scipy.stats import beta

from explorer.analysis.headline import headline
from explorer.analysis.scores import from_distances
from explorer.analysis.thresholds import at_threshold, proportion_ci
from explorer.analysis.verification import roc_curve, scores_curve
from explorer.report import threshold_card

Z95 = 1.959963984540054  # the normal's 97.5 % quantile


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval, written out (no continuity correction)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else beta.ppf(a, k, n - k + 1)
    hi = 1.0 if k == n else beta.ppf(1 - a, k + 1, n - k)
    return lo, hi


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (3, 40), (29, 1000), (30, 1000), (500, 1000), (999, 1000)])
def test_wilson_is_the_closed_form_at_95_percent(k, n):
    assert proportion_ci(k, n) == pytest.approx(wilson(k, n), abs=1e-12)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (3, 40), (29, 1000), (1000, 1000)])
def test_clopper_pearson_is_the_closed_form_at_95_percent(k, n):
    assert proportion_ci(k, n, method="exact") == pytest.approx(clopper_pearson(k, n), abs=1e-12)


def _curve_with_false_matches(fp: int, n_impostor: int = 2000, n_genuine: int = 300):
    """Impostor distances of which exactly ``fp`` lie at or below 1.0 (genuine all below)."""
    g = np.linspace(0.1, 0.9, n_genuine)
    i = np.r_[np.linspace(0.2, 1.0, fp), np.linspace(1.5, 3.0, n_impostor - fp)]
    return g, i


@pytest.mark.parametrize("fp", [29, 30, 31])
def test_rates_are_exact_counts_and_the_rule_of_30_flags_below_30(fp):
    g, i = _curve_with_false_matches(fp)
    scores = from_distances(g, i, metric="euclidean")
    curve = scores_curve(scores)
    r = at_threshold(curve, 1.0)
    assert (r.fp, r.tn, r.tp, r.fn) == (fp, len(i) - fp, len(g), 0)
    assert r.far == fp / len(i) and r.tar == 1.0  # exactly, not approximately
    assert r.far_ci == pytest.approx(wilson(fp, len(i)), abs=1e-12)
    card = threshold_card(r, headline(curve), scores, how="set by hand", provenance={}, pairs_from="test")
    c = card["comparison"]
    assert c["fmr"] == fp / len(i) and c["fmr_interval"] == pytest.approx(wilson(fp, len(i)), abs=1e-12)
    assert c["rule_of_30"]["fmr_rests_on_fewer_than_30_errors"] is (fp < 30)
    assert c["rule_of_30"]["fnmr_rests_on_fewer_than_30_errors"] is True  # 0 false non-matches


def test_the_tar_interval_is_the_closed_form_of_the_genuine_counts():
    rng = np.random.default_rng(3)
    g, i = rng.normal(0.5, 0.2, 400), rng.normal(1.2, 0.25, 3000)
    curve = roc_curve(g, i)
    r = at_threshold(curve, 0.7)
    tp = int((g <= r.threshold).sum())
    assert r.tp == tp and r.tar == tp / 400
    assert r.tar_ci == pytest.approx(wilson(tp, 400), abs=1e-12)
    assert at_threshold(curve, 0.7, ci_method="exact").tar_ci == pytest.approx(clopper_pearson(tp, 400), abs=1e-12)
