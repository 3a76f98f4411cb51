"""Open-set 1:N identification figures of an embedding (NIST FRTE's vocabulary).

Per identity the first item is enrolled and the others are probes; a share of the identities is
held back, unenrolled, so that their items are non-mated probes (unknown people). For a mated
probe the search misses when its mate is not the rank-1 candidate or is farther than the
threshold (FNIR); for a non-mated probe it falsely returns someone when any candidate is within the
threshold (FPIR). FPIR grows with the gallery size N, which is reported with the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.analysis.distances import pairwise


@dataclass(frozen=True)
class OpenSetResult:
    gallery_size: int  # N: enrolled identities (one item each)
    mated: int  # probes of enrolled identities
    non_mated: int  # probes of held-back identities
    rank1: float  # share of mated probes whose rank-1 candidate is their mate
    rank5: float
    thresholds: np.ndarray  # ascending
    fnir: np.ndarray  # at each threshold
    fpir: np.ndarray
    unknown_identities: list[str]


def open_set(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    unknown_fraction: float = 0.2,
    metric: str = "euclidean",
    random_state: int = 0,
) -> OpenSetResult:
    """Enrol the first item of each identity, hold back ``unknown_fraction`` of the identities (seeded),
    search every other item. Raises ValueError when there is nothing to search."""
    labels = np.asarray(labels).astype(str)
    names = list(dict.fromkeys(labels.tolist()))  # in order of first appearance
    n_unknown = int(round(len(names) * unknown_fraction)) if len(names) > 2 else 0
    unknown = set(np.random.default_rng(random_state).choice(names, n_unknown, replace=False).tolist())
    known = [n for n in names if n not in unknown]
    enrolled, probes = open_set_rows(labels, unknown)
    strangers = np.flatnonzero(np.isin(labels, list(unknown)))
    if len(known) < 2 or not len(probes):
        raise ValueError("1:N needs at least two identities with a second item to search with")
    gallery_labels = labels[enrolled]
    d_mated = pairwise(vectors[probes], vectors[enrolled], metric=metric)
    order = np.argsort(d_mated, axis=1, kind="stable")
    ranked = gallery_labels[order]
    hit = ranked == labels[probes][:, None]
    rank1, rank5 = float(hit[:, 0].mean()), float(hit[:, :5].any(axis=1).mean())
    top_d = d_mated[np.arange(len(probes)), order[:, 0]]
    d_non = (
        pairwise(vectors[strangers], vectors[enrolled], metric=metric).min(axis=1) if len(strangers) else np.zeros(0)
    )
    thresholds = np.unique(np.r_[top_d, d_non, 0.0])
    # a mated search succeeds at t when its rank-1 is the mate and within t
    ok = np.sort(top_d[hit[:, 0]])
    fnir = 1.0 - np.searchsorted(ok, thresholds, side="right") / len(probes)
    fpir = np.searchsorted(np.sort(d_non), thresholds, side="right") / max(len(strangers), 1)
    return OpenSetResult(len(known), len(probes), len(strangers), rank1, rank5, thresholds, fnir, fpir, sorted(unknown))


def open_set_rows(labels: np.ndarray, unknown) -> tuple[np.ndarray, np.ndarray]:
    """(enrolled, mated probes) of an open-set measurement: the first item of each identity not
    held back, and those identities' other items."""
    labels = np.asarray(labels).astype(str)
    names = [n for n in dict.fromkeys(labels.tolist()) if n not in set(unknown)]
    enrolled = np.array([int(np.flatnonzero(labels == n)[0]) for n in names], np.int64)
    probes = np.setdiff1d(np.flatnonzero(~np.isin(labels, list(unknown))), enrolled)
    return enrolled, probes


def fnir_at_fpir(result: OpenSetResult, target: float) -> tuple[float, float] | None:
    """The lowest FNIR whose FPIR is at most ``target``, and its threshold; None without unknown probes."""
    if not result.non_mated:
        return None
    ok = result.fpir <= target
    if not ok.any():
        return None
    i = int(np.flatnonzero(ok)[np.argmin(result.fnir[ok])])
    return float(result.fnir[i]), float(result.thresholds[i])
