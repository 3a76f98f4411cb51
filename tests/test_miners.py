"""The HNSW miner against brute force and hand counts."""

import numpy as np
import pytest

from explorer.training.miners import HnswMiner


def test_hnsw_miner_equals_brute_force_enumeration():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    x[7] = x[3]  # a duplicate: if labels differ it must be reported, never used
    y[7] = (y[3] + 1) % 10
    miner = HnswMiner(y, k=40, mode="semihard", margin=0.5, ef=400)
    miner.refresh(x, step=0)
    anchors = np.arange(0, 300, 3)
    q = x[anchors] + 0.01 * rng.normal(size=(len(anchors), 8)).astype(np.float32)
    pos = rng.uniform(0.5, 2.0, len(anchors))
    got = miner.mine(anchors, q, pos)
    d_all = np.linalg.norm(q[:, None, :] - x[None, :, :], axis=2)
    for r, a in enumerate(anchors):
        near = np.argsort(d_all[r], kind="stable")[:40]
        other = near[(y[near] != y[a]) & (d_all[r, near] > 1e-6)]
        semi = other[(d_all[r, other] > pos[r]) & (d_all[r, other] < pos[r] + 0.5)]
        # the miner's candidate set is exactly the brute-force set of valid negatives
        d, nb, ok = miner.candidates(np.array([a]), q[r : r + 1])
        assert set(nb[0][ok[0]].tolist()) == set(other.tolist())
        want = semi[np.argmin(d_all[r, semi])] if len(semi) else other[np.argmin(d_all[r, other])]
        assert got.negatives[r] == want
    miner.mine(np.array([3]), x[[3]], np.array([1.0]))
    assert (3, 7) in miner.duplicates


def test_hnsw_hard_mode_takes_the_closest_other_identity():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = rng.integers(0, 5, 200)
    miner = HnswMiner(y, k=200, mode="hard", ef=400)
    miner.refresh(x, step=3)
    assert miner.staleness(10) == 7
    got = miner.mine(np.arange(200), x, np.zeros(200))
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    d[y[:, None] == y[None, :]] = np.inf
    np.testing.assert_array_equal(got.negatives, d.argmin(axis=1))


def test_doppelganger_batches_put_confusable_identities_together():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 8)  # identities 2i and 2i + 1 sit close together; the pairs far apart
    centres = np.repeat(rng.normal(size=(5, 6)) * 20, 2, axis=0) + rng.normal(size=(10, 6))
    x = (centres[y] + 0.3 * rng.normal(size=(80, 6))).astype(np.float32)
    miner = HnswMiner(y, k=12, ef=200)
    miner.refresh(x, step=0)
    near = np.argsort(np.linalg.norm(x[:, None] - x[None], axis=2), axis=1, kind="stable")[:, :12]
    want = np.zeros((10, 10))
    for i in range(80):  # hand loop: other-identity items among each item's 12 nearest
        for j in near[i]:
            if y[j] != y[i]:
                want[y[i], y[j]] += 1
    np.testing.assert_array_equal(miner.identity_confusion(), want)
    for s in range(40):
        b = miner.compose_batch(2, 3, np.random.default_rng(s))
        ids = sorted(set(y[b].tolist()))
        assert len(b) == 6 and len(ids) == 2 and ids[0] // 2 == ids[1] // 2 and ids[1] == ids[0] + 1
        assert all((y[b] == c).sum() == 3 for c in ids)
    b = miner.compose_batch(6, 2, np.random.default_rng(0))  # 3 seeds, each with its mate
    pairs = y[b] // 2
    assert len(set(pairs.tolist())) == 3 and all((pairs == q).sum() == 4 for q in set(pairs.tolist()))
    with pytest.raises(ValueError, match="P = 11"):
        miner.compose_batch(11, 2, np.random.default_rng(0))


def test_the_miners_index_options_are_checked_when_it_is_made():
    miner = HnswMiner(np.arange(10) % 2, ef=99)
    assert miner.options["ef"] == 99 and miner.options["M"] == 16  # the rest stay the defaults
    with pytest.raises(TypeError, match="unknown index options"):
        HnswMiner(np.arange(10) % 2, eff=99)
    with pytest.raises(ValueError, match="mode must be"):
        HnswMiner(np.arange(10) % 2, mode="easy")
