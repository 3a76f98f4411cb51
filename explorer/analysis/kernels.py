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

# How a block of dot products becomes distances.
FORM_EUCLIDEAN, FORM_SQEUCLIDEAN, FORM_COSINE, FORM_DISTANCE = 0, 1, 2, 3
FORMS = {"euclidean": FORM_EUCLIDEAN, "sqeuclidean": FORM_SQEUCLIDEAN, "cosine": FORM_COSINE}


@njit(nogil=True, cache=True, fastmath=True)
def bin_block(dots, na, nb, ya, yb, diag, form, scale, hist_g, hist_i, mom_i, cut_imp, cut_gen,
              cand_d, cand_a, cand_b, cand_n, count):  # pragma: no cover - compiled
    """Count one block of pairs into per-chunk histograms and collect the extreme pairs.

    dots (r, c) float32: dot products (forms 0-2) or distances (form 3) of rows a of the left
    block and b of the right; na, nb: float32 squared norms; ya, yb: int32 label codes; diag: the
    block is on the diagonal (only b > a counts). Bin = int(d * scale), clipped to the last bin.
    mom_i (chunks, 2) float64 accumulates the sum and sum of squares of impostor distances.
    Impostor pairs with d < cut_imp go to side 0 of the candidate buffers, genuine pairs with
    d > cut_gen to side 1; cand_n[side, chunk] counts past the buffer's capacity (overflow).
    count=False only collects candidates (a rerun with a tighter cut).
    Two loops per row: the first (distances and bins) vectorises, the second scatters.
    """
    r, c = dots.shape
    chunks, nbins = hist_g.shape
    cap = cand_d.shape[2]
    two, zero, one = np.float32(2.0), np.float32(0.0), np.float32(1.0)
    for t in range(chunks):
        hg = hist_g[t]
        hi = hist_i[t]
        ds = np.empty(c, np.float32)
        ks = np.empty(c, np.int32)
        s1 = 0.0
        s2 = 0.0
        for a in range(t, r, chunks):
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
                ks[b] = min(np.int32(ds[b] * scale), nbins - 1)
            for b in range(a + 1 if diag else 0, c):
                d = ds[b]
                if la == yb[b]:
                    if count:
                        hg[ks[b]] += 1
                    if d > cut_gen:
                        n = cand_n[1, t]
                        if n < cap:
                            cand_d[1, t, n] = d
                            cand_a[1, t, n] = a
                            cand_b[1, t, n] = b
                        cand_n[1, t] = n + 1
                else:
                    if count:
                        hi[ks[b]] += 1
                        s1 += d
                        s2 += np.float64(d) * d
                    if d < cut_imp:
                        n = cand_n[0, t]
                        if n < cap:
                            cand_d[0, t, n] = d
                            cand_a[0, t, n] = a
                            cand_b[0, t, n] = b
                        cand_n[0, t] = n + 1
        mom_i[t, 0] += s1
        mom_i[t, 1] += s2


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


def gather_bins(values: np.ndarray, lo: float, scale: float, nbins: int, wanted: np.ndarray,
                parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
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
            list(pool.map(lambda a: _gather(a[0], lo, scale, nbins, wanted, a[1], out), zip(halves, fills, strict=True)))
    return out, offsets
