"""What a threshold card says beyond the counts at its threshold: the EER with its interval,
pyeer's named points, rates modelled beyond what the impostor pairs can count, and how well the
distances serve as calibrated likelihood ratios. Each part is computed from a PairScores (its
histograms and exact tails), so its cost does not grow with the number of pairs."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from explorer.analysis.calibration import CalibrationFigures, Pairs, calibration_figures
from explorer.analysis.metrics import METRICS
from explorer.analysis.operating_points import REPLICATES, NamedPoints, eer_interval, named_points
from explorer.analysis.scores import PairScores
from explorer.analysis.tail_model import TAIL_SHARE, TailModel, fit_tail
from explorer.analysis.thresholds import at_threshold
from explorer.analysis.verification import FAR_TARGETS, RocCurve, eer, scores_curve

MODELLED_TARGETS = (*FAR_TARGETS, 1e-7, 1e-8)  # the FMRs a modelled threshold is given for, where not counted


@dataclass(frozen=True)
class Deployment:
    named: NamedPoints
    eer: float
    eer_interval: tuple[float, float]
    tail: TailModel | None
    tail_note: str | None  # why there is no model
    modelled_targets: dict[float, tuple[float, tuple[float, float], float]]  # FMR -> (threshold, its interval, FNMR)
    calibration: CalibrationFigures

    def fmr_modelled_at(self, threshold: float) -> tuple[float, tuple[float, float]] | None:
        """The modelled FMR at a threshold within the tail (else None: there it is counted)."""
        t = self.tail
        if t is None or not np.isfinite(threshold) or threshold >= t.u:
            return None
        return t.fmr(threshold), t.fmr_interval(threshold)

    def as_dict(self, threshold: float, shown: Callable[[float], float] = float) -> dict:
        """JSON-able, for a card at ``threshold``; ``shown`` turns a distance into the score's units."""
        t = self.tail
        at = self.fmr_modelled_at(threshold)
        modelled: dict = {"note": self.tail_note}
        if t is not None:
            modelled = {
                "method": f"generalized Pareto fit of the smallest {TAIL_SHARE:.0%} of impostor distances"
                f"{' (of their logarithm: distances end at 0)' if t.floor is not None else ''} (peaks over "
                f"threshold, ISO/IEC 5152) by maximum likelihood; intervals from {len(t.draws):,} draws of the "
                "fit's sampling distribution",
                "tail": {"starts_at": shown(t.u), "pairs": t.k, "of": t.n, "shape_xi": t.xi, "scale_sigma": t.sigma},
                "fmr_at_threshold": None if at is None else {"fmr": at[0], "interval": list(at[1])},
                "threshold_for_fmr": {
                    f"{f:g}": {
                        "threshold": shown(th),
                        "threshold_interval": sorted([shown(lo), shown(hi)]),
                        "fnmr": fnmr,
                    }
                    for f, (th, (lo, hi), fnmr) in self.modelled_targets.items()
                },
                "note": "modelled, not counted: an extrapolation of the impostor tail; for a promise take the "
                "FMR interval's upper end, or the threshold interval's strict end, not the point",
            }
        return {
            "eer": {
                "value": self.eer,
                "interval": list(self.eer_interval),
                "over": f"pairs drawn with replacement, {REPLICATES:,} replicates (assumes independent pairs)",
            },
            "named_points": self.named.as_dict(),
            "modelled": modelled,
            "calibration": self.calibration.as_dict(),
        }


def deployment(scores: PairScores, curve: RocCurve) -> Deployment:
    """The figures beyond the counts (none depends on the threshold but the modelled FMR at it)."""
    floor = 0.0 if scores.metric in METRICS else None  # a metric's distances are never below 0; a score file's may be
    tail = fit_tail(scores.impostor, scores.n_impostor, floor=floor)
    note, targets = None, {}
    if isinstance(tail, str):
        tail, note = None, tail
    else:
        share = tail.k / tail.n
        for f in MODELLED_TARGETS:
            if f * scores.n_impostor < 1 and f < share:  # beyond counting, within the model's reach
                th = tail.threshold_at(f)
                targets[f] = (th, tail.threshold_interval(f), 1.0 - at_threshold(curve, th).tar)
    binned = Pairs.binned(scores)
    cal = calibration_figures(binned, binned, fitted_on="the pairs evaluated", measured_on="the same pairs")
    return Deployment(named_points(curve), eer(curve)[0], eer_interval(scores), tail, note, targets, cal)


_OF: dict[int, Deployment] = {}


def deployment_of(scores: PairScores) -> Deployment:
    """:func:`deployment` once per PairScores object (a card is rebuilt at every move of the
    threshold; these figures stay). Keyed by the object itself, alive as long as it is: only
    whoever holds that object (one visitor's session) can reach its entry."""
    got = _OF.get(id(scores))
    if got is None:
        got = _OF[id(scores)] = deployment(scores, scores_curve(scores))
        weakref.finalize(scores, _OF.pop, id(scores), None)
    return got
