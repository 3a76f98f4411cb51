"""Two (or more) verifiers on the same pairs: figures of each, their differences, and intervals
from a paired bootstrap over subjects.

Pairs reuse images and subjects, so pairs are not independent draws: a bootstrap over pairs
gives intervals that are too narrow. Here each replicate draws subjects with replacement (the
same draw for every system: paired); a subject drawn c times weighs its genuine pairs c and an
impostor pair of subjects drawn c_a and c_b times weighs c_a x c_b (Bolle et al., "Error
analysis of pattern recognition systems: the subsets bootstrap", 2004). Without subjects the
replicates draw pairs. Figures are computed on weighted pairs (:func:`weighted_figures`), which
with unit weights are exactly the sort-based figures (sklearn's AUC, the EER crossing, TAR@FAR).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from explorer.analysis.verification import FAR_TARGETS, crossing

FIGURES = ("AUC", "EER", *(f"TAR@FAR {t:g}" for t in FAR_TARGETS[:3]))
BOOTSTRAP = 1000
SEED = 0


class Ranked:
    """Pairs sorted once by distance; figures of any weighting of them then cost O(n) (a
    bootstrap replicate re-weights, it never re-sorts)."""

    def __init__(self, distances: np.ndarray, same: np.ndarray):
        d = np.asarray(distances, np.float64)
        self.order = np.argsort(d, kind="stable")
        self.d, self.y = d[self.order], np.asarray(same, bool)[self.order]
        self.last = np.r_[self.d[1:] != self.d[:-1], True]  # the end of each block of tied distances
        self.thresholds = np.r_[-np.inf, self.d[self.last]]

    def figures(self, weights: np.ndarray | None = None) -> dict[str, float]:
        """AUC (ties count one half), EER (FAR = FRR on the ROC) and TAR@FAR; weights in the
        pairs' original order. NaN where a side has no weight or a target is below one pair."""
        w = np.ones(len(self.d)) if weights is None else np.asarray(weights, np.float64)[self.order]
        tp = np.cumsum(np.where(self.y, w, 0.0))[self.last]
        fp = np.cumsum(np.where(self.y, 0.0, w))[self.last]
        out = dict.fromkeys(FIGURES, float("nan"))
        n_g, n_i = (tp[-1], fp[-1]) if len(tp) else (0.0, 0.0)
        if n_g <= 0 or n_i <= 0:
            return out
        tar, far = np.r_[0.0, tp] / n_g, np.r_[0.0, fp] / n_i
        out["AUC"] = float(np.sum(np.diff(far) * (tar[1:] + tar[:-1]) / 2))  # a tied block: its diagonal
        out["EER"] = crossing(far, 1.0 - tar, self.thresholds)[0]
        pairs_i = np.count_nonzero(~self.y & (w > 0))
        for t in FAR_TARGETS[:3]:
            if t * pairs_i >= 1:
                out[f"TAR@FAR {t:g}"] = float(tar[far <= t].max())
        return out


