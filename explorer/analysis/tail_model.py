"""A modelled false match rate where the impostor pairs are too few to count it: a generalized
Pareto distribution fitted to the impostor distances' lower tail (peaks over threshold, the
extreme-value method ISO/IEC 5152 describes for rates beyond the data).

The smallest ``TAIL_SHARE`` of the impostor distances, those below u, are the tail; their
excesses y = u - d are fitted by a GPD (shape xi, scale sigma), and for t < u

    FMR(t) = (k / n) * P(Y > u - t) = (k / n) * (1 + xi (u - t) / sigma) ** (-1 / xi)

(k pairs below u of n). The fit is scipy's maximum likelihood; its intervals come from the
estimate's asymptotic normal distribution (see :func:`draws_of_the_fit`). Every figure from it
is *modelled*, not counted. How far it lands from known tails is in benchmarks/README.md
(bench_tail_model.py): for a promise take the interval's safe end, not the point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import genpareto

from explorer.analysis.scores import Tail

TAIL_SHARE = 0.01  # the smallest 1% of impostor pairs form the fitted tail
MIN_EXCESSES = 50  # fewer pairs in the tail than this and no fit is attempted
# at most this many pairs in the fitted tail (beyond 200k impostor pairs the tail is their smallest
# 2,000, a share below 1%): a fit from a more extreme tail, at a cost that stays put
MAX_EXCESSES = 2000
REPLICATES = 1000
SEED = 0


def draws_of_the_fit(xi: float, sigma: float, k: int, n: int, replicates: int, seed: int) -> np.ndarray:
    """(R, 3): tail share, xi, sigma drawn from the fit's sampling distribution: the share
    binomial, (xi, sigma) normal with the maximum-likelihood estimate's asymptotic covariance
    (Smith 1985; Hosking and Wallis 1987): var xi = (1 + xi)^2 / k, var sigma = 2 sigma^2 (1 + xi) / k,
    cov = -sigma (1 + xi) / k. One numpy pass, where refitting a thousand resamples would take seconds."""
    cov = np.array([[(1 + xi) ** 2, -sigma * (1 + xi)], [-sigma * (1 + xi), 2 * sigma**2 * (1 + xi)]]) / k
    rng = np.random.default_rng(seed)
    xs = rng.multivariate_normal([xi, sigma], cov, size=replicates)
    share = rng.binomial(n, k / n, replicates) / n
    return np.column_stack([share, xs[:, 0], np.maximum(xs[:, 1], 1e-12 * sigma)])


@dataclass(frozen=True)
class TailModel:
    u: float  # the tail: impostor distances below u
    k: int  # impostor pairs in the tail
    n: int  # impostor pairs in all
    xi: float
    sigma: float
    draws: np.ndarray  # (R, 3): draws of the tail share, xi and sigma (the fit's sampling distribution)
    excesses: np.ndarray  # z(u) - z(d) of the tail's pairs, ascending
    floor: float | None = None  # distances never below it: the fit is on log(d - floor) (see fit_tail)

    def z(self, d):
        return np.log(np.asarray(d, np.float64) - self.floor) if self.floor is not None else np.asarray(d, np.float64)

    def d(self, z):
        return self.floor + np.exp(z) if self.floor is not None else z

    def _fmr(self, t: float, share, xi, sigma) -> np.ndarray:
        if self.floor is not None and t <= self.floor:
            return np.zeros_like(np.asarray(share, np.float64))  # nothing lies below the floor
        return share * genpareto.sf(self.z(self.u) - self.z(t), xi, scale=sigma)

    def fmr(self, t: float) -> float:
        """The modelled FMR at threshold t (accept d <= t); t at or beyond u is counted, not modelled."""
        if t >= self.u:
            raise ValueError(f"the model holds below u = {self.u:.6g}; at {t:.6g} the pairs are counted")
        return float(self._fmr(t, self.k / self.n, self.xi, self.sigma))

    def fmr_interval(self, t: float) -> tuple[float, float]:
        v = self._fmr(t, self.draws[:, 0], self.draws[:, 1], self.draws[:, 2])
        lo, hi = np.percentile(v, [2.5, 97.5])
        return float(lo), float(hi)

    def threshold_at(self, fmr: float) -> float:
        """The threshold whose modelled FMR is ``fmr`` (below the tail's share k / n)."""
        share = self.k / self.n
        if not 0 < fmr < share:
            raise ValueError(f"the model reaches FMR below {share:.3g}, not {fmr:g}")
        return float(self.d(self.z(self.u) - genpareto.isf(fmr / share, self.xi, scale=self.sigma)))

    def threshold_interval(self, fmr: float) -> tuple[float, float]:
        b = self.draws
        t = self.d(self.z(self.u) - genpareto.isf(np.minimum(fmr / b[:, 0], 1.0), b[:, 1], scale=b[:, 2]))
        lo, hi = np.percentile(t, [2.5, 97.5])
        return float(lo), float(hi)

    def qq(self) -> tuple[np.ndarray, np.ndarray]:
        """(the fitted GPD's quantiles, the excesses observed) at plotting positions (i - 0.5) / k."""
        p = (np.arange(len(self.excesses)) + 0.5) / len(self.excesses)
        return genpareto.ppf(p, self.xi, scale=self.sigma), self.excesses


def fit_tail(
    impostor: Tail,
    n_impostor: int,
    *,
    floor: float | None = None,
    share: float = TAIL_SHARE,
    replicates: int = REPLICATES,
    seed: int = SEED,
) -> TailModel | str:
    """The model of the impostor distances' lower tail, from their exact smallest values; or why not.

    floor: a bound no distance goes below (0 for a metric's distances). The fit is then made on
    log(d - floor): near the bound the share of pairs closer than t falls as a power of t (as
    the volume of a ball in the embedding's space), a tail that the log turns exponential, and
    no modelled threshold crosses the bound. A tail that touches the bound (pairs at distance
    0: duplicates) is fitted on the distances themselves."""
    k = int(np.ceil(share * n_impostor))
    if k < MIN_EXCESSES:
        return f"{n_impostor:,} impostor pairs: their smallest {share:.0%} are fewer than {MIN_EXCESSES} to fit"
    values = impostor.values[impostor.values < impostor.cover] if np.isfinite(impostor.cover) else impostor.values
    k = min(k, MAX_EXCESSES)
    if len(values) < k + 1:
        k = len(values) - 1
        if k < MIN_EXCESSES:
            return f"only {len(values):,} impostor distances are kept exactly: fewer than {MIN_EXCESSES} to fit"
    u = float(values[k])  # the (k + 1)-th smallest: k pairs lie strictly below (ties at u stay out)
    below = values[:k]
    k = int((below < u).sum())
    below = below[below < u]
    if floor is not None and not (below > floor).all():
        floor = None
    z = (lambda v: np.log(v - floor)) if floor is not None else (lambda v: v)  # noqa: E731
    exc = np.sort(z(u) - z(below))
    if k < MIN_EXCESSES or np.ptp(exc) == 0:
        return "the smallest impostor distances are tied at a few values: no tail to fit"
    try:
        xi, _, sigma = genpareto.fit(exc, floc=0)  # maximum likelihood (scipy)
    except (RuntimeError, FloatingPointError, ValueError) as exc_:
        return f"the tail fit did not converge ({exc_})"
    if not (np.isfinite(xi) and np.isfinite(sigma) and sigma > 0):
        return "the tail fit did not converge"
    draws = draws_of_the_fit(xi, sigma, k, n_impostor, replicates, seed)
    return TailModel(u, k, int(n_impostor), float(xi), float(sigma), draws, exc, floor)
