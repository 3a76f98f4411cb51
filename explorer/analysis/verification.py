"""Verification figures from genuine and impostor pair distances (smaller = more similar).

A pair is accepted ("same") when its distance <= threshold. FAR = impostor pairs accepted /
impostor pairs; TAR = genuine pairs accepted / genuine pairs; FRR = 1 - TAR.

Two ways in, one curve type out (:class:`RocCurve`, exact counts at each of its thresholds):
- :func:`roc_curve` from raw distances: every distinct distance, sort-based;
- :func:`scores_curve` from :class:`PairScores`: bin edges and exact tail values (a grid), or
  every distinct distance when the scores are complete.
:func:`fast_figures` gives exact AUC, EER and TAR@FAR from raw distances without sorting them
(fine histograms, then only the few bins that decide a figure are looked at value by value).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit

from explorer.analysis.kernels import bin_values, gather_bins
from explorer.analysis.scores import PairScores

FAR_TARGETS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


@dataclass(frozen=True)
class RocCurve:
    """thresholds ascending (N,) starting at -inf; tp / fp (N,) pairs accepted at each (d <= t).

    exact_all : every distinct distance is a point (else a grid of exact points, see scores_curve).
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    n_genuine: int
    n_impostor: int
    exact_all: bool = True

    @cached_property
    def far(self) -> np.ndarray:
        return self.fp / self.n_impostor

    @cached_property
    def tar(self) -> np.ndarray:
        return self.tp / self.n_genuine


