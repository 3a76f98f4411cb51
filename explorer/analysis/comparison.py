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

from explorer.analysis.rates import subjects_unusable
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
    subjects_note: str | None = None  # why the subjects given were not used, if they were not


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
    subjects_note = None if subj is None else subjects_unusable(*subj, y)
    if subjects_note:  # a bootstrap over these would be degenerate (one subject: a zero-width interval)
        subj = None
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
    over = "subjects" if subj is not None else "pairs (no usable subjects: too narrow where pairs share images)"
    return Comparison(names, point, interval, diff, diff_ci, replicates, over, subjects_note)


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


def interval_text(v: float, lo: float, hi: float, digits: int = 4) -> str:
    """A figure and its interval; an interval of zero width is not shown as one (every replicate
    agreeing says the resampling could not vary, not that the figure is certain)."""
    if not np.isfinite(v):
        return "not measurable"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v:.{digits}f} (no interval: the resamples cannot measure it)"
    if lo == hi:
        return f"{v:.{digits}f} (no interval: every replicate gave this value)"
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def comparison_rows(c: Comparison) -> list[dict[str, str]]:
    """One row per system and, for two or more, B - A: each figure with its 95% interval."""
    rows = [{"system": n, **{f: interval_text(c.point[n][f], *c.interval[n][f]) for f in FIGURES}} for n in c.systems]
    if c.difference:
        a, b = c.systems[:2]
        rows.append(
            {"system": f"{b} - {a}", **{f: interval_text(c.difference[f], *c.difference_interval[f]) for f in FIGURES}}
        )
    return rows


@dataclass(frozen=True)
class TwoEncoders:
    """Two encoders' embeddings of the same items on the same pairs: ``rows`` (items finite in
    both), pairs ``a``, ``b`` into them with ``same``, each encoder's distances, and MAP@R of each
    with the 95% interval of B - A over classes."""

    rows: np.ndarray
    a: np.ndarray
    b: np.ndarray
    same: np.ndarray
    distances: dict[str, np.ndarray]
    map_at_r: tuple[float, float, tuple[float, float]]


def two_encoders(
    names: tuple[str, str],
    vectors_a: np.ndarray,
    vectors_b: np.ndarray,
    labels: np.ndarray,
    *,
    metric: str,
    replicates: int = BOOTSTRAP,
) -> TwoEncoders:
    """A (``vectors_a``) and B (``vectors_b``, row k the same item as A's row k) on the same
    sampled pairs (every mated pair up to 25,000, non-mated pairs sampled uniformly, seed 0)."""
    from explorer.analysis.listed_pairs import listed_distances, sample_pairs
    from explorer.analysis.retrieval import retrieval_metrics

    ok = np.isfinite(vectors_a).all(1) & np.isfinite(vectors_b).all(1)
    rows = np.flatnonzero(ok)
    va, vb, labels = vectors_a[rows], vectors_b[rows], np.asarray(labels)[rows]
    a, b, same = sample_pairs(labels)
    if not same.any() or same.all():
        raise ValueError(
            "these items give no mated or no non-mated pairs: several items of several identities are needed"
        )
    distances = {names[0]: listed_distances(va, a, b, metric), names[1]: listed_distances(vb, a, b, metric)}
    ra, rb = retrieval_metrics(va, labels, metric=metric), retrieval_metrics(vb, labels, metric=metric)
    m = map_at_r_difference(
        ra.per_class["map_at_r"].to_numpy(),
        rb.per_class["map_at_r"].to_numpy(),
        ra.per_class["items"].to_numpy(),
        replicates=replicates,
    )
    return TwoEncoders(rows, a, b, same, distances, m)
