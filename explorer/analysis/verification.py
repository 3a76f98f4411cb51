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

from explorer.analysis.kernels import bin_value_parts, gather_bins
from explorer.analysis.scores import PairScores, Tail

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
    if s.exact_points is not None and not s.complete:  # counted exactly by the pair pass
        at, etp, efp = s.exact_points
        pts, order = np.r_[pts, at], np.argsort(np.r_[pts, at], kind="stable")
        pts, tp, fp = pts[order], np.r_[tp, etp][order], np.r_[fp, efp][order]
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
    """(EER, threshold): where FAR = FRR on the ROC drawn with straight segments between its
    points (see :func:`crossing`)."""
    return crossing(curve.far, 1.0 - curve.tar, curve.thresholds)


def crossing(far: np.ndarray, frr: np.ndarray, thresholds: np.ndarray) -> tuple[float, float]:
    """(EER, threshold) of ROC points in threshold order: the point where FAR = FRR on the
    straight segment between the last point with FAR < FRR and the next one. A block of tied
    distances is one such segment (every tied pair moves at once), so this is the exact EER of
    tied scores, as sklearn's roc_curve interpolated is; the mean of FAR and FRR at the nearest
    point is off by up to half a segment. The threshold is that of the segment's nearer end."""
    diff = far - frr  # rises from -1 (accept nothing) to +1 (accept all)
    k = int(np.argmax(diff >= 0))
    if k == 0 or diff[k] == 0:
        return float(far[k]), float(thresholds[k])
    w = -diff[k - 1] / (diff[k] - diff[k - 1])  # share of the way from point k-1 to k
    e = far[k - 1] + w * (far[k] - far[k - 1])
    return float(e), float(thresholds[k] if w >= 0.5 else thresholds[k - 1])


@dataclass(frozen=True)
class Figures:
    """Headline figures of raw pair distances (see :func:`fast_figures`); ``auc_bound`` is the
    largest possible error of ``auc`` (0 when computed exactly)."""

    auc: float
    auc_bound: float
    eer: float
    eer_threshold: float
    tar_at_far: dict[float, float | None]
    n_genuine: int
    n_impostor: int


@njit(nogil=True, cache=True)
def _within_sorted(gs, is_, lo, scale, nbins, iend):  # pragma: no cover - compiled
    """Genuine < impostor pairs, and ties, among values that share a bin. gs, is_: the values of
    the shared bins, sorted; iend[k]: where bin k's impostors end in is_."""
    less = 0
    ties = 0
    a = 0
    b = 0
    for x in gs:
        while a < len(is_) and is_[a] < x:
            a += 1
        b = max(a, b)
        while b < len(is_) and is_[b] <= x:
            b += 1
        k = min(max(int((x - lo) * scale), 0), nbins - 1)
        less += iend[k] - b
        ties += b - a
    return less, ties


class _Binned:
    """Both sides counted into the same fine bins; the values of chosen bins gathered in one pass."""

    def __init__(self, g: np.ndarray, i: np.ndarray, bins: int):
        self.g, self.i, self.bins = g, i, bins
        self.lo = float(min(g.min(), i.min()))
        width = max(float(max(g.max(), i.max())) - self.lo, 1e-300)
        self.scale = bins / width * (1 - 1e-12)
        self.pg = bin_value_parts(g, self.lo, self.scale, bins)
        self.pi = bin_value_parts(i, self.lo, self.scale, bins)
        self.hg, self.hi = np.sum(self.pg, axis=0), np.sum(self.pi, axis=0)
        self.cg, self.ci = np.cumsum(self.hg), np.cumsum(self.hi)

    def gather(self, wanted: np.ndarray) -> None:
        """Values of the wanted bins of both sides, grouped by bin (see :meth:`sorted_bin`)."""
        self.wanted = wanted
        self.gv, self.go = gather_bins(self.g, self.lo, self.scale, self.bins, wanted, self.pg)
        self.iv, self.io = gather_bins(self.i, self.lo, self.scale, self.bins, wanted, self.pi)

    def sorted_bin(self, side: str, k: int) -> np.ndarray:
        assert self.wanted[k], "bin not gathered"
        if side == "g":
            return np.sort(self.gv[self.go[k] : self.go[k + 1]])
        return np.sort(self.iv[self.io[k] : self.io[k + 1]])


def fast_figures(
    genuine: np.ndarray, impostor: np.ndarray, *, targets=FAR_TARGETS, bins: int = 1 << 18, auc_tolerance: float = 1e-6
) -> Figures:
    """AUC, EER (and its threshold) and TAR@FAR from raw distances in O(n), without sorting them.

    EER and TAR@FAR are exactly what :func:`eer` and :func:`tar_at_far` give on :func:`roc_curve`.
    Binning is monotone (a smaller distance never lands in a later bin), so pairs in different bins
    are ordered by their bins; a pair inside one bin counts one half. That AUC is off by at most
    ``auc_bound`` = half the share of pairs that share a bin; when that exceeds ``auc_tolerance``
    (0: always) those bins are looked at value by value and the AUC is exact (auc_bound 0). Only
    the bins that hold a quantile a figure needs are gathered (one pass per side) and sorted.
    """
    g, i = _check_fast(genuine), _check_fast(impostor)
    b = _Binned(g, i, bins)
    n_g, n_i = len(g), len(i)
    plans = {t: _tar_plan(b, t) for t in targets}
    eer_bins = _eer_bins(b)
    shared = (b.hg > 0) & (b.hi > 0)
    in_bin = float((b.hg * b.hi).sum())  # genuine-impostor pairs that share a bin
    less = float((b.hg * (n_i - b.ci)).sum())  # each genuine against the impostors of later bins
    bound = 0.5 * in_bin / (n_g * n_i)
    wanted = shared.copy() if bound > auc_tolerance else np.zeros(bins, bool)
    wanted[[p[1] for p in plans.values() if p is not None and p[1] is not None] + eer_bins] = True
    b.gather(wanted)
    if bound > auc_tolerance:
        keep_g = np.repeat(shared[wanted], b.hg[wanted])  # gathered values that sit in shared bins
        keep_i = np.repeat(shared[wanted], b.hi[wanted])
        iend = np.cumsum(np.where(shared, b.hi, 0))
        w_less, w_ties = _within_sorted(np.sort(b.gv[keep_g]), np.sort(b.iv[keep_i]), b.lo, b.scale, bins, iend)
        area, bound = (less + w_less + 0.5 * w_ties) / (n_g * n_i), 0.0
    else:
        area = (less + 0.5 * in_bin) / (n_g * n_i)
    tars = {t: _tar_at_far(b, p) for t, p in plans.items()}
    e, th = _eer(b, eer_bins)
    return Figures(float(area), bound, e, th, tars, n_g, n_i)


