"""The impostor pass split into independent block tasks (what Ray runs) gives the in-process
counts and tails bit for bit."""

import numpy as np
import pytest
from conftest import assert_same_pair_scores

from explorer.analysis import pairs
from explorer.analysis.pair_blocks import InTasks, split
from explorer.analysis.pairs import all_pairs


def _data(n=1500, dim=12, classes=40, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (rng.normal(size=(classes, dim))[y] * 0.8 + rng.normal(size=(n, dim))).astype(np.float32)
    return x, y


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine", "manhattan"])
def test_tasks_give_the_in_process_counts_and_tails(metric):
    x, y = _data()
    here = all_pairs(x, y, metric=metric, block=256, k_tail=3000)
    assert_same_pair_scores(all_pairs(x, y, metric=metric, block=256, k_tail=3000, engine=InTasks(5)), here)


def test_the_overflow_path_too(monkeypatch):
    """A tiny candidate buffer: strips tighten their own cut, and the merge still finds every pair."""
    monkeypatch.setattr(pairs, "MIN_CAP", 64)
    x, y = _data(n=900, classes=9)
    here = all_pairs(x, y, block=128, k_tail=40)
    assert_same_pair_scores(all_pairs(x, y, block=128, k_tail=40, engine=InTasks(3)), here)
    brute = np.sort(
        [
            ((x[i].astype(np.float64) - x[j]) ** 2).sum() ** 0.5
            for i in range(len(x))
            for j in range(i + 1, len(x))
            if y[i] != y[j]
        ]
    )
    t = here.impostor
    np.testing.assert_allclose(t.values, brute[: len(t.values)], rtol=1e-12)


def test_split_deals_every_block_once():
    blocks = [(i, j) for i in range(7) for j in range(i, 7)]
    parts = split(blocks, 4)
    assert sorted(b for p in parts for b in p) == sorted(blocks) and len(parts) == 4
    assert len(split(blocks[:2], 8)) == 2
