"""Negatives strategies: what each gives a step, against hand loops."""

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
