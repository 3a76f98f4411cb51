"""Losses for metric learning: triplet, contrastive and Proxy-Anchor from pytorch-metric-learning,
and the binary Siamese head (ours: PML has no |f(x1) - f(x2)| -> MLP -> sigmoid verification head)."""

from __future__ import annotations

import torch
from pytorch_metric_learning import distances, losses
from torch import nn

PROXY_LR_FACTOR = 3.0  # proxies learn this many times faster than the model (measured on att_faces: 1e-2 vs 3e-3)


def distance(squared: bool = False) -> distances.LpDistance:
    """Euclidean distance between embeddings (squared when asked), as PML computes it."""
    return distances.LpDistance(normalize_embeddings=False, p=2, power=2 if squared else 1)


def triplet_loss(margin: float = 0.2, *, squared: bool = False) -> losses.TripletMarginLoss:
    """max(0, d(a, p) - d(a, n) + margin), averaged over the triplets with a non-zero loss."""
    return losses.TripletMarginLoss(margin=margin, distance=distance(squared))


def contrastive_loss(margin: float = 0.5, *, squared: bool = False) -> losses.ContrastiveLoss:
    """d(a, p) for positive pairs, max(0, margin - d(a, n)) for negative pairs."""
    return losses.ContrastiveLoss(pos_margin=0.0, neg_margin=margin, distance=distance(squared))


def proxy_anchor_loss(classes: int, dim: int, margin: float = 0.1, alpha: float = 32.0) -> losses.ProxyAnchorLoss:
    """Proxy-Anchor (Kim et al. 2020): one learned proxy per training identity; every item of the
    batch is pulled towards its identity's proxy and pushed from the others (cosine similarity,
    ``margin`` on it, ``alpha`` the scale). Needs no miner; labels must be 0 .. classes - 1."""
    return losses.ProxyAnchorLoss(classes, dim, margin=margin, alpha=alpha)


class SiameseHead(nn.Module):
    """|f(x1) - f(x2)| -> hidden layer -> one logit: "same identity" (trained with BCE)."""

    def __init__(self, dim: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(torch.abs(a - b)).squeeze(-1)

    def loss(self, emb: torch.Tensor, labels: torch.Tensor, pairs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Binary cross-entropy over positive pairs (a1, p) and negative pairs (a2, n)."""
        a1, p, a2, n = pairs
        logits = torch.cat([self(emb[a1], emb[p]), self(emb[a2], emb[n])])
        target = torch.cat([torch.ones(len(a1)), torch.zeros(len(a2))]).to(logits)
        return nn.functional.binary_cross_entropy_with_logits(logits, target)


def all_pairs(labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Every positive and negative pair of a batch, as PML's (a1, p, a2, n)."""
    from pytorch_metric_learning.utils import loss_and_miner_utils as lmu

    return lmu.get_all_pairs_indices(labels)


def triplets_to_pairs(triplets: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """Triplets (a, p, n) -> pairs (a, p, a, n), for the pair losses."""
    a, p, n = triplets
    return a, p, a, n
