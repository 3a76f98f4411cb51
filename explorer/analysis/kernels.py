"""Compiled inner loops for pair statistics (numba, which ships with umap-learn).

Hand-written because no library counts a block of pair distances into two histograms (split by
label) while keeping the extreme pairs: NumPy would need a mask, a boolean gather and a bincount
per side, five passes over memory per block, and it is the hot path of every all-pairs figure.
The kernels are serial and release the GIL; callers run them in worker threads, each with a
private histogram and candidate buffer (numba's own parallel layer is not safe to enter from
several server threads at once).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from explorer.analysis.metrics import TABLE

# How a block of dot products becomes distances.
FORM_EUCLIDEAN, FORM_SQEUCLIDEAN, FORM_COSINE, FORM_DISTANCE = 0, 1, 2, 3
FORMS = {n: m.code for n, m in TABLE.items() if m.from_dots}  # the codes equal FORM_EUCLIDEAN .. FORM_COSINE


def bin_block(dots, na, nb, ya, yb, diag, form, scale, hist, sums, cut, cand_d, cand_a, cand_b, cand_n, count=True):
    """Count one block of pairs into a histogram and collect the closest impostor pairs.

    dots (r, c) float32, C-contiguous: dot products (forms 0-2) or distances (form 3) of rows a of
    the left block and b of the right; na, nb: float32 squared norms; ya, yb: int32 label codes;
    diag: a square block of a set against itself (only b > a counts; keep these small, their loops
    are plain). Bin k = int(d * scale), clipped to the last of B bins. hist (2B,) int64 gets
    impostor pairs at k and genuine pairs at B + k; sums (2,) float64 gets the sum and sum of
    squares of ALL the block's distances (the caller takes the genuine ones off). Impostor pairs
    with d < cut go to the candidate buffers (cap,), as block rows and columns; cand_n[0] counts
    past the capacity (overflow). count=False only collects candidates.
    """
    args = (form, np.float32(scale), hist, sums, np.float32(cut), cand_d, cand_a, cand_b, cand_n)
    if diag or not count:
        _bin_plain(dots, na, nb, ya, yb, *args, count, diag)
    else:
        _bin_rect(dots, na, nb, ya, yb, *args)


@njit(nogil=True, cache=True, fastmath=True)
def _bin_rect(
    dots, na, nb, ya, yb, form, scale, hist, sums, cut, cand_d, cand_a, cand_b, cand_n
):  # pragma: no cover - compiled
    """Every pair (a, b) of a C-contiguous block. Per row, three vectorised loops (distances; bin +
    side codes; float32 row sums), then one scatter: a single increment per pair, the label folded
    into the code. Whole rows only: slicing rows inside the loop costs a fifth of the speed."""
    c = dots.shape[1]
    nbins = hist.shape[0] // 2
    cap = cand_d.shape[0]
    two, zero, one = np.float32(2.0), np.float32(0.0), np.float32(1.0)
    ds = np.empty(c, np.float32)
    code = np.empty(c, np.int32)
    s1 = 0.0
    s2 = 0.0
    for a in range(dots.shape[0]):
        la = ya[a]
        sa = na[a]
        row = dots[a]
        if form == 0:
            for b in range(c):
                ds[b] = np.sqrt(max(sa + nb[b] - two * row[b], zero))
        elif form == 1:
            for b in range(c):
                ds[b] = max(sa + nb[b] - two * row[b], zero)
        elif form == 2:
            for b in range(c):
                ds[b] = max(one - row[b], zero)
        else:
            for b in range(c):
                ds[b] = row[b]
        for b in range(c):
            code[b] = min(np.int32(ds[b] * scale), nbins - 1) + (nbins if la == yb[b] else 0)
        r1 = np.float32(0.0)
        r2 = np.float32(0.0)
        for b in range(c):
            r1 += ds[b]
            r2 += ds[b] * ds[b]
        s1 += r1
        s2 += r2
        for b in range(c):
            hist[code[b]] += 1
            if ds[b] < cut and la != yb[b]:
                n = cand_n[0]
                if n < cap:
                    cand_d[n] = ds[b]
                    cand_a[n] = a
                    cand_b[n] = b
                cand_n[0] = n + 1
    sums[0] += s1
    sums[1] += s2


@njit(nogil=True, cache=True)
def _bin_plain(
    dots, na, nb, ya, yb, form, scale, hist, sums, cut, cand_d, cand_a, cand_b, cand_n, count, diag
):  # pragma: no cover - compiled
    """Plain scalar loops over the pairs (a, b), b > a when ``diag``: the squares on the diagonal
    of the pair matrix, and candidate-only reruns."""
    nbins = hist.shape[0] // 2
    cap = cand_d.shape[0]
    for a in range(dots.shape[0]):
        for b in range(a + 1 if diag else 0, dots.shape[1]):
            v = dots[a, b]
            if form == 0:
                d = np.sqrt(max(na[a] + nb[b] - np.float32(2.0) * v, np.float32(0.0)))
            elif form == 1:
                d = max(na[a] + nb[b] - np.float32(2.0) * v, np.float32(0.0))
            elif form == 2:
                d = max(np.float32(1.0) - v, np.float32(0.0))
            else:
                d = v
            genuine = ya[a] == yb[b]
            if count:
                hist[min(np.int32(d * scale), nbins - 1) + (nbins if genuine else 0)] += 1
                sums[0] += d
                sums[1] += np.float64(d) * d
            if d < cut and not genuine:
                n = cand_n[0]
                if n < cap:
                    cand_d[n] = d
                    cand_a[n] = a
                    cand_b[n] = b
                cand_n[0] = n + 1


@njit(nogil=True, cache=True)
def _bin_values(values, lo, scale, nbins):  # pragma: no cover - compiled
    hist = np.zeros(nbins, np.int64)
    for i in range(values.shape[0]):
        k = int((values[i] - lo) * scale)
        hist[min(max(k, 0), nbins - 1)] += 1
    return hist


def _halves(values: np.ndarray) -> list[np.ndarray]:
    if len(values) < 1 << 20:
        return [values]
    return [values[: len(values) // 2], values[len(values) // 2 :]]


def bin_value_parts(values: np.ndarray, lo: float, scale: float, nbins: int) -> list[np.ndarray]:
    """Histograms of the halves of ``values`` (one per thread; one part for small inputs);
    bin = int((v - lo) * scale) clipped to [0, nbins). The kernel releases the GIL."""
    parts = _halves(values)
    if len(parts) == 1:
        return [_bin_values(values, lo, scale, nbins)]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda v: _bin_values(v, lo, scale, nbins), parts))


def bin_values(values: np.ndarray, lo: float, scale: float, nbins: int) -> np.ndarray:
    """Histogram of 1-D values (see :func:`bin_value_parts`)."""
    return np.sum(bin_value_parts(values, lo, scale, nbins), axis=0)


@njit(nogil=True, cache=True)
def _gather(values, lo, scale, nbins, wanted, fill, out):  # pragma: no cover - compiled
    for i in range(values.shape[0]):
        k = min(max(int((values[i] - lo) * scale), 0), nbins - 1)
        if wanted[k]:
            out[fill[k]] = values[i]
            fill[k] += 1


def gather_bins(
    values: np.ndarray, lo: float, scale: float, nbins: int, wanted: np.ndarray, parts: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The values whose bin is marked in ``wanted``, grouped by bin in bin order, and the offsets
    (bin k's values at out[offsets[k]:offsets[k + 1]]). ``parts``: the per-half histograms of
    :func:`bin_value_parts`, so each half is gathered by its own thread into its own slots."""
    counts = [np.where(wanted, h, 0) for h in parts]
    offsets = np.r_[0, np.cumsum(np.sum(counts, axis=0))]
    out = np.empty(offsets[-1], values.dtype)
    fills = [offsets[:-1].copy()]
    if len(parts) == 2:
        fills.append(offsets[:-1] + counts[0])
    halves = _halves(values)
    if len(halves) == 1:
        _gather(values, lo, scale, nbins, wanted, fills[0], out)
    else:
        with ThreadPoolExecutor(2) as pool:
            list(
                pool.map(lambda a: _gather(a[0], lo, scale, nbins, wanted, a[1], out), zip(halves, fills, strict=True))
            )
    return out, offsets


