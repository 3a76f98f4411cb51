"""Verification figures from genuine and impostor pair distances (smaller = more similar).

A pair is accepted ("same") when its distance <= threshold. FAR = impostor pairs accepted /
impostor pairs; TAR = genuine pairs accepted / genuine pairs; FRR = 1 - TAR.
Exact, sort-based: O((G + I) log(G + I)), no per-threshold loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAR_TARGETS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


@dataclass(frozen=True)
class RocCurve:
    """thresholds ascending (N,), with far and tar (N,) at each (accept when distance <= t)."""

    thresholds: np.ndarray
    far: np.ndarray
    tar: np.ndarray
    n_genuine: int
    n_impostor: int


def _check(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = np.sort(np.asarray(genuine, np.float64).ravel())
    i = np.sort(np.asarray(impostor, np.float64).ravel())
    if not len(g) or not len(i):
        raise ValueError(f"need genuine and impostor pairs (got {len(g)} genuine, {len(i)} impostor)")
    if not (np.isfinite(g).all() and np.isfinite(i).all()):
        raise ValueError("pair distances hold NaN or inf")
    return g, i


def roc_curve(genuine: np.ndarray, impostor: np.ndarray) -> RocCurve:
    """ROC at every distinct distance, plus a starting point that accepts nothing."""
    g, i = _check(genuine, impostor)
    t = np.unique(np.concatenate([g, i]))
    tar = np.searchsorted(g, t, side="right") / len(g)
    far = np.searchsorted(i, t, side="right") / len(i)
    return RocCurve(np.concatenate([[-np.inf], t]), np.concatenate([[0.0], far]), np.concatenate([[0.0], tar]),
                    len(g), len(i))


def auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """P(genuine distance < impostor distance) + 0.5 P(tie): the ROC AUC (Mann-Whitney)."""
    g, i = _check(genuine, impostor)
    below = np.searchsorted(i, g, side="left")  # impostors strictly smaller than each genuine
    ties = np.searchsorted(i, g, side="right") - below
    return float(((len(i) - below - ties).sum() + 0.5 * ties.sum()) / (len(g) * len(i)))


def tar_at_far(curve: RocCurve, target: float) -> float | None:
    """Largest TAR whose FAR <= target; None when target x impostor pairs < 1 (not measurable)."""
    if target * curve.n_impostor < 1:
        return None
    ok = curve.far <= target
    return float(curve.tar[ok].max())


def eer(curve: RocCurve) -> tuple[float, float]:
    """(EER, threshold): at the threshold where |FAR - FRR| is smallest, EER = (FAR + FRR) / 2."""
    frr = 1.0 - curve.tar
    k = int(np.argmin(np.abs(curve.far - frr)))
    return float((curve.far[k] + frr[k]) / 2), float(curve.thresholds[k])
