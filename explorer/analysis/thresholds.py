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


def at_threshold(genuine: np.ndarray, impostor: np.ndarray, threshold: float, *, ci_method: str = "wilson") -> ThresholdResult:
    g, i = np.asarray(genuine), np.asarray(impostor)
    tp, fp = int((g <= threshold).sum()), int((i <= threshold).sum())
    fn, tn = len(g) - tp, len(i) - fp
    return ThresholdResult(
        float(threshold), tp, fn, fp, tn, fp / max(len(i), 1), tp / max(len(g), 1),
        proportion_ci(fp, len(i), method=ci_method), proportion_ci(tp, len(g), method=ci_method),
        (tp + tn) / max(len(g) + len(i), 1), tp / (tp + fp) if tp + fp else 0.0, tp / max(len(g), 1), ci_method,
    )


def pick_threshold(curve: RocCurve, by: str, *, target: float | None = None, cost_fa: float = 1.0,
                   cost_fr: float = 1.0, prior_genuine: float | None = None) -> float:
    """The threshold chosen ``by`` one of PICK_BY (on the curve's distinct distances).

    target FAR: the largest threshold with FAR <= target; target TAR: the smallest with TAR >= target;
    min cost: minimises cost_fa * FAR * (1 - p) + cost_fr * FRR * p, p = prior of genuine pairs
    (default: their share among the pairs).
    """
    t, far, tar = curve.thresholds, curve.far, curve.tar
    if by == "target FAR":
        return float(t[np.flatnonzero(far <= target).max()])
    if by == "target TAR":
        ok = np.flatnonzero(tar >= target)
        if not len(ok):
            raise ValueError(f"no threshold reaches TAR {target}")
        return float(t[ok.min()])
    if by == "EER":
        return eer(curve)[1]
    g, n_i = curve.n_genuine, curve.n_impostor
    tp, fp = tar * g, far * n_i
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
    return {"accuracy_mean": float(np.mean(accs)), "accuracy_std": float(np.std(accs)),
            "threshold_mean": float(np.mean(ths)), "threshold_std": float(np.std(ths)), "folds": len(accs)}
