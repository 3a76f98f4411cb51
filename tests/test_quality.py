"""Data-quality flags against hand computations on planted problems."""

import numpy as np
import pytest

from explorer.analysis.distances import pairwise
from explorer.analysis.neighbors import build_index
from explorer.analysis.quality import exact_duplicates, label_suspects, near_duplicates, neighbours, outliers

RNG = np.random.default_rng(0)
CENTRES = RNG.normal(size=(6, 8)) * 5
Y = np.repeat(np.arange(6), 40)
X = (CENTRES[Y] + RNG.normal(size=(240, 8))).astype(np.float32)


def test_exact_duplicates_are_grouped():
    x = X.copy()
    x[10] = x[3]
    x[50] = x[3]
    x[99] = x[98]
    dup = exact_duplicates(x)
    groups = dup.groupby("group")["item"].apply(list).tolist()
    assert sorted(map(sorted, groups)) == [[3, 10, 50], [98, 99]]
    assert set(dup["group_size"]) == {2, 3}


def test_near_duplicates_against_all_pairs():
    x = X.copy()
    x[7] = x[5] + 1e-3
    x[120] = x[121] + 2e-3
    pairs = near_duplicates(neighbours(x, build_index(x)), radius=0.01)
    d = pairwise(x.astype(np.float64))
    i, j = np.triu_indices(len(x), 1)
    ref = {(a, b) for a, b in zip(i, j, strict=True) if d[a, b] <= 0.01}
    assert {(int(a), int(b)) for a, b in zip(pairs["a"], pairs["b"], strict=True)} == ref == {(5, 7), (120, 121)}


def test_planted_label_errors_are_found():
    y = Y.astype(str).copy()
    planted = [3, 45, 130]
    y[planted] = ["5", "0", "2"]  # wrong labels, embeddings left where the true class is
    sus = label_suspects(y, neighbours(X, build_index(X), k=10))
    assert set(planted) <= set(sus["item"])
    row = sus.set_index("item").loc[3]
    assert row["label"] == "5" and row["neighbour_label"] == "0" and row["agreement"] == 0.0
    # hand check of agreement for one flagged item
    nb = np.argsort(pairwise(X[[45]].astype(np.float64), X.astype(np.float64))[0])[1:11]
    assert sus.set_index("item").loc[45, "agreement"] == pytest.approx(np.mean(y[nb] == y[45]))


def test_small_classes_are_judged_on_the_neighbours_they_could_fill():
    """A perfect embedding with classes of 1, 2 and 3 items flags nothing (their 10 nearest cannot
    all share the label); a 2-item class whose nearest item carries another label is flagged, by a
    hand count over that one neighbour."""
    rng = np.random.default_rng(0)
    sizes = [1, 2, 3, 2, 3, 12, 12]
    y = np.repeat([f"c{i}" for i in range(len(sizes))], sizes)
    centres = rng.normal(size=(len(sizes), 6)) * 20
    x = (centres[np.repeat(np.arange(len(sizes)), sizes)] + rng.normal(size=(len(y), 6)) * 0.1).astype(np.float32)
    assert label_suspects(y, neighbours(x, build_index(x), k=10)).empty
    x[1] = x[3] + 0.01  # c1's first item now sits on c2's first: its one usable neighbour is c2
    sus = label_suspects(y, neighbours(x, build_index(x), k=10)).set_index("item")
    assert 1 in sus.index and sus.loc[1, "neighbour_label"] == "c2" and sus.loc[1, "agreement"] == 0.0
    assert sus.loc[1, "support"] == 1.0


def test_outliers_by_robust_z():
    x = X.copy()
    x[200] = CENTRES[Y[200]] + 30  # far from its class
    out = outliers(x, Y, z=3.5)
    assert out["item"].iloc[0] == 200 and out["robust_z"].iloc[0] > 10
    idx = np.flatnonzero(Y[200] == Y)
    d = np.linalg.norm(x[idx].astype(np.float64) - x[idx].mean(0), axis=1)
    med, mad = np.median(d), np.median(np.abs(d - np.median(d)))
    assert out["robust_z"].iloc[0] == pytest.approx(0.6745 * (d[idx == 200][0] - med) / mad, rel=1e-5)
