"""Negatives strategies: what each gives a step, against hand loops."""

import pytest
import torch
from training_fixtures import SPEC, vector_data

from explorer.training.config import TrainConfig
from explorer.training.trainer import Trainer


def test_hardest_triplets_for_the_charts_equal_a_hand_loop():
    torch.manual_seed(1)
    e = torch.randn(9, 3)
    y = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3, 3])  # identity 2 has no positive: no anchor
    tr = Trainer(TrainConfig(loss="proxy-anchor", margin=0.1), vector_data(), SPEC)
    m = tr.negatives.mine(None, e, y)
    a, p, n = m.a, m.p, m.n  # what a proxy-anchor step charts: PML's batch-hard triplets
    want = []
    for i in range(9):
        pos = [j for j in range(9) if j != i and y[j] == y[i]]
        if pos:
            neg = [j for j in range(9) if y[j] != y[i]]
            want.append(
                (
                    i,
                    max(pos, key=lambda j: float((e[i] - e[j]).norm())),
                    min(neg, key=lambda j: float((e[i] - e[j]).norm())),
                )
            )
    assert list(zip(a.tolist(), p.tolist(), n.tolist(), strict=True)) == want


def test_each_config_name_builds_its_strategy_and_a_loss_without_negatives_gets_none():
    from explorer.training.negatives import NEGATIVES, HnswBatches, HnswPerAnchor, NoNegatives

    data = vector_data()
    for name, cls in NEGATIVES.items():
        tr = Trainer(TrainConfig(miner=name), data, SPEC)
        assert type(tr.negatives) is cls and tr.negatives.name == name and cls.title and cls.help
        assert (tr.negatives.miner is not None) == (cls in (HnswPerAnchor, HnswBatches))  # only they keep an index
    assert type(Trainer(TrainConfig(loss="proxy-anchor", miner="hnsw"), data, SPEC).negatives) is NoNegatives
    with pytest.raises(ValueError, match="miner must be one of"):
        TrainConfig(miner="random").check()
    with pytest.raises(ValueError, match="hnsw_mode"):
        TrainConfig(hnsw_mode="easy").check()


def test_hnsw_per_anchor_triplets_equal_a_hand_loop_over_the_miners_picks():
    """Every in-batch positive of an anchor is paired with the one negative the index picked for
    it; picks outside the batch are embedded once each and appended, with their labels."""
    data = vector_data()
    tr = Trainer(TrainConfig(miner="hnsw", augment=False, margin=0.3), data, SPEC)
    strategy = tr.negatives
    idx = tr.next_batch()  # builds the index (step 0)
    yb = tr.y[idx]
    emb = tr._embed_tensor(tr.x[idx])
    with torch.no_grad():
        d = torch.cdist(emb, emb)
    same = (yb[:, None] == yb[None, :]) & ~torch.eye(len(yb), dtype=torch.bool)
    hardest = torch.where(same, d, torch.full_like(d, -1.0)).max(dim=1).values
    picks = strategy.miner.mine(idx, emb.detach().numpy(), hardest.detach().numpy()).negatives
    got = strategy.mine(idx, emb, yb)
    outside = sorted({int(v) for v in picks if v >= 0 and v not in set(idx.tolist())})
    row = {int(item): i for i, item in enumerate(idx)} | {item: len(idx) + j for j, item in enumerate(outside)}
    want = [
        (i, q, row[int(picks[i])])
        for i in range(len(idx))
        if picks[i] >= 0
        for q in torch.nonzero(same[i]).flatten().tolist()
    ]
    assert list(zip(got.a.tolist(), got.p.tolist(), got.n.tolist(), strict=True)) == want
    assert got.emb.shape[0] == len(idx) + len(outside)
    assert got.labels.tolist() == yb.tolist() + data.y_train[outside].tolist()
    with torch.no_grad():  # the appended rows are those items embedded by the current model
        torch.testing.assert_close(got.emb[len(idx) :], tr._embed_tensor(tr.x[outside]))


def test_a_step_makes_one_call_to_its_strategy_and_one_to_its_loss(monkeypatch):
    tr = Trainer(TrainConfig(miner="semihard", augment=False), vector_data(), SPEC)
    calls = []
    mine, loss = tr.negatives.mine, tr.objective.loss
    monkeypatch.setattr(tr.negatives, "mine", lambda *a: calls.append("mine") or mine(*a))
    monkeypatch.setattr(tr.objective, "loss", lambda *a: calls.append("loss") or loss(*a))
    tr.step()
    assert calls == ["mine", "loss"]
