import numpy as np
from scipy.spatial.distance import cdist, pdist

from explorer.analysis.classes import class_spread, closest_class_pairs

RNG = np.random.default_rng(0)
X = np.r_[RNG.normal(0, 1, (20, 3)), RNG.normal(5, 3, (15, 3)), RNG.normal(5.5, 1, (10, 3)), [[9, 9, 9]]]
Y = np.array(["a"] * 20 + ["b"] * 15 + ["c"] * 10 + ["d"])


def test_spread_against_pdist():
    s = class_spread(X, Y).set_index("class")
    for c in "abc":
        assert np.isclose(s.loc[c, "mean_distance"], pdist(X[c == Y]).mean())
    assert np.isnan(s.loc["d", "mean_distance"]) and s.index[0] == "b"  # widest first, singletons last


def test_closest_pairs_against_centroids():
    cents = np.stack([X[c == Y].mean(0) for c in "abcd"])
    d = cdist(cents, cents)
    p = closest_class_pairs(X, Y, top=3)
    assert (p.loc[0, "class_a"], p.loc[0, "class_b"]) == ("b", "c")
    assert np.isclose(p.loc[0, "centroid_distance"], d[1, 2])
    assert closest_class_pairs(X[:5], Y[:5]).empty
