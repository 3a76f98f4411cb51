"""Exactness where the pages say exact, and the cost of the intervals over subjects.

1. TAR@FAR beyond the genuine keep limit: 10,500 items of 10 classes (5.5 M genuine pairs, more
   than ``genuine_limit`` 5 M, as MNIST-10k) through ``all_pairs`` + the headline, against a full
   sort of every pair distance (float64). Also the time of ``all_pairs`` with the limit lifted
   (genuine pairs kept whole) as the baseline of the exact count's cost.
2. EER of the iris measurements (many tied distances): ours against sklearn's roc_curve solved
   for FAR = FRR, and the old "mean at the nearest point" reading.
3. Retrieval with ties: MAP@R of the iris vectors as given and shifted by +100 (float32).
4. The paired bootstrap over subjects (1,000 replicates) on 6,000 pairs (LFW's size) against one
   sklearn roc_auc_score per replicate on the same weights (rows repeated).

Run: ``.venv/bin/python benchmarks/bench_exactness.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from explorer.analysis.comparison import compare, subject_weights  # noqa: E402
from explorer.analysis.headline import headline  # noqa: E402
from explorer.analysis.pairs import all_pairs  # noqa: E402
from explorer.analysis.retrieval import retrieval_metrics  # noqa: E402
from explorer.analysis.verification import FAR_TARGETS, eer, roc_curve, scores_curve, tar_at_far  # noqa: E402


def tar_beyond_the_limit() -> None:
    rng = np.random.default_rng(0)
    n, c = 10_500, 10
    y = rng.integers(0, c, n)
    x = (rng.normal(size=(n, 32)) + 1.2 * np.eye(c, 32)[y]).astype(np.float32)
    t = time.perf_counter()
    s = all_pairs(x, y, metric="euclidean")
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    all_pairs(x, y, metric="euclidean", genuine_limit=10**9)
    t_whole = time.perf_counter() - t
    head = headline(scores_curve(s), s)
    i, j = np.triu_indices(n, 1)
    d = np.empty(len(i))
    x64 = x.astype(np.float64)
    for k in range(0, len(i), 5_000_000):
        a, b = i[k : k + 5_000_000], j[k : k + 5_000_000]
        d[k : k + 5_000_000] = np.sqrt(((x64[a] - x64[b]) ** 2).sum(1))
    same = y[i] == y[j]
    ref = roc_curve(d[same], d[~same])
    print(f"1. {s.n_genuine:,} genuine pairs (limit 5,000,000), {s.n_impostor:,} impostor pairs")
    for f in FAR_TARGETS:
        r = tar_at_far(ref, f)
        if r is None:
            continue
        lo, hi = head.tar_bounds[f]
        how = "exact" if head.tar_exact[f] else f"grid [{lo:.6f}, {hi:.6f}]"
        print(
            f"   FAR {f:g}: ours {head.tar_at_far[f]:.6f} ({how}), sort-based {r:.6f}, diff {head.tar_at_far[f] - r:+.1e}"
        )
    print(
        f"   all_pairs {t_ours:.1f} s with the exact count, {t_whole:.1f} s keeping every genuine pair ({t_ours / t_whole:.2f}x)"
    )


def iris_eer_and_ties() -> None:
    from scipy.interpolate import interp1d
    from scipy.optimize import brentq
    from scipy.spatial.distance import pdist
    from sklearn.datasets import load_iris
    from sklearn.metrics import roc_curve as sk_roc

    xi, yi = load_iris(return_X_y=True)
    d, same = pdist(xi), pdist(yi[:, None].astype(float)) == 0
    c = roc_curve(d[same], d[~same])
    fpr, tpr, _ = sk_roc(same, -d)
    ref = brentq(lambda v: 1 - v - interp1d(fpr, tpr)(v), 0, 1)
    frr = 1 - c.tar
    k = int(np.argmin(np.abs(c.far - frr)))
    print(
        f"2. iris EER: ours {100 * eer(c)[0]:.4f}%, sklearn crossing {100 * ref:.4f}%, nearest-point mean {100 * (c.far[k] + frr[k]) / 2:.4f}%"
    )
    base = retrieval_metrics(xi.astype(np.float32), yi).map_at_r
    shifted = retrieval_metrics((xi + 100).astype(np.float32), yi).map_at_r
    print(f"3. iris MAP@R euclidean: {base:.6f} as given, {shifted:.6f} shifted by +100")


def bootstrap_cost() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    n, subjects = 6000, 1680
    sa = rng.integers(0, subjects, n)
    same = rng.random(n) < 0.5
    sb = np.where(same, sa, (sa + rng.integers(1, subjects, n)) % subjects)
    da = np.where(same, 0.5, 1.0) + rng.normal(0, 0.3, n)
    db = np.where(same, 0.45, 1.0) + rng.normal(0, 0.3, n)
    subj = (sa.astype(str), sb.astype(str))
    t = time.perf_counter()
    c = compare({"A": da, "B": db}, same, subjects=subj, replicates=1000)
    t_ours = time.perf_counter() - t
    draw = subject_weights(subj, n, np.random.default_rng(0))
    t = time.perf_counter()
    for _ in range(100):
        w = draw()
        for v in (da, db):
            roc_auc_score(same, -v, sample_weight=w)
    t_sk = (time.perf_counter() - t) * 10
    lo, hi = c.difference_interval["AUC"]
    print(
        f"4. paired bootstrap, 6,000 pairs x 1,000 replicates, 5 figures x 2 systems: {t_ours:.2f} s; "
        f"sklearn roc_auc_score alone (AUC only) {t_sk:.2f} s ({t_sk / t_ours:.1f}x); AUC B - A "
        f"{c.difference['AUC']:+.4f} [{lo:+.4f}, {hi:+.4f}] over subjects"
    )


if __name__ == "__main__":
    iris_eer_and_ties()
    bootstrap_cost()
    tar_beyond_the_limit()
