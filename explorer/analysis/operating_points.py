"""pyeer's named operating points of a whole curve, and the EER with its interval.

FMR100: the lowest FNMR with FMR <= 1%; FMR1000: the lowest FNMR with FMR <= 0.1%; ZeroFMR: the
lowest FNMR with no false match; ZeroFNMR: the lowest FMR with no false non-match (pyeer's
definitions, distances: accept d <= t). They are read at the curve's exact points: for a curve of
every distinct distance, exactly; on a binned curve (every pair of a large set), at the nearest
exact point, within one bin of the exact value.

The EER's interval resamples the pairs (their histograms, multinomially, the same as resampling
the pairs themselves at the bins' resolution): it assumes independent pairs, like the card's
binomial intervals, and is too narrow where pairs share people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.analysis.scores import PairScores
from explorer.analysis.verification import RocCurve, crossing

REPLICATES = 1000
SEED = 0


@dataclass(frozen=True)
class NamedPoints:
    fmr100: float | None  # None: fewer than 100 impostor pairs, an FMR of 1% is not measurable
    fmr1000: float | None
    zero_fmr: float
    zero_fnmr: float
    exact: bool  # read at every distinct distance (else at the nearest exact point)

    def as_dict(self) -> dict:
        return {
            "FMR100": self.fmr100,
            "FMR1000": self.fmr1000,
            "ZeroFMR": self.zero_fmr,
            "ZeroFNMR": self.zero_fnmr,
            "counted": "exactly" if self.exact else "at the nearest exact point of the curve (within one bin)",
        }


def named_points(curve: RocCurve) -> NamedPoints:
    far, fnmr = curve.far, 1.0 - curve.tar

    def lowest_fnmr(limit: float) -> float | None:
        if limit > 0 and limit * curve.n_impostor < 1:
            return None
        return float(fnmr[far <= limit].min())  # the first point (-inf) accepts nothing: FMR 0 is always there

    return NamedPoints(
        lowest_fnmr(0.01),
        lowest_fnmr(0.001),
        lowest_fnmr(0.0),
        float(far[fnmr <= 0].min()) if (fnmr <= 0).any() else 1.0,
        curve.exact_all,
    )


def eer_interval(scores: PairScores, *, replicates: int = REPLICATES, seed: int = SEED) -> tuple[float, float]:
    """95% percentile interval of the EER over pairs drawn with replacement (at the histogram's
    resolution): each replicate draws the genuine and the impostor counts per bin multinomially."""
    g, i = scores.genuine_hist.astype(np.float64), scores.impostor_hist.astype(np.float64)
    n_g, n_i = int(g.sum()), int(i.sum())
    if not (n_g and n_i):
        raise ValueError("an EER needs genuine and impostor pairs")
    keep = (g + i) > 0  # empty bins change no count: leave them out of every replicate
    g, i, edges = g[keep], i[keep], np.r_[-np.inf, scores.edges[1:][keep]]
    rng = np.random.default_rng(seed)
    out = np.empty(replicates)
    for r in range(replicates):
        gr = np.r_[0, np.cumsum(rng.multinomial(n_g, g / n_g))] / n_g  # accepted at each edge, from none
        ir = np.r_[0, np.cumsum(rng.multinomial(n_i, i / n_i))] / n_i
        out[r] = crossing(ir, 1.0 - gr, edges)[0]
    lo, hi = np.percentile(out, [2.5, 97.5])
    return float(lo), float(hi)