def _check(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(genuine, np.float64).ravel()
    i = np.asarray(impostor, np.float64).ravel()
    if not len(g) or not len(i):
        raise ValueError(f"need genuine and impostor pairs (got {len(g)} genuine, {len(i)} impostor)")
    if not (np.isfinite(g).all() and np.isfinite(i).all()):
        raise ValueError("pair distances hold NaN or inf")
    return g, i


def roc_curve(genuine: np.ndarray, impostor: np.ndarray) -> RocCurve:
    """ROC at every distinct distance, plus a starting point that accepts nothing."""
    g, i = (np.sort(v) for v in _check(genuine, impostor))
    t = np.unique(np.concatenate([g, i]))
    tp = np.searchsorted(g, t, side="right")
    fp = np.searchsorted(i, t, side="right")
    return RocCurve(np.r_[-np.inf, t], np.r_[0, tp], np.r_[0, fp], len(g), len(i))


def scores_curve(s: PairScores) -> RocCurve:
    """The exact points of a PairScores: bin upper edges, plus the tail values whose counts are
    exact on both sides (every distinct distance when both tails are complete)."""
    if not s.n_genuine or not s.n_impostor:
        raise ValueError(f"need genuine and impostor pairs (got {s.n_genuine} genuine, {s.n_impostor} impostor)")
    gen, imp = s.genuine, s.impostor
    edges = s.edges[1:]
    cum_g, cum_i = np.cumsum(s.genuine_hist), np.cumsum(s.impostor_hist)
    if s.complete:
        pts = np.unique(np.r_[gen.values, imp.values])
    else:
        cand = np.r_[imp.values[imp.values < imp.cover], gen.values[gen.values > gen.cover]]
        ok_tail = (cand < imp.cover) & (cand >= gen.cover)  # both counts exact from the tails
        pts = np.unique(np.r_[edges, cand[ok_tail]])
    at_edge = np.searchsorted(edges, pts, side="left")
    is_edge = (at_edge < len(edges)) & (edges[np.minimum(at_edge, len(edges) - 1)] == pts)
    fp = np.where(pts < imp.cover, np.searchsorted(imp.values, pts, side="right"), 0)
    tp = np.where(pts >= gen.cover, s.n_genuine - (len(gen.values) - np.searchsorted(gen.values, pts, side="right")), 0)
    edge_k = np.minimum(at_edge, len(edges) - 1)
    fp = np.where((pts >= imp.cover) & is_edge, cum_i[edge_k], fp)
    tp = np.where((pts < gen.cover) & is_edge, cum_g[edge_k], tp)
    tp, fp = np.maximum.accumulate(tp), np.maximum.accumulate(fp)  # float32 edge ties never go backwards
    return RocCurve(np.r_[-np.inf, pts], np.r_[0, tp], np.r_[0, fp], s.n_genuine, s.n_impostor, s.complete)


def auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """P(genuine distance < impostor distance) + 0.5 P(tie): the ROC AUC (Mann-Whitney)."""
    g, i = _check(genuine, impostor)
    i = np.sort(i)
    below = np.searchsorted(i, g, side="left")  # impostors strictly smaller than each genuine
    ties = np.searchsorted(i, g, side="right") - below
    return float(((len(i) - below - ties).sum() + 0.5 * ties.sum()) / (len(g) * len(i)))


def curve_auc(curve: RocCurve) -> tuple[float, float]:
    """(AUC by the trapezoid rule, largest possible error). Exact (error 0) for an exact_all
    curve, where the trapezoid counts ties as one half; on a grid, a segment's pairs that share
    a bin could fall either way."""
    dfp, dtp = np.diff(curve.fp.astype(np.float64)), np.diff(curve.tp.astype(np.float64))
    area = float((dfp * (curve.tp[1:] + curve.tp[:-1])).sum() / 2 / (curve.n_genuine * curve.n_impostor))
    bound = 0.0 if curve.exact_all else float((dfp * dtp).sum() / 2 / (curve.n_genuine * curve.n_impostor))
    return area, bound


def tar_at_far(curve: RocCurve, target: float) -> float | None:
    """Largest TAR whose FAR <= target; None when target x impostor pairs < 1 (not measurable)."""
    if target * curve.n_impostor < 1:
        return None
    return float(curve.tar[curve.far <= target].max())


def eer(curve: RocCurve) -> tuple[float, float]:
    """(EER, threshold): at the threshold where |FAR - FRR| is smallest, EER = (FAR + FRR) / 2."""
    frr = 1.0 - curve.tar
    k = int(np.argmin(np.abs(curve.far - frr)))
    return float((curve.far[k] + frr[k]) / 2), float(curve.thresholds[k])


@dataclass(frozen=True)
class Figures:
    """Exact headline figures of raw pair distances (see :func:`fast_figures`)."""

    auc: float
    eer: float
    eer_threshold: float
    tar_at_far: dict[float, float | None]
    n_genuine: int
    n_impostor: int


@njit(cache=True)
def _within_bins(gv, go, iv, io):  # pragma: no cover - compiled
    """Per bin, genuine < impostor pairs and ties among the values that share it."""
    less = 0
    ties = 0
    for k in range(len(go) - 1):
        g = np.sort(gv[go[k] : go[k + 1]])
        i = np.sort(iv[io[k] : io[k + 1]])
        lo = 0
        hi = 0
        for x in g:  # impostors > x: len - (number <= x); ties: number == x
            while lo < len(i) and i[lo] < x:
                lo += 1
            hi = max(hi, lo)
            while hi < len(i) and i[hi] <= x:
                hi += 1
            less += len(i) - hi
            ties += hi - lo
    return less, ties


class _Binned:
    """Both sides counted into the same fine bins, with value-level look-ups of chosen bins."""

    def __init__(self, g: np.ndarray, i: np.ndarray, bins: int):
        self.g, self.i, self.bins = g, i, bins
        self.lo = float(min(g.min(), i.min()))
        width = max(float(max(g.max(), i.max())) - self.lo, 1e-300)
        self.scale = bins / width * (1 - 1e-12)
        self.hg = bin_values(g, self.lo, self.scale, bins, 1)[0]
        self.hi = bin_values(i, self.lo, self.scale, bins, 1)[0]
        self.cg, self.ci = np.cumsum(self.hg), np.cumsum(self.hi)

    def values(self, side: np.ndarray, hist: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offsets = np.r_[0, np.cumsum(np.where(wanted, hist, 0))]
        return gather_bins(side, self.lo, self.scale, self.bins, wanted, offsets), offsets

    def bin_of(self, v: float) -> int:
        return min(max(int((v - self.lo) * self.scale), 0), self.bins - 1)


def fast_figures(genuine: np.ndarray, impostor: np.ndarray, *, targets=FAR_TARGETS, bins: int = 1 << 16) -> Figures:
    """AUC, EER (and its threshold) and TAR@FAR, exactly as :func:`auc`, :func:`eer` and
    :func:`tar_at_far` on :func:`roc_curve` give them, in O(n) instead of a sort of all values.

    Binning is monotone (a smaller distance never lands in a later bin), so pairs in different
    bins are ordered by their bins; only values that share a bin with the other side, or that hold
    a quantile a figure needs, are sorted.
    """
    g, i = _check(genuine, impostor)
    b = _Binned(g, i, bins)
    n_g, n_i = len(g), len(i)
    # AUC: across bins by counts, within shared bins value by value
    above = n_i - b.ci  # impostors in later bins
    less = int((b.hg * above).sum())
    shared = (b.hg > 0) & (b.hi > 0)
    gv, go = b.values(g, b.hg, shared)
    iv, io = b.values(i, b.hi, shared)
    w_less, w_ties = _within_bins(gv, go[np.r_[shared, True]], iv, io[np.r_[shared, True]])
    area = ((less + w_less) + 0.5 * w_ties) / (n_g * n_i)
    tars = {t: _tar_at_far(b, t) for t in targets}
    e, th = _eer(b)
    return Figures(float(area), e, th, tars, n_g, n_i)


def _sorted_bin(b: _Binned, side: str, k: int) -> np.ndarray:
    wanted = np.zeros(b.bins, bool)
    wanted[k] = True
    vals, _ = b.values(b.g if side == "g" else b.i, b.hg if side == "g" else b.hi, wanted)
    return np.sort(vals)


def _tar_at_far(b: _Binned, target: float) -> float | None:
    n_i, n_g = len(b.i), len(b.g)
    if target * n_i < 1:
        return None
    m = int(np.floor(target * n_i))  # the most impostors that may be accepted, as far <= target decides it
    while (m + 1) <= n_i and (m + 1) / n_i <= target:
        m += 1
    while m / n_i > target:
        m -= 1
    if m >= n_i:
        return 1.0
    k = int(np.searchsorted(b.ci, m + 1, side="left"))  # bin of the (m+1)-th smallest impostor
    before_i = int(b.ci[k - 1]) if k else 0
    v = _sorted_bin(b, "i", k)[m - before_i]
    before_g = int(b.cg[k - 1]) if k else 0
    accepted = before_g + int(np.searchsorted(_sorted_bin(b, "g", k), v, side="left"))  # genuine < v
    return accepted / n_g


def _eer(b: _Binned) -> tuple[float, float]:
    """FAR - FRR rises strictly from one distinct distance to the next, so the smallest |FAR - FRR|
    sits on either side of its sign change: find that bin by counts, then look at its values."""
    n_i, n_g = len(b.i), len(b.g)
    diff_end = b.ci / n_i - (1.0 - b.cg / n_g)
    k = int(np.argmax(diff_end >= 0))
    nonempty = np.flatnonzero((b.hg + b.hi)[:k] > 0)
    cands_t, cands_far, cands_frr = [-np.inf], [0.0], [1.0]
    for kk in ([int(nonempty[-1])] if len(nonempty) else []) + [k]:
        gs, is_ = _sorted_bin(b, "g", kk), _sorted_bin(b, "i", kk)
        before_g = int(b.cg[kk - 1]) if kk else 0
        before_i = int(b.ci[kk - 1]) if kk else 0
        for t in np.unique(np.r_[gs, is_]):
            cands_t.append(float(t))
            cands_far.append((before_i + int(np.searchsorted(is_, t, side="right"))) / n_i)
            cands_frr.append(1.0 - (before_g + int(np.searchsorted(gs, t, side="right"))) / n_g)
    far, frr = np.array(cands_far), np.array(cands_frr)
    j = int(np.argmin(np.abs(far - frr)))
    return float((far[j] + frr[j]) / 2), cands_t[j]
