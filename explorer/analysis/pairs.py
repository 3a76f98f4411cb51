"""Genuine / impostor statistics over ALL pairs of an embedding, without an N x N matrix.

Blocks of rows are compared by float32 matrix products in two worker threads (one BLAS thread
each: OpenBLAS's own threads spin between calls and starve a second stage); a compiled kernel
turns each block into distances, counts them into the two histograms and collects the impostor
pairs below a running cut. Those candidates are recomputed in float64, so the tails are exact.
Genuine pairs (same label, a small share of all pairs) are computed class by class in float64
and kept whole while there are at most ``genuine_limit`` of them.

Beyond ``max_pairs`` pairs, impostor pairs are a uniform random sample of ``sample_size`` pairs
(all genuine pairs are still used); :attr:`PairScores.sampled` then says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from explorer import config
from explorer.analysis.distances import block_distances, prepare
from explorer.analysis.kernels import FORM_DISTANCE, FORMS, bin_block, class_pairs
from explorer.analysis.listed_pairs import pair_distances
from explorer.analysis.scores import PairScores, Tail, histogram_edges, value_histogram
from explorer.analysis.verification import fast_figures, tar_points, tar_thresholds
from explorer.compute import heavy

Progress = Callable[[float, str], None] | None
WORKERS = 2
MIN_CAP = 1 << 16  # candidate buffer per strip (tests shrink it to exercise the overflow path)


def distance_bound(x: np.ndarray, base: str) -> float:
    """An upper bound on any pairwise distance of prepared rows (the histogram's range)."""
    if base == "cosine":
        return 2.0
    if base == "manhattan":
        return float((x.max(0) - x.min(0)).sum())
    centred = x - x.mean(0)
    radius = float(np.sqrt(np.einsum("ij,ij->i", centred, centred).max())) * (1 + 1e-6)
    return (2 * radius) ** 2 if base == "sqeuclidean" else 2 * radius


def _genuine_pairs(x: np.ndarray, y: np.ndarray, base: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every same-label pair (a < b), exact: distances, a, b."""
    order = np.argsort(y, kind="stable")
    starts = np.r_[np.flatnonzero(np.r_[True, np.diff(y[order]) != 0]), len(y)] if len(y) else np.zeros(1, np.int64)
    a, b = class_pairs(order.astype(np.int64), starts.astype(np.int64))
    return pair_distances(x, a, b, base), a, b


class _ImpostorTail:
    """The smallest impostor pairs seen so far, with a cut that only goes down."""

    def __init__(self, k: int, cut: float, margin: float):
        self.k, self.cut, self.margin = k, cut, margin
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.size = 0
        self.lock = threading.Lock()

    def add(self, d: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        with self.lock:
            self.parts.append((d.copy(), a.astype(np.int64), b.astype(np.int64)))
            self.size += len(d)
            if self.size > 4 * self.k:  # amortised: merge and prune only when the pile has doubled
                self._merge()

    def _merge(self) -> None:
        d, a, b = (np.concatenate(p) for p in zip(*self.parts, strict=True))
        if len(d) > self.k:
            self.cut = min(self.cut, float(np.partition(d, self.k - 1)[self.k - 1]))
            keep = d <= self.cut + self.margin
            d, a, b = d[keep], a[keep], b[keep]
        self.parts, self.size = [(d, a, b)], len(d)

    def finish(self, x: np.ndarray, base: str) -> Tail:
        """Exact float64 distances; complete below (final cut - margin)."""
        if not self.parts:
            return Tail.empty(np.inf)
        self._merge()
        _, a, b = self.parts[0]
        exact = pair_distances(x, a, b, base)
        cover = self.cut - self.margin if np.isfinite(self.cut) else np.inf
        keep = exact < cover if np.isfinite(cover) else np.ones(len(exact), bool)
        return Tail.of(exact[keep], a[keep], b[keep], cover)


@dataclass(frozen=True)
class _Blocks:
    x32: np.ndarray
    sq: np.ndarray
    y: np.ndarray
    form: int
    scale: np.float32
    hist: np.ndarray
    sums: np.ndarray
    cap: int


STRIP = 256  # rows per matrix product: a 256 x 1024 float32 strip (1 MiB) stays in cache for the kernel


def _run_block(blk: _Blocks, tail: _ImpostorTail, slot: int, i: int, j: int, size: int, base: str) -> None:
    """Block (i, j) of the pair matrix, strip by strip. A diagonal block's strip is its small
    square on the diagonal (pairs b > a) plus the plain rectangle right of it."""
    stop_i, stop_j = min(i + size, len(blk.y)), min(j + size, len(blk.y))
    for r in range(i, stop_i, STRIP):
        r2 = min(r + STRIP, stop_i)
        if i == j:
            _run_strip(blk, tail, slot, r, r2, r, r2, base, diag=True)
            if r2 < stop_j:
                _run_strip(blk, tail, slot, r, r2, r2, stop_j, base, diag=False)
        else:
            _run_strip(blk, tail, slot, r, r2, j, stop_j, base, diag=False)


def _run_strip(
    blk: _Blocks, tail: _ImpostorTail, slot: int, r: int, r2: int, c: int, c2: int, base: str, diag: bool
) -> None:
    """Pairs of rows r..r2 against rows c..c2 (only b > a when diag)."""
    bufs = [np.empty(blk.cap, t) for t in (np.float32, np.int32, np.int32)]
    n = np.zeros(1, np.int64)
    hist, sums = blk.hist[slot], blk.sums[slot]
    a, b = blk.x32[r:r2], blk.x32[c:c2]
    dots = (a @ b.T) if blk.form != FORM_DISTANCE else block_distances(a, b, base).astype(np.float32)
    ya, yb, na, nb = blk.y[r:r2], blk.y[c:c2], blk.sq[r:r2], blk.sq[c:c2]
    cut = tail.cut + tail.margin
    bin_block(dots, na, nb, ya, yb, diag, blk.form, blk.scale, hist, sums, cut, *bufs, n)
    if n[0] > blk.cap:  # too many candidates under the current cut: tighten it on this strip, collect again
        d = _block_values(dots, na, nb, blk.form)
        skip = ya[:, None] == yb[None, :]
        if diag:
            skip |= np.tril(np.ones(skip.shape, bool))
        cut = min(cut, float(np.partition(d[~skip], blk.cap // 2)[blk.cap // 2]))
        n[:] = 0
        bin_block(dots, na, nb, ya, yb, diag, blk.form, blk.scale, hist, sums, cut, *bufs, n, count=False)
    m = int(min(n[0], blk.cap))
    tail.add(bufs[0][:m], bufs[1][:m] + r, bufs[2][:m] + c)


def _block_values(dots, na, nb, form):
    if form == 0:
        return np.sqrt(np.maximum(na[:, None] + nb[None, :] - 2 * dots, 0))
    if form == 1:
        return np.maximum(na[:, None] + nb[None, :] - 2 * dots, 0)
    if form == 2:
        return np.maximum(1 - dots, 0)
    return dots


def _initial_cut(x: np.ndarray, y: np.ndarray, base: str, k: int, n_imp: int, rng) -> float:
    """A first impostor cut from a random sample: about the 4k/I quantile (generous)."""
    m = min(20_000, n_imp)
    a, b = rng.integers(0, len(x), m), rng.integers(0, len(x), m)
    ok = y[a] != y[b]
    d = pair_distances(x, a[ok], b[ok], base)
    if not len(d):
        return np.inf
    q = min(1.0, 4 * k / max(n_imp, 1))
    return float(np.quantile(d, q)) if q * len(d) >= 20 else float(np.sort(d)[min(len(d) - 1, 20)])


def all_pairs(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    metric: str = "euclidean",
    bins: int = 8192,
    k_tail: int | None = None,
    block: int = 1024,
    max_pairs: int = 1_500_000_000,
    sample_size: int = 20_000_000,
    genuine_limit: int = 5_000_000,
    random_state: int = 0,
    progress: Progress = None,
    engine: ImpostorPass | None = None,
) -> PairScores:
    """Genuine / impostor statistics of all N(N-1)/2 pairs under ``metric``.

    k_tail : impostor pairs kept exactly (default: a little over 10% of impostor pairs, between 1,000
    and 200,000: TAR at FAR 1e-1 stays exact up to 1.9 M impostor pairs, 1e-2 up to 19 M, 1e-3 up
    to 190 M).
    genuine_limit : genuine pairs kept whole; beyond it, their histogram and the largest k_tail of
    them are kept (exact, float64).
    engine : who runs the impostor pass over the blocks of the pair matrix (default: two threads
    here; :class:`explorer.distributed.pairs.RayPairs`: tasks on a Ray cluster, the same counts
    and tails).
    Raises ValueError for NaN/inf vectors or an unknown metric.
    """
    x, base = prepare(vectors, metric)
    if not np.isfinite(x).all():
        raise ValueError("vectors hold NaN or inf: fix or drop those rows before pair statistics")
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    y = y.astype(np.int32)
    n = len(x)
    counts = np.bincount(y)
    n_gen = int((counts * (counts - 1) // 2).sum())
    n_imp = n * (n - 1) // 2 - n_gen
    hi = max(distance_bound(x, base), 1e-12)
    edges, scale = histogram_edges(0.0, hi, bins)
    rng = np.random.default_rng(random_state)
    k = k_tail if k_tail is not None else int(np.clip(n_imp // 9, 1000, 200_000))
    imp = None
    if n * (n - 1) // 2 > max_pairs and n_imp:
        imp, tail = _sampled_impostors(x, y, base, sample_size, k, rng)
        source = f"all genuine pairs, {len(imp):,} impostor pairs sampled uniformly"
        imp_sums = None
        hist_i = value_histogram(imp, 0.0, scale, bins)
    else:
        run = (engine or IN_PROCESS).impostor_pass
        hist_i, tail, imp_sums = run(x, y, base, n_imp, k, block, scale, bins, rng, progress)
        source = "all pairs"
    exact_points = None
    if n_gen <= genuine_limit:
        g, ga, gb = _genuine_pairs(x, y, base)
        hist_g, gen_tail, gen_sums = (
            value_histogram(g, 0.0, scale, bins),
            Tail.of(g, ga, gb, -np.inf),
            (float(g.sum()), float((g * g).sum())),
        )
    else:
        g = None
        # TAR@FAR stays exact: the genuine pairs closer than each deciding impostor are counted
        vs = tar_thresholds(tail, int(hist_i.sum()))
        hist_g, gen_tail, gen_sums, below = _genuine_stream(x, y, base, scale, bins, k, vs)
        exact_points = tar_points(vs, below, tail) if vs else None
    if imp_sums is None:
        moments = (float(imp.sum()), float((imp * imp).sum()))
    else:  # the kernel sums every pair (float32 distances); the exact genuine sums come off
        moments = (imp_sums[0] - gen_sums[0], imp_sums[1] - gen_sums[1])
    # with the sample's raw distances at hand, the headline figures are exact over the sample
    figures = fast_figures(g, imp) if imp is not None and g is not None and len(g) and len(imp) else None
    return PairScores(
        metric, edges, hist_g, hist_i, gen_tail, tail, gen_sums, moments, n_imp, source, figures, exact_points
    )


def _genuine_stream(x, y, base, scale, bins, k, below_of: dict[float, float]):
    """Genuine pairs too many to keep: class by class in row blocks, counted into the histogram,
    summed, and the k largest kept (exact float64); the tail covers distances above its smallest.
    below_of: {key: v}; also returns {key: genuine pairs with distance < v}."""
    hist = np.zeros(bins, np.int64)
    below = dict.fromkeys(below_of, 0)
    s1 = s2 = 0.0
    keep_d, keep_a, keep_b = np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        for s in range(0, len(idx), 1024):
            rows = idx[s : s + 1024]
            d = block_distances(x[rows], x[idx], base)
            r, cc = np.nonzero(np.arange(len(idx))[None, :] > (s + np.arange(len(rows)))[:, None])
            v = d[r, cc]
            hist += np.bincount(np.minimum((v * scale).astype(np.int64), bins - 1), minlength=bins)
            s1, s2 = s1 + float(v.sum()), s2 + float((v * v).sum())
            for key, t in below_of.items():
                below[key] += int(np.count_nonzero(v < t))
            keep_d, keep_a, keep_b = np.r_[keep_d, v], np.r_[keep_a, rows[r]], np.r_[keep_b, idx[cc]]
            if len(keep_d) > 2 * k:
                top = np.argpartition(keep_d, len(keep_d) - k)[len(keep_d) - k :]
                keep_d, keep_a, keep_b = keep_d[top], keep_a[top], keep_b[top]
    top = np.argpartition(keep_d, len(keep_d) - k)[len(keep_d) - k :] if len(keep_d) > k else np.arange(len(keep_d))
    cover = float(keep_d[top].min()) if len(top) < hist.sum() else -np.inf  # -inf: every pair was kept
    return hist, Tail.of(keep_d[top], keep_a[top], keep_b[top], cover), (s1, s2), below


class ImpostorPass(Protocol):
    """Runs the impostor pass: (impostor histogram, exact impostor tail, (sum, sum of squares))."""

    def impostor_pass(self, x, y, base, n_imp, k, block, scale, bins, rng, progress) -> tuple: ...


def block_setup(x, y, base, n_imp, k, block, scale, bins, rng, *, workers: int = WORKERS):
    """What every block of the pass shares: the float32 rows (centred), their squared norms, the
    histogram scale, the candidate buffer, the float32 margin and a first cut; and the blocks
    (i, j), j >= i, of ``block`` rows each."""
    center = x - x.mean(0) if base in ("euclidean", "sqeuclidean") else x  # less cancellation in float32
    x32 = np.ascontiguousarray(center, np.float32)
    form = FORMS.get(base, FORM_DISTANCE)
    hist = np.zeros((workers, 2 * bins), np.int64)  # impostor bins, then genuine bins
    sums = np.zeros((workers, 2))
    blk = _Blocks(x32, (x32 * x32).sum(1), y, form, np.float32(scale), hist, sums, max(2 * k, MIN_CAP))
    margin = _float32_margin(base, float(blk.sq.max()) if len(x) else 0.0)
    cut = _initial_cut(x, y, base, k, n_imp, rng) if n_imp else -np.inf
    starts = range(0, len(x), block)
    return blk, margin, cut, [(i, j) for i in starts for j in starts if j >= i]


class InProcess:
    """Two worker threads here, sharing one running cut."""

    def impostor_pass(self, x, y, base, n_imp, k, block, scale, bins, rng, progress):
        blk, margin, cut, tasks = block_setup(x, y, base, n_imp, k, block, scale, bins, rng)
        hist, sums = blk.hist, blk.sums
        tail = _ImpostorTail(k, cut, margin)
        slots: dict[int, int] = {}
        lock = threading.Lock()

        def work(ij):
            with lock:
                slot = slots.setdefault(threading.get_ident(), len(slots))
            _run_block(blk, tail, slot, ij[0], ij[1], block, base)

        # progress is reported from the calling thread only (a UI may not be touched from workers)
        with heavy(blas_threads=1), ThreadPoolExecutor(WORKERS) as pool:
            for done, fut in enumerate(as_completed([pool.submit(work, ij) for ij in tasks]), 1):
                fut.result()
                if progress and (done % 8 == 0 or done == len(tasks)):
                    progress(done / len(tasks), f"pairs: block {done:,} of {len(tasks):,}")
        # sums of every pair's float32 distance (relative error ~1e-6, not binned)
        # the kernel's genuine half goes unused: genuine pairs are counted exactly, class by class
        return hist.sum(0)[:bins], tail.finish(x, base), (float(sums[:, 0].sum()), float(sums[:, 1].sum()))


IN_PROCESS = InProcess()


def _float32_margin(base: str, sq_max: float) -> float:
    """A generous bound on the float32 error of a kernel distance (rows of squared norm <= sq_max):
    candidates are taken this far past the cut, so none that float64 puts below it is missed."""
    if base == "cosine":
        return 1e-5
    scale = 1e-5 * max(sq_max, 1.0)  # ~100x float32's rounding of |a|^2 + |b|^2 - 2ab
    return scale if base == "sqeuclidean" else float(np.sqrt(scale))


def _sampled_impostors(x, y, base, size, k, rng):
    """A uniform sample of impostor pairs (a != b, different labels), exact distances. Drawn in
    int32, about as many as the impostor share needs, and one partition gives both the tail and
    the value that bounds it."""
    n = len(x)
    y = np.asarray(y, np.int32)
    share = max(1.0 - float((np.bincount(y).astype(np.float64) ** 2).sum()) / n**2, 1e-3)
    a_all, b_all = [], []
    need = size
    while need > 0:
        m = int(need / share * 1.05) + 1000
        a = rng.integers(0, n, m, dtype=np.int32)
        b = rng.integers(0, n, m, dtype=np.int32)
        ok = np.flatnonzero(y[a] != y[b])[:need]
        a_all.append(a[ok])
        b_all.append(b[ok])
        need -= len(ok)
    a, b = np.concatenate(a_all), np.concatenate(b_all)
    a, b = np.minimum(a, b), np.maximum(a, b)
    d = pair_distances(x, a, b, base)
    if len(d) > k:
        part = np.argpartition(d, k)
        order, cover = part[:k], float(d[part[k]])
    else:
        order, cover = np.arange(len(d)), np.inf
    return d, Tail.of(d[order], a[order].astype(np.int64), b[order].astype(np.int64), cover)


def configured_pairs(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    metric: str,
    sample_size: int | None = None,
    progress: Progress = None,
    engine: ImpostorPass | None = None,
) -> PairScores:
    """``all_pairs`` under the operator's settings: impostor pairs sampled beyond
    EXPLORER_MAX_PAIRS pairs, EXPLORER_IMPOSTOR_SAMPLE of them (or ``sample_size``)."""
    cfg = config.settings()
    return all_pairs(
        vectors,
        labels,
        metric=metric,
        max_pairs=cfg.max_pairs,
        sample_size=cfg.impostor_sample if sample_size is None else sample_size,
        progress=progress,
        engine=engine,
    )
