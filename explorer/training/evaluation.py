"""Open-set figures of an embedding on held-out identities: retrieval (P@1, MAP@R), pair ROC AUC
and EER, 10-fold verification accuracy (LFW protocol), mean genuine / impostor distance."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

from explorer.analysis.retrieval import ranked_metrics, retrieval_metrics
from explorer.analysis.thresholds import kfold_accuracy
from explorer.analysis.verification import fast_figures


def evaluate(vectors: np.ndarray, labels: np.ndarray, *, folds: int = 10, seed: int = 0) -> dict:
    """Open-set figures of an embedding (see ``Trainer.validate``): retrieval over every item, ROC
    AUC and EER over every pair, 10-fold accuracy over balanced pairs (LFW protocol)."""
    labels = np.asarray(labels)
    r = retrieval_metrics(vectors, labels)
    return _pair_figures(pdist(np.asarray(vectors, np.float64)), labels, r.precision_at_1, r.map_at_r, folds, seed)


def evaluate_matrix(dist: np.ndarray, labels: np.ndarray, *, folds: int = 10, seed: int = 0) -> dict:
    """The same figures from a full (n, n) dissimilarity matrix (a Siamese head's -logits), which
    need not be a metric: each row ranks the others by it (small n: a validation set)."""
    labels = np.asarray(labels)
    d = np.array(dist, np.float64)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :-1]  # itself (at inf) last, dropped
    r = (labels[:, None] == labels[None, :]).sum(axis=1) - 1
    has = r > 0
    p1, _, map_r = ranked_metrics(labels[order][has], labels[has], r[has])
    np.fill_diagonal(d, 0)
    i, j = np.triu_indices(len(labels), 1)
    sym = (d + d.T) / 2  # the head is not symmetric
    return _pair_figures(sym[i, j], labels, float(p1.mean()), float(map_r.mean()), folds, seed)


def _pair_figures(d: np.ndarray, labels: np.ndarray, p1: float, map_r: float, folds: int, seed: int) -> dict:
    i, j = np.triu_indices(len(labels), 1)
    same = labels[i] == labels[j]
    fig = fast_figures(d[same], d[~same])
    # accuracy as LFW measures it: balanced pairs (every genuine pair and as many impostor pairs drawn
    # at random, or the other way round), 10 folds; on all pairs "different" alone would score ~0.9
    rng = np.random.default_rng(seed)
    gen, imp = np.flatnonzero(same), np.flatnonzero(~same)
    m = min(len(gen), len(imp))
    pick = np.r_[rng.choice(gen, m, replace=False), rng.choice(imp, m, replace=False)]
    fold = rng.permutation(len(pick)) % folds
    acc = kfold_accuracy(d[pick], same[pick], fold)["accuracy_mean"] if m else float("nan")
    gen, imp = float(d[same].mean()), float(d[~same].mean())
    return {
        "p_at_1": p1,
        "map_at_r": map_r,
        "auc": fig.auc,
        "eer": fig.eer,
        "accuracy": acc,
        "genuine": gen,
        "impostor": imp,
        "gap": imp - gen,
    }