def _check_fast(v: np.ndarray) -> np.ndarray:
    """float32 or float64 as given (no copy), 1-D, non-empty and finite."""
    v = np.asarray(v)
    v = v.ravel() if v.dtype in (np.float32, np.float64) else v.astype(np.float64).ravel()
    if not len(v):
        raise ValueError("need genuine and impostor pairs (one side is empty)")
    if not np.isfinite(v.min()) or not np.isfinite(v.max()):  # NaN propagates through min/max
        raise ValueError("pair distances hold NaN or inf")
    return v


def allowed_false_accepts(n_impostor: int, target: float) -> int | None:
    """The most impostor pairs FAR <= target allows (decided as ``far <= target`` does, float for
    float); None when target x impostor pairs < 1 (not measurable)."""
    if target * n_impostor < 1:
        return None
    m = int(np.floor(target * n_impostor))
    while (m + 1) <= n_impostor and (m + 1) / n_impostor <= target:
        m += 1
    while m / n_impostor > target:
        m -= 1
    return m


def tar_thresholds(impostor: Tail, n_impostor: int, targets=FAR_TARGETS) -> dict[float, float]:
    """For each FAR target whose deciding impostor pair lies in the exact tail, that pair's
    distance v (the (m+1)-th smallest): TAR@FAR is the share of genuine pairs closer than v."""
    out = {}
    for t in targets:
        m = allowed_false_accepts(n_impostor, t)
        if m is not None and m < len(impostor.values):
            out[t] = float(impostor.values[m])
    return out


def tar_points(thresholds: dict[float, float], genuine_below: dict[float, int], impostor: Tail) -> tuple:
    """Exact curve points just below each v of :func:`tar_thresholds` (genuine_below[t]: genuine
    pairs closer than v): (thresholds, tp, fp) for :class:`PairScores` ``exact_points``."""
    vs = np.array([thresholds[t] for t in thresholds])
    at = np.nextafter(vs, -np.inf)
    fp = np.searchsorted(impostor.values, vs, side="left")  # impostors closer than v: all in the tail
    tp = np.array([genuine_below[t] for t in thresholds], np.int64)
    return at, tp, fp


def _tar_plan(b: _Binned, target: float) -> tuple[int, int | None] | None:
    """(m, bin of the (m+1)-th smallest impostor): m = the most impostors FAR <= target allows."""
    n_i = len(b.i)
    m = allowed_false_accepts(n_i, target)
    if m is None:
        return None
    if m >= n_i:
        return m, None
    return m, int(np.searchsorted(b.ci, m + 1, side="left"))


def _tar_at_far(b: _Binned, plan) -> float | None:
    if plan is None:
        return None
    m, k = plan
    if k is None:
        return 1.0
    before_i = int(b.ci[k - 1]) if k else 0
    v = b.sorted_bin("i", k)[m - before_i]
    before_g = int(b.cg[k - 1]) if k else 0
    return (before_g + int(np.searchsorted(b.sorted_bin("g", k), v, side="left"))) / len(b.g)  # genuine < v


def _eer_bins(b: _Binned) -> list[int]:
    """FAR - FRR rises strictly from one distinct distance to the next, so the crossing sits
    between the points on either side of its sign change: the bin where it changes, and the last
    non-empty one before."""
    diff_end = b.ci / len(b.i) - (1.0 - b.cg / len(b.g))
    k = int(np.argmax(diff_end >= 0))
    nonempty = np.flatnonzero((b.hg + b.hi)[:k] > 0)
    return ([int(nonempty[-1])] if len(nonempty) else []) + [k]


def _eer(b: _Binned, bins: list[int]) -> tuple[float, float]:
    n_i, n_g = len(b.i), len(b.g)
    cands_t, cands_far, cands_frr = [-np.inf], [0.0], [1.0]
    for kk in bins:
        gs, is_ = b.sorted_bin("g", kk), b.sorted_bin("i", kk)
        before_g = int(b.cg[kk - 1]) if kk else 0
        before_i = int(b.ci[kk - 1]) if kk else 0
        ts = np.unique(np.r_[gs, is_])
        cands_t += [float(t) for t in ts]
        cands_far += list((before_i + np.searchsorted(is_, ts, side="right")) / n_i)
        cands_frr += list(1.0 - (before_g + np.searchsorted(gs, ts, side="right")) / n_g)
    order = np.argsort(cands_t, kind="stable")
    return crossing(np.array(cands_far)[order], np.array(cands_frr)[order], np.array(cands_t)[order])
