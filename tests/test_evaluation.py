"""Open-set figures against sklearn and against each other."""

import numpy as np
import pytest
from training_fixtures import blobs

from explorer.training.evaluation import evaluate


def test_evaluate_matches_sklearn_auc():
    from scipy.spatial.distance import pdist
    from sklearn.metrics import roc_auc_score

    x, y = blobs(n_ids=8, per=6)
    got = evaluate(x, y)
    d = pdist(x.astype(np.float64))
    i, j = np.triu_indices(len(y), 1)
    assert got["auc"] == pytest.approx(roc_auc_score(y[i] == y[j], -d), abs=1e-6)


def test_matrix_figures_equal_vector_figures_for_a_metric():
    from scipy.spatial.distance import cdist

    from explorer.training.evaluation import evaluate_matrix

    x, y = blobs(n_ids=9, per=7, seed=3)
    a, b = evaluate(x, y), evaluate_matrix(cdist(x, x), y)
    for k in ("p_at_1", "map_at_r", "auc", "eer", "accuracy", "genuine", "impostor"):
        assert a[k] == pytest.approx(b[k], abs=1e-9), k
