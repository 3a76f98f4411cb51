import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.covariance import LedoitWolf

from explorer.analysis.distances import pairwise

X = np.random.default_rng(0).normal(size=(40, 6))
Y = np.random.default_rng(1).normal(size=(15, 6))


@pytest.mark.parametrize(
    "metric,scipy_name",
    [("euclidean", "euclidean"), ("sqeuclidean", "sqeuclidean"), ("cosine", "cosine"), ("manhattan", "cityblock")],
)
def test_against_scipy(metric, scipy_name):
    np.testing.assert_allclose(pairwise(X, Y, metric=metric), cdist(X, Y, scipy_name), atol=1e-9)


def test_mahalanobis_against_scipy_with_shrunk_covariance():
    vi = LedoitWolf().fit(X).precision_
    np.testing.assert_allclose(pairwise(X, metric="mahalanobis"), cdist(X, X, "mahalanobis", VI=vi), atol=1e-7)


def test_invalid():
    with pytest.raises(ValueError, match="unknown metric"):
        pairwise(X, metric="hamming")
    with pytest.raises(ValueError, match="all-zero"):
        pairwise(np.zeros((2, 3)), metric="cosine")
