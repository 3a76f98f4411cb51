"""Distances turned into log-likelihood ratios, and how good they are as such: Cllr and min Cllr
(bob.measure's definitions, in bits).

A calibration maps a distance d to llr(d) = log p(d | same) / p(d | different). ``Logistic``
fits llr = a + b d by logistic regression on pairs weighted to equal priors (sklearn);
``Pav`` is the pool-adjacent-violators fit (sklearn's isotonic regression), the best monotone map
for the pairs it was fitted on: its Cllr on them is min Cllr, the part of Cllr no calibration can
remove (discrimination), and Cllr - min Cllr is the calibration loss.

Cllr = (mean over genuine pairs of log2(1 + e^-llr) + mean over impostor pairs of log2(1 + e^llr)) / 2.

Pairs may carry weights (the count of a histogram bin): every figure of every pair of a large set
then costs one pass over the bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from explorer.analysis.scores import PairScores

EPS = 1e-12  # posteriors of 0 or 1 from PAV are clipped here: finite LLRs (bob clips the same way)


@dataclass(frozen=True)
class Pairs:
    """Pair distances, truth and weights (a bin's count, or 1 a pair)."""

    d: np.ndarray
    same: np.ndarray
    w: np.ndarray

    @classmethod
    def of(cls, genuine: np.ndarray, impostor: np.ndarray) -> Pairs:
        g, i = np.asarray(genuine, np.float64), np.asarray(impostor, np.float64)
        return cls(np.r_[g, i], np.r_[np.ones(len(g), bool), np.zeros(len(i), bool)], np.ones(len(g) + len(i)))

    @classmethod
    def binned(cls, s: PairScores) -> Pairs:
        """Every pair of a PairScores at its bin's centre (width: the histogram's bins)."""
        centre = s.edges[:-1] / 2 + s.edges[1:] / 2  # halves first: edges near the float limit stay finite
        g, i = s.genuine_hist > 0, s.impostor_hist > 0
        return cls(
            np.r_[centre[g], centre[i]],
            np.r_[np.ones(g.sum(), bool), np.zeros(i.sum(), bool)],
            np.r_[s.genuine_hist[g], s.impostor_hist[i]].astype(np.float64),
        )

    def balanced(self) -> np.ndarray:
        """Weights under which both sides weigh the same (the prior of 0.5 the LLR assumes)."""
        wg, wi = self.w[self.same].sum(), self.w[~self.same].sum()
        if not (wg and wi):
            raise ValueError("a calibration needs genuine and impostor pairs")
        return np.where(self.same, self.w / wg, self.w / wi) * len(self.w) / 2


class Logistic:
    """llr = a + b d, by logistic regression on equal-prior weights (no penalty)."""

    name = "logistic regression"

    def fit(self, p: Pairs) -> Logistic:
        m = LogisticRegression(C=np.inf).fit(p.d[:, None], p.same, sample_weight=p.balanced())
        self.a, self.b = float(m.intercept_[0]), float(m.coef_[0, 0])
        return self

    def llr(self, d: np.ndarray) -> np.ndarray:
        return self.a + self.b * np.asarray(d, np.float64)


class Pav:
    """The pool-adjacent-violators fit: the posterior of 'same' falls as the distance grows."""

    name = "PAV (isotonic)"

    def fit(self, p: Pairs) -> Pav:
        self.m = IsotonicRegression(increasing=False, out_of_bounds="clip", y_min=EPS, y_max=1 - EPS)
        self.m.fit(p.d, p.same.astype(np.float64), sample_weight=p.balanced())
        return self

    def llr(self, d: np.ndarray) -> np.ndarray:
        post = self.m.predict(np.asarray(d, np.float64))  # fitted at equal priors: its log odds are LLRs
        return np.log(post) - np.log1p(-post)


CALIBRATIONS = (Logistic, Pav)


def cllr(llr: np.ndarray, p: Pairs) -> float:
    """Cllr in bits of LLRs for the pairs ``p`` (weighted means on each side)."""
    llr = np.asarray(llr, np.float64)
    g, i = p.same, ~p.same
    cost_g = np.average(np.logaddexp(0.0, -llr[g]), weights=p.w[g])
    cost_i = np.average(np.logaddexp(0.0, llr[i]), weights=p.w[i])
    return float((cost_g + cost_i) / (2 * np.log(2)))


def min_cllr(p: Pairs) -> float:
    return cllr(Pav().fit(p).llr(p.d), p)


def probability_same(llr: float | np.ndarray, prior: float) -> np.ndarray:
    """P(same person | the pair's distance) at a prior P(same) before seeing it."""
    if not 0 < prior < 1:
        raise ValueError(f"the prior must be between 0 and 1, got {prior}")
    return 1.0 / (1.0 + np.exp(-(np.asarray(llr, np.float64) + np.log(prior / (1 - prior)))))


@dataclass(frozen=True)
class CalibrationFigures:
    """Cllr of each calibration fitted on ``fitted_on`` and measured on ``measured_on``, and min Cllr."""

    cllr: dict[str, float]
    min_cllr: float
    fitted_on: str
    measured_on: str
    logistic: tuple[float, float]  # (a, b): llr = a + b d

    def as_dict(self) -> dict:
        return {
            "cllr_bits": self.cllr,
            "min_cllr_bits": self.min_cllr,
            "fitted_on": self.fitted_on,
            "measured_on": self.measured_on,
            "logistic_llr": {"a": self.logistic[0], "b": self.logistic[1], "llr": "a + b * distance"},
            "note": "Cllr 0 is perfect, 1 is a system that says nothing; min Cllr is what the best monotone "
            "map of these distances would reach on the pairs measured (discrimination), Cllr - min Cllr the "
            "calibration loss",
        }


def calibration_figures(fit_on: Pairs, measure_on: Pairs, *, fitted_on: str, measured_on: str) -> CalibrationFigures:
    fitted = [c().fit(fit_on) for c in CALIBRATIONS]
    log = fitted[0]
    return CalibrationFigures(
        {c.name: cllr(c.llr(measure_on.d), measure_on) for c in fitted},
        min_cllr(measure_on),
        fitted_on,
        measured_on,
        (log.a, log.b),
    )