def weighted_figures(distances: np.ndarray, same: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """:meth:`Ranked.figures` of pairs (smaller distance = same)."""
    return Ranked(distances, same).figures(weights)


def subject_weights(
    subjects: tuple[np.ndarray, np.ndarray] | None, n_pairs: int, rng: np.random.Generator
) -> Callable[[], np.ndarray]:
    """A function drawing one replicate's pair weights (see the module docstring)."""
    if subjects is None:
        return lambda: rng.multinomial(n_pairs, np.full(n_pairs, 1.0 / n_pairs)).astype(np.float64)
    names, codes = np.unique(np.r_[subjects[0], subjects[1]], return_inverse=True)
    ca, cb = codes[:n_pairs], codes[n_pairs:]
    genuine = ca == cb

    def draw() -> np.ndarray:
        c = rng.multinomial(len(names), np.full(len(names), 1.0 / len(names))).astype(np.float64)
        return np.where(genuine, c[ca], c[ca] * c[cb])

    return draw


@dataclass(frozen=True)
class Comparison:
    """Figures of each system with 95% percentile intervals, and of B - A (paired)."""

    systems: tuple[str, ...]
    point: dict[str, dict[str, float]]  # system -> figure -> value
    interval: dict[str, dict[str, tuple[float, float]]]
    difference: dict[str, float]  # figure -> B - A (systems[1] - systems[0])
    difference_interval: dict[str, tuple[float, float]]
    replicates: int
    over: str  # what was resampled


def compare(
    distances: dict[str, np.ndarray],
    same: np.ndarray,
    *,
    subjects: tuple[np.ndarray, np.ndarray] | None = None,
    replicates: int = BOOTSTRAP,
    seed: int = SEED,
    progress: Callable[[float, str], None] | None = None,
) -> Comparison:
    """Each system's figures on the pairs every system scored (finite in all), and the paired
    bootstrap of each figure and of the first two systems' difference."""
    names = tuple(distances)
    ok = np.logical_and.reduce([np.isfinite(distances[n]) for n in names])
    d = {n: np.asarray(distances[n], np.float64)[ok] for n in names}
    y = np.asarray(same, bool)[ok]
    subj = None if subjects is None else (np.asarray(subjects[0])[ok], np.asarray(subjects[1])[ok])
    ranked = {n: Ranked(d[n], y) for n in names}
    point = {n: ranked[n].figures() for n in names}
    draw = subject_weights(subj, len(y), np.random.default_rng(seed))
    reps = {n: {f: np.empty(replicates) for f in FIGURES} for n in names}
    for r in range(replicates):
        w = draw()
        for n in names:
            for f, v in ranked[n].figures(w).items():
                reps[n][f][r] = v
        if progress and (r % 50 == 49 or r == replicates - 1):
            progress((r + 1) / replicates, f"bootstrap: {r + 1:,} of {replicates:,} replicates")
    ci = lambda v: tuple(float(x) for x in np.nanpercentile(v, [2.5, 97.5])) if np.isfinite(v).any() else (np.nan,) * 2  # noqa: E731
    interval = {n: {f: ci(reps[n][f]) for f in FIGURES} for n in names}
    diff, diff_ci = {}, {}
    if len(names) >= 2:
        a, b = names[:2]
        diff = {f: point[b][f] - point[a][f] for f in FIGURES}
        diff_ci = {f: ci(reps[b][f] - reps[a][f]) for f in FIGURES}
    over = "subjects" if subj is not None else "pairs (no subjects known: too narrow where pairs share images)"
    return Comparison(names, point, interval, diff, diff_ci, replicates, over)


def map_at_r_difference(
    per_class_a: np.ndarray,
    per_class_b: np.ndarray,
    items: np.ndarray,
    *,
    replicates: int = BOOTSTRAP,
    seed: int = SEED,
) -> tuple[float, float, tuple[float, float]]:
    """MAP@R of two encoders from their per-class MAP@R (the same classes, ``items`` per class):
    (A, B, 95% interval of B - A) over classes drawn with replacement (paired). NaN classes
    (one item: nothing to retrieve) are left out."""
    ok = np.isfinite(per_class_a) & np.isfinite(per_class_b)
    ma, mb, n = per_class_a[ok], per_class_b[ok], np.asarray(items, np.float64)[ok]
    rng = np.random.default_rng(seed)
    c = rng.multinomial(len(n), np.full(len(n), 1.0 / len(n)), size=replicates) * n[None, :]
    diffs = (c @ mb - c @ ma) / c.sum(1)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float((n * ma).sum() / n.sum()), float((n * mb).sum() / n.sum()), (float(lo), float(hi))


def flipped(
    d_a: np.ndarray, t_a: float, d_b: np.ndarray, t_b: float, same: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose decision differs between A (accept d_a <= t_a) and B: (indices, whether B is
    right), the ones B gets right first, then by how far A was from its threshold."""
    acc_a, acc_b = np.asarray(d_a) <= t_a, np.asarray(d_b) <= t_b
    idx = np.flatnonzero((acc_a != acc_b) & np.isfinite(d_a) & np.isfinite(d_b))
    b_right = acc_b[idx] == np.asarray(same, bool)[idx]
    order = np.lexsort((-np.abs(np.asarray(d_a)[idx] - t_a), ~b_right))
    return idx[order], b_right[order]
