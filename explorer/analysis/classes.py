"""Per-class structure: which classes spread widest, which class pairs sit closest."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.analysis.distances import block_distances, prepare


def class_spread(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    metric: str = "euclidean",
    max_per_class: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Mean distance over the pairs inside each class (classes larger than ``max_per_class`` are
    sampled), widest first. Columns: class, items, mean_distance (NaN for one-item classes)."""
    x, base = prepare(vectors, metric)
    labels = np.asarray(labels).astype(str)
    rng = np.random.default_rng(random_state)
    rows = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) > max_per_class:
            idx = rng.choice(idx, max_per_class, replace=False)
        d = block_distances(x[idx], x[idx], base)
        n = len(idx)
        mean = float(d[np.triu_indices(n, 1)].mean()) if n > 1 else float("nan")
        rows.append((c, int((labels == c).sum()), mean))
    frame = pd.DataFrame(rows, columns=["class", "items", "mean_distance"])
    return frame.sort_values("mean_distance", ascending=False, na_position="last").reset_index(drop=True)


def closest_class_pairs(
    vectors: np.ndarray, labels: np.ndarray, *, metric: str = "euclidean", top: int = 10
) -> pd.DataFrame:
    """Class pairs whose centroids are closest under ``metric``. Columns: class_a, class_b, centroid_distance."""
    x, base = prepare(vectors, metric)
    labels = np.asarray(labels).astype(str)
    classes = np.unique(labels)
    if len(classes) < 2:
        return pd.DataFrame(columns=["class_a", "class_b", "centroid_distance"])
    cent = np.stack([x[labels == c].mean(0) for c in classes])
    if base == "cosine":
        cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
    d = block_distances(cent, cent, base)
    i, j = np.triu_indices(len(classes), 1)
    order = np.argsort(d[i, j], kind="stable")[:top]
    return pd.DataFrame(
        {"class_a": classes[i[order]], "class_b": classes[j[order]], "centroid_distance": d[i, j][order]}
    )
