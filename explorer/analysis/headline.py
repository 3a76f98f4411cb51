"""The headline figures of a whole curve (AUC, EER, TAR@FAR), and which of them are exact."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.analysis.scores import PairScores
from explorer.analysis.verification import FAR_TARGETS, RocCurve, curve_auc, eer, tar_at_far, tar_thresholds


@dataclass(frozen=True)
class Headline:
    """Figures of a whole curve: AUC (with its largest binning error), EER and TAR@FAR.

    tar_exact[f]: whether TAR@FAR f is counted exactly; where not (its deciding pairs sit in a
    bin), tar_bounds[f] = (lo, hi) holds it, and tar_at_far[f] is lo.
    """

    auc: float
    auc_bound: float
    eer: float
    eer_threshold: float
    tar_at_far: dict[float, float | None]
    exact: bool
    far_thresholds: dict[float, float | None]  # the threshold of each TAR@FAR on the curve
    tar_exact: dict[float, bool]
    tar_bounds: dict[float, tuple[float, float] | None]


def headline(curve: RocCurve, scores: PairScores | None = None) -> Headline:
    """From the curve, or from exact figures of the raw distances where the scores carry them."""
    ths, exact, bounds = {}, {}, {}
    deciding = tar_thresholds(scores.impostor, scores.n_impostor) if scores is not None else {}
    for f in FAR_TARGETS:
        if f * curve.n_impostor < 1:
            ths[f], exact[f], bounds[f] = None, True, None
            continue
        j = int(np.flatnonzero(curve.far <= f).max())
        ths[f] = float(curve.thresholds[j])
        below_v = np.nextafter(deciding[f], -np.inf) if f in deciding else None
        exact[f] = bool(
            curve.exact_all
            or (scores is not None and scores.figures is not None)
            or (below_v is not None and (scores.genuine.cover <= below_v or np.isin(below_v, curve.thresholds)))
        )
        hi = curve.tar[min(j + 1, len(curve.tar) - 1)]
        bounds[f] = (float(curve.tar[j]), float(curve.tar[j] if exact[f] else hi))
    figures = scores.figures if scores is not None else None
    if figures is not None:
        return Headline(
            figures.auc,
            figures.auc_bound,
            figures.eer,
            figures.eer_threshold,
            figures.tar_at_far,
            figures.auc_bound == 0,
            ths,
            exact,
            {f: None if v is None else (v, v) for f, v in figures.tar_at_far.items()},
        )
    a, bound = curve_auc(curve)
    e, t = eer(curve)
    tars = {f: tar_at_far(curve, f) for f in FAR_TARGETS}
    return Headline(a, bound, e, t, tars, curve.exact_all, ths, exact, bounds)


def tar_rows(head: Headline) -> list[dict[str, str]]:
    """The TAR@FAR table as shown: FAR target, TAR (or its bounds on the bin grid), how it was
    counted and the threshold."""
    rows = []
    for f in FAR_TARGETS:
        v, t = head.tar_at_far[f], head.far_thresholds[f]
        lo, hi = head.tar_bounds[f] or (v, v)
        tar = "not measurable" if v is None else f"{v:.6f}" if head.tar_exact[f] else f"{lo:.6f} to {hi:.6f}"
        rows.append(
            {
                "FAR target": f"{f:g}",
                "TAR": tar,
                "counted": "" if v is None else "exactly" if head.tar_exact[f] else "on the bin grid",
                "threshold": "" if t is None else f"{t:.5g}",
            }
        )
    return rows
