"""Losses against hand loops and their formulas."""

import numpy as np
import pytest
import torch

from explorer.training.losses import SiameseHead, contrastive_loss, proxy_anchor_loss, triplet_loss


def test_losses_equal_hand_loops():
    torch.manual_seed(0)
    e = torch.randn(12, 5)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    a, p, n = torch.tensor([0, 3, 6, 9]), torch.tensor([1, 4, 7, 10]), torch.tensor([3, 0, 9, 6])
    d = lambda i, j: float((e[i] - e[j]).norm())  # noqa: E731
    per = [max(0.0, d(i, j) - d(i, k) + 1.0) for i, j, k in zip(a.tolist(), p.tolist(), n.tolist(), strict=True)]
    nonzero = [v for v in per if v > 0]
    got = float(triplet_loss(1.0)(e, y, indices_tuple=(a, p, n)))
    assert got == pytest.approx(sum(nonzero) / len(nonzero), rel=1e-5)
    sq = [
        max(0.0, d(i, j) ** 2 - d(i, k) ** 2 + 1.0) for i, j, k in zip(a.tolist(), p.tolist(), n.tolist(), strict=True)
    ]
    got_sq = float(triplet_loss(1.0, squared=True)(e, y, indices_tuple=(a, p, n)))
    assert got_sq == pytest.approx(sum(v for v in sq if v > 0) / len([v for v in sq if v > 0]), rel=1e-5)
    # contrastive: positives pull (d), negatives push (margin - d)+; PML averages each over its non-zero terms
    pos = [d(i, j) for i, j in zip(a.tolist(), p.tolist(), strict=True)]
    neg = [max(0.0, 3.0 - d(i, k)) for i, k in zip(a.tolist(), n.tolist(), strict=True)]
    want = np.mean([v for v in pos if v > 0]) + (np.mean([v for v in neg if v > 0]) if any(neg) else 0)
    got_c = float(contrastive_loss(3.0)(e, y, indices_tuple=(a, p, a, n)))
    assert got_c == pytest.approx(want, rel=1e-5)
    # Siamese head: BCE of sigmoid(head(|a - b|)) against same / different
    head = SiameseHead(5, hidden=4)
    logits = [
        float(head(e[i : i + 1], e[j : j + 1]))
        for i, j in zip(a.tolist() + a.tolist(), p.tolist() + n.tolist(), strict=True)
    ]
    target = [1.0] * 4 + [0.0] * 4
    bce = np.mean(
        [
            -(t * np.log(1 / (1 + np.exp(-z))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-z))))
            for z, t in zip(logits, target, strict=True)
        ]
    )
    assert float(head.loss(e, y, (a, p, a, n))) == pytest.approx(bce, rel=1e-5)


def test_proxy_anchor_equals_its_formula_by_hand():
    """Kim et al. 2020, eq. 4: over the proxies with positives in the batch, log(1 + sum exp(-alpha (s - margin)))
    of their positives; over every proxy, log(1 + sum exp(alpha (s + margin))) of their negatives; s = cosine."""
    torch.manual_seed(0)
    e = torch.randn(10, 6)
    y = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 0])  # proxy 3 has no positive in the batch
    loss = proxy_anchor_loss(4, 6, margin=0.1, alpha=32)
    proxies = loss.proxies.detach()
    cos = lambda u, v: float(u @ v / (u.norm() * v.norm()))  # noqa: E731
    with_pos = sorted(set(y.tolist()))
    pos = sum(
        np.log1p(sum(np.exp(-32 * (cos(e[i], proxies[c]) - 0.1)) for i in range(10) if y[i] == c)) for c in with_pos
    ) / len(with_pos)
    neg = (
        sum(np.log1p(sum(np.exp(32 * (cos(e[i], proxies[c]) + 0.1)) for i in range(10) if y[i] != c)) for c in range(4))
        / 4
    )
    assert float(loss(e, y).detach()) == pytest.approx(pos + neg, rel=1e-4)
