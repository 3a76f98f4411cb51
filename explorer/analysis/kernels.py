"""Compiled inner loops for pair statistics (numba, which ships with umap-learn).

Hand-written because no library counts a block of pair distances into two histograms (split by
label) while keeping the extreme pairs: NumPy would need a mask, a boolean gather and a bincount
per side, five passes over memory per block, and it is the hot path of every all-pairs figure.
Each kernel takes its chunk of rows through ``prange`` with a private histogram and candidate
buffer per chunk, so there are no races.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

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
    for t in prange(chunks):
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


@njit(nogil=True, parallel=True, cache=True)
def bin_values(values, lo, scale, nbins, chunks):  # pragma: no cover - compiled
    """Histogram of 1-D values: bin = int((v - lo) * scale) clipped to [0, nbins). (chunks, nbins)."""
    hist = np.zeros((chunks, nbins), np.int64)
    n = values.shape[0]
    for t in prange(chunks):
        for i in range(n * t // chunks, n * (t + 1) // chunks):
            k = int((values[i] - lo) * scale)
            hist[t, min(max(k, 0), nbins - 1)] += 1
    return hist


@njit(nogil=True, cache=True)
def gather_bins(values, lo, scale, nbins, wanted, offsets):  # pragma: no cover - compiled
    """The values whose bin is marked in ``wanted`` (bool, nbins), grouped by bin: bin k's values
    land at out[offsets[k]:offsets[k + 1]] (offsets from the counts of the wanted bins)."""
    out = np.empty(offsets[-1], values.dtype)
    fill = offsets[:-1].copy()
    for i in range(values.shape[0]):
        k = min(max(int((values[i] - lo) * scale), 0), nbins - 1)
        if wanted[k]:
            out[fill[k]] = values[i]
            fill[k] += 1
    return out
