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
    _, inverse, counts = np.unique(x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel(),
                                   return_inverse=True, return_counts=True)
    dup = np.flatnonzero(counts[inverse] > 1)
    return pd.DataFrame({"item": dup, "group": inverse[dup], "group_size": counts[inverse[dup]]}).sort_values(
        ["group", "item"], ignore_index=True)


def near_duplicates(vectors: np.ndarray, *, index: NeighborIndex, radius: float, k: int = 10) -> pd.DataFrame:
    """Pairs (a < b) closer than ``radius`` (in the index's metric) among each item's k nearest,
    byte-identical ones included: columns a, b, distance, closest first."""
    rows = np.arange(len(vectors))
    d, nb = index.query(vectors, min(k, len(vectors) - 1), exclude=rows)
    a = np.repeat(rows, nb.shape[1])
    close = d.ravel() <= radius
    pairs = pd.DataFrame({"a": np.minimum(a, nb.ravel())[close], "b": np.maximum(a, nb.ravel())[close],
                          "distance": d.ravel()[close]})
    return pairs.drop_duplicates(["a", "b"]).sort_values("distance", ignore_index=True)


def label_suspects(labels: np.ndarray, *, vectors: np.ndarray, index: NeighborIndex, k: int = 10,
                   max_agreement: float = 0.2) -> pd.DataFrame:
    """Items whose k nearest neighbours mostly carry another label: columns item, label,
    neighbour_label (the most common among the neighbours), agreement (share of neighbours with
    the item's own label) and support (share with neighbour_label); least agreement first."""
    labels = np.asarray(labels).astype(str)
    classes, y = np.unique(labels, return_inverse=True)
    rows = np.arange(len(y))
    _, nb = index.query(vectors, min(k, len(y) - 1), exclude=rows)
    ny = y[nb]
    agree = (ny == y[:, None]).mean(axis=1)
    counts = np.zeros((len(y), len(classes)), np.int64)
    np.add.at(counts, (np.repeat(rows, ny.shape[1]), ny.ravel()), 1)
    top = counts.argmax(axis=1)
    flag = (agree <= max_agreement) & (top != y)
    out = pd.DataFrame({"item": rows[flag], "label": classes[y[flag]], "neighbour_label": classes[top[flag]],
                        "agreement": agree[flag], "support": counts[flag, top[flag]] / ny.shape[1]})
    return out.sort_values(["agreement", "support"], ascending=[True, False], ignore_index=True)


def outliers(vectors: np.ndarray, labels: np.ndarray, *, metric: str = "euclidean", z: float = 3.5) -> pd.DataFrame:
    """Items far from their class centroid: robust z = 0.6745 (d - median) / MAD within the class
    above ``z`` (Iglewicz and Hoaglin). Columns item, label, distance, robust_z; farthest first.
    Classes with fewer than 5 items are not judged."""
    x, base = prepare(vectors, metric)
    labels = np.asarray(labels).astype(str)
    rows = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 5:
            continue
        centre = x[idx].mean(0)
        if base == "cosine":
            centre = centre / max(np.linalg.norm(centre), 1e-12)
            d = 1.0 - x[idx] @ centre
        elif base == "manhattan":
            d = np.abs(x[idx] - centre).sum(1)
        else:
            d = ((x[idx] - centre) ** 2).sum(1)
            d = d if base == "sqeuclidean" else np.sqrt(d)
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

