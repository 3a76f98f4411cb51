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
    """95% percentile interval of the EER over pairs drawn with replacement, at the histogram's
    resolution: the Poisson bootstrap (each bin's count drawn Poisson around its own, every
    replicate in one numpy pass). Only the bins near the EER are drawn one by one; those below
    and above them are drawn as one count each (a Poisson sum is Poisson: the same draw)."""
    g, i = scores.genuine_hist.astype(np.float64), scores.impostor_hist.astype(np.float64)
    n_g, n_i = g.sum(), i.sum()
    if not (n_g and n_i):
        raise ValueError("an EER needs genuine and impostor pairs")
    diff = np.cumsum(i) / n_i - (1 - np.cumsum(g) / n_g)  # FAR - FRR at each bin's upper edge, rising
    e = crossing(*(np.r_[0, np.cumsum(i)] / n_i, 1 - np.r_[0, np.cumsum(g)] / n_g), np.arange(len(g) + 1))[0]
    margin = 12 * np.sqrt(max(e * (1 - e), 1e-4) / min(n_g, n_i)) + 2 / min(n_g, n_i)
    near = np.flatnonzero(np.abs(diff) <= margin)
    lo, hi = (int(near.min()), int(near.max()) + 1) if len(near) else (int(np.argmax(diff >= 0)),) * 2
    lo, hi = max(lo - 1, 0), min(hi + 1, len(g))
    rng = np.random.default_rng(seed)

    def draw(h):
        below, mid, above = h[:lo].sum(), h[lo:hi], h[hi:].sum()
        b, m, a = (
            rng.poisson(below, replicates),
            rng.poisson(mid, (replicates, len(mid))),
            rng.poisson(above, replicates),
        )
        n = np.maximum(b + m.sum(axis=1) + a, 1).astype(np.float64)
        return np.column_stack([b, b[:, None] + np.cumsum(m, axis=1)]) / n[:, None]  # accepted at each point

    far, frr = draw(i), 1 - draw(g)
    d = far - frr
    k = np.clip(np.argmax(d >= 0, axis=1), 1, d.shape[1] - 1)
    rows = np.arange(replicates)
    d0, d1 = d[rows, k - 1], d[rows, k]
    w = np.where(d1 > d0, -d0 / np.where(d1 > d0, d1 - d0, 1), 0.0)
    out = far[rows, k - 1] + np.clip(w, 0, 1) * (far[rows, k] - far[rows, k - 1])
    lo_e, hi_e = np.percentile(out, [2.5, 97.5])
    return float(lo_e), float(hi_e)