@njit(nogil=True, cache=True, fastmath=True)
def pair_rows_distance(x, a, b, base):  # pragma: no cover - compiled
    """Exact float64 distances of row pairs (a[k], b[k]) of x; base 0 euclidean, 1 sqeuclidean,
    2 cosine (rows already unit length), 3 manhattan. No (n, D) temporaries, unlike a gather.
    x may be float32 (its values taken exactly, the arithmetic in float64): half the memory
    traffic of random row pairs, the same result."""
    out = np.empty(a.shape[0])
    d = x.shape[1]
    for k in range(a.shape[0]):
        i, j = a[k], b[k]
        s = 0.0
        if base == 2:
            for c in range(d):
                s += np.float64(x[i, c]) * np.float64(x[j, c])
            out[k] = min(max(1.0 - s, 0.0), 2.0)
        elif base == 3:
            for c in range(d):
                s += abs(np.float64(x[i, c]) - np.float64(x[j, c]))
            out[k] = s
        else:
            for c in range(d):
                t = np.float64(x[i, c]) - np.float64(x[j, c])
                s += t * t
            out[k] = np.sqrt(s) if base == 0 else s
    return out


@njit(nogil=True, cache=True)
def class_pairs(order, starts):  # pragma: no cover - compiled
    """Every pair (a < b by position) inside each class; order: item indices sorted by class,
    starts: where each class begins in order (plus the end)."""
    total = 0
    for c in range(len(starts) - 1):
        m = starts[c + 1] - starts[c]
        total += m * (m - 1) // 2
    a = np.empty(total, np.int64)
    b = np.empty(total, np.int64)
    k = 0
    for c in range(len(starts) - 1):
        for p in range(starts[c], starts[c + 1]):
            for q in range(p + 1, starts[c + 1]):
                a[k] = min(order[p], order[q])
                b[k] = max(order[p], order[q])
                k += 1
    return a, b
