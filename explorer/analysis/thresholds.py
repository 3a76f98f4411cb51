"""Picking a verification threshold and the figures at it (accept when distance <= threshold)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from explorer.analysis.verification import RocCurve, eer, roc_curve

PICK_BY = ("target FAR", "target TAR", "EER", "max accuracy", "max F1", "min cost")


@dataclass(frozen=True)
class ThresholdResult:
    """Confusion counts at a threshold, with rates and confidence intervals (``ci_method``)."""

    threshold: float
    tp: int  # genuine accepted
    fn: int  # genuine rejected
    fp: int  # impostor accepted
    tn: int  # impostor rejected
    far: float
    tar: float
    far_ci: tuple[float, float]
    tar_ci: tuple[float, float]
    accuracy: float
    precision: float
    recall: float
    ci_method: str


def proportion_ci(k: int, n: int, *, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of k successes in n trials; ``wilson`` or ``exact`` (Clopper-Pearson)."""
    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method=method)
    return float(ci.low), float(ci.high)


def at_threshold(curve: RocCurve, threshold: float, *, ci_method: str = "wilson") -> ThresholdResult:
    """Counts, rates and intervals when accepting d <= ``threshold``.

    The threshold is taken down to the curve's nearest point at or below it, where the counts
    are exact (for a curve of every distinct distance that changes nothing); the result's
    ``threshold`` is that point.
    """
    k = max(int(np.searchsorted(curve.thresholds, threshold, side="right")) - 1, 0)
    tp, fp = int(curve.tp[k]), int(curve.fp[k])
    n_g, n_i = curve.n_genuine, curve.n_impostor
    fn, tn = n_g - tp, n_i - fp
    t = float(curve.thresholds[k])
    return ThresholdResult(
        t,
        tp,
        fn,
        fp,
        tn,
        fp / max(n_i, 1),
        tp / max(n_g, 1),
        proportion_ci(fp, n_i, method=ci_method),
        proportion_ci(tp, n_g, method=ci_method),
        (tp + tn) / max(n_g + n_i, 1),
        tp / (tp + fp) if tp + fp else 0.0,
        tp / max(n_g, 1),
        ci_method,
    )


def pick_threshold(
    curve: RocCurve,
    by: str,
    *,
    target: float | None = None,
    cost_fa: float = 1.0,
    cost_fr: float = 1.0,
    prior_genuine: float | None = None,
) -> float:
    """The threshold chosen ``by`` one of PICK_BY (on the curve's distinct distances).

    target FAR: the largest threshold with FAR <= target; target TAR: the smallest with TAR >= target;
    min cost: minimises cost_fa * FAR * (1 - p) + cost_fr * FRR * p, p = prior of genuine pairs
    (default: their share among the pairs).
    """
    t, far, tar = curve.thresholds, curve.far, curve.tar
    if by == "target FAR":
        if target is None or not 0 <= target <= 1:
            raise ValueError(f"target FAR must be between 0 and 1, got {target}")
        return float(t[np.flatnonzero(far <= target).max()])
    if by == "target TAR":
        if target is None or not 0 <= target <= 1:
            raise ValueError(f"target TAR must be between 0 and 1, got {target}")
        ok = np.flatnonzero(tar >= target)
        if not len(ok):
            raise ValueError(f"no threshold reaches TAR {target}")
        return float(t[ok.min()])
    if by == "EER":
        return eer(curve)[1]
    g, n_i = curve.n_genuine, curve.n_impostor
    tp, fp = curve.tp.astype(np.float64), curve.fp.astype(np.float64)
    if by == "max accuracy":
        return float(t[np.argmax(tp + (n_i - fp))])
    if by == "max F1":
        return float(t[np.argmax(np.divide(2 * tp, 2 * tp + fp + (g - tp), out=np.zeros_like(tp), where=tp > 0))])
    if by == "min cost":
        p = g / (g + n_i) if prior_genuine is None else prior_genuine
        return float(t[np.argmin(cost_fa * far * (1 - p) + cost_fr * (1 - tar) * p)])
    raise ValueError(f"unknown pick {by!r}; choose one of {', '.join(PICK_BY)}")


def kfold_accuracy(distances: np.ndarray, same: np.ndarray, fold: np.ndarray) -> dict[str, float]:
    """LFW protocol: per fold, the best-accuracy threshold on the other folds, accuracy on this one."""
    d, s, f = np.asarray(distances, np.float64), np.asarray(same, bool), np.asarray(fold)
    accs, ths = [], []
    for k in np.unique(f):
        train, test = f != k, f == k
        curve = roc_curve(d[train & s], d[train & ~s])
        th = pick_threshold(curve, "max accuracy")
        accs.append(float(((d[test] <= th) == s[test]).mean()))
        ths.append(th)
    finite = [t for t in ths if np.isfinite(t)]  # a fold best served by accepting no pair has none
    return {
        "accuracy_mean": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs)),
        "threshold_mean": float(np.mean(finite)) if finite else -np.inf,
        "threshold_std": float(np.std(finite)) if finite else 0.0,
        "folds": len(accs),
        "folds_accepting_none": len(ths) - len(finite),
    }
