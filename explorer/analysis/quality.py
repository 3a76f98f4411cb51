"""Data-quality flags from an embedding: duplicates, likely label errors, outliers.

Each flag is a DataFrame of item rows (indices into the embedding) with the evidence, so a page
can show thumbnails beside it and a person can judge. Neighbours come from a NeighborIndex.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.analysis.distances import prepare
from explorer.analysis.neighbors import NeighborIndex


def exact_duplicates(vectors: np.ndarray) -> pd.DataFrame:
    """Groups of items with byte-identical embeddings: columns item, group, group_size."""
    x = np.ascontiguousarray(vectors)
    _, inverse, counts = np.unique(
        x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel(), return_inverse=True, return_counts=True
    )
    dup = np.flatnonzero(counts[inverse] > 1)
    return pd.DataFrame({"item": dup, "group": inverse[dup], "group_size": counts[inverse[dup]]}).sort_values(
        ["group", "item"], ignore_index=True
    )


def neighbours(vectors: np.ndarray, index: NeighborIndex, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Each item's k nearest other items, (distances, indices): one query the flags below share."""
    rows = np.arange(len(vectors))
    return index.query(vectors, min(k, len(vectors) - 1), exclude=rows)


def near_duplicates(nearest: tuple[np.ndarray, np.ndarray], *, radius: float) -> pd.DataFrame:
    """Pairs (a < b) closer than ``radius`` among each item's nearest (from :func:`neighbours`),
    byte-identical ones included: columns a, b, distance, closest first."""
    d, nb = nearest
    a = np.repeat(np.arange(len(nb)), nb.shape[1])
    close = d.ravel() <= radius
    pairs = pd.DataFrame(
        {"a": np.minimum(a, nb.ravel())[close], "b": np.maximum(a, nb.ravel())[close], "distance": d.ravel()[close]}
    )
    return pairs.drop_duplicates(["a", "b"]).sort_values("distance", ignore_index=True)


def label_suspects(
    labels: np.ndarray, nearest: tuple[np.ndarray, np.ndarray], *, max_agreement: float = 0.2
) -> pd.DataFrame:
    """Items whose nearest neighbours (from :func:`neighbours`) mostly carry another label:
    columns item, label, neighbour_label (the most common among the neighbours), agreement (share
    of neighbours with the item's own label) and support (share with neighbour_label); least
    agreement first.

    An item is judged on as many neighbours as its class could fill (class size - 1, at most the k
    given): an item of a 3-item class has only 2 same-label items to find, so its 3rd to 10th
    neighbours carry another label whatever the embedding, and are no evidence. Items of one-item
    classes have nothing to find and are never flagged."""
    labels = np.asarray(labels).astype(str)
    classes, y = np.unique(labels, return_inverse=True)
    rows = np.arange(len(y))
    ny = y[nearest[1]]
    room = np.minimum(np.bincount(y)[y] - 1, ny.shape[1])  # neighbours that could share the label
    used = np.arange(ny.shape[1])[None, :] < room[:, None]
    n_used = np.maximum(room, 1)
    agree = ((ny == y[:, None]) & used).sum(axis=1) / n_used
    counts = np.zeros((len(y), len(classes)), np.int64)
    np.add.at(counts, (np.repeat(rows, ny.shape[1])[used.ravel()], ny.ravel()[used.ravel()]), 1)
    top = counts.argmax(axis=1)
    flag = (room > 0) & (agree <= max_agreement) & (top != y)
    out = pd.DataFrame(
        {
            "item": rows[flag],
            "label": classes[y[flag]],
            "neighbour_label": classes[top[flag]],
            "agreement": agree[flag],
            "support": counts[flag, top[flag]] / n_used[flag],
        }
    )
    return out.sort_values(["agreement", "support"], ascending=[True, False], ignore_index=True)


def centre_distances(vectors: np.ndarray, labels: np.ndarray, *, metric: str = "euclidean") -> np.ndarray:
    """(N,) each item's distance, under ``metric``, to the centre of its class (for cosine, the
    centre is the normalised mean of the unit rows)."""
    x, base = prepare(vectors, metric)
    labels = np.asarray(labels).astype(str)
    out = np.empty(len(x))
    for c in np.unique(labels):
        idx = labels == c
        centre = x[idx].mean(0)
        if base == "cosine":
            out[idx] = 1.0 - x[idx] @ (centre / max(np.linalg.norm(centre), 1e-12))
        elif base == "manhattan":
            out[idx] = np.abs(x[idx] - centre).sum(1)
        else:
            sq = ((x[idx] - centre) ** 2).sum(1)
            out[idx] = sq if base == "sqeuclidean" else np.sqrt(sq)
    return out


def outliers(vectors: np.ndarray, labels: np.ndarray, *, metric: str = "euclidean", z: float = 3.5) -> pd.DataFrame:
    """Items far from their class centroid: robust z = 0.6745 (d - median) / MAD within the class
    above ``z`` (Iglewicz and Hoaglin). Columns item, label, distance, robust_z; farthest first.
    Classes with fewer than 5 items are not judged."""
    labels = np.asarray(labels).astype(str)
    dist = centre_distances(vectors, labels, metric=metric)
    rows = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 5:
            continue
        d = dist[idx]
        med = np.median(d)
        mad = np.median(np.abs(d - med))
        if mad == 0:
            continue
        rz = 0.6745 * (d - med) / mad
        hit = rz > z
        rows.append(pd.DataFrame({"item": idx[hit], "label": c, "distance": d[hit], "robust_z": rz[hit]}))
    if not rows:
        return pd.DataFrame(columns=["item", "label", "distance", "robust_z"])
    return pd.concat(rows).sort_values("robust_z", ascending=False, ignore_index=True)
