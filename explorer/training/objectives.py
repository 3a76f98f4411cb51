"""What a step minimises: one object per loss, chosen once from the config.

Each takes the step's embeddings as stripe views (one view without stripes) and the mined
triplets, and returns the loss; the loss is taken on each stripe and averaged. A loss that learns
parameters of its own (the Siamese head, Proxy-Anchor's proxies) keeps them in ``module``, saved in
checkpoints under ``prefix``. The losses themselves are pytorch-metric-learning's (``losses.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.training.config import TrainConfig
from explorer.training.losses import (
    PROXY_LR_FACTOR,
    SiameseHead,
    all_pairs,
    contrastive_loss,
    proxy_anchor_loss,
    triplet_loss,
    triplets_to_pairs,
)
from explorer.training.negatives import Mined


class Objective:
    name = ""
    title = ""  # as the Train page lists it
    help = ""  # what it does and when to use it
    uses_negatives = True  # False: no miner (the negatives setting does not apply)
    module: torch.nn.Module | None = None  # parameters the loss learns, besides the model's
    prefix = ""  # their names in a checkpoint
    lr_factor = 1.0  # their learning rate, as a multiple of the model's

    def __init__(self, cfg: TrainConfig, *, dim: int, stripes: int, train_labels: np.ndarray):
        self.cfg, self.dim, self.stripes = cfg, dim, stripes

    def loss(self, views: list[torch.Tensor], mined: Mined, yb: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def dissimilarity(self, e: np.ndarray) -> np.ndarray | None:
        """An (n, n) dissimilarity of held-out embeddings when the model is judged by something
        other than their distance (a learned verifier); None: by distance."""
        return None

    @classmethod
    def describe(cls, cfg: TrainConfig) -> str:
        unit = "squared distance" if cfg.squared else "distance"
        return f"{cls.name}, margin {cfg.margin:g} ({unit})"


class OnTriplets(Objective):
    """A PML loss over the mined triplets (or, ``as_pairs``, the pairs in them), on each stripe."""

    make = staticmethod(triplet_loss)  # PML loss from (margin, squared=)
    as_pairs = False

    def __init__(self, cfg: TrainConfig, **kw):
        super().__init__(cfg, **kw)
        self.fn = self.make(cfg.margin, squared=cfg.squared)

    def loss(self, views, mined, yb):
        if len(mined.a) == 0:
            return mined.emb.sum() * 0.0
        tuples = (mined.a, mined.p, mined.n)
        tuples = triplets_to_pairs(tuples) if self.as_pairs else tuples
        return torch.stack([self.fn(v, mined.labels, indices_tuple=tuples) for v in views]).mean()


class Triplet(OnTriplets):
    """max(0, d(a, p) - d(a, n) + margin) over the mined triplets."""

    name = title = "triplet"
    help = "anchor closer to its positive than to its negative by the margin (FaceNet); the default"


class Contrastive(OnTriplets):
    """d(a, p) for the positive pairs, max(0, margin - d(a, n)) for the negative pairs of the triplets."""

    name = title = "contrastive"
    help = "same-identity pairs pulled together, other pairs pushed beyond the margin (Hadsell et al.)"
    make = staticmethod(contrastive_loss)
    as_pairs = True


class Siamese(Objective):
    """A binary verifier on |f(x1) - f(x2)|: every pair of the batch and the mined negatives,
    binary cross-entropy, on the whole embedding; validated by its scores."""

    name = "siamese"
    title = "Siamese head (binary cross-entropy)"
    help = (
        "|f(x1) - f(x2)| -> hidden layer -> sigmoid, trained as same / different: learns a verifier "
        "as well as the embedding, and is validated by the verifier's scores"
    )
    prefix = "head."

    def __init__(self, cfg: TrainConfig, **kw):
        super().__init__(cfg, **kw)
        self.module = SiameseHead(self.dim)

    def loss(self, views, mined, yb):
        if len(mined.a) == 0:
            return mined.emb.sum() * 0.0
        a1, p1, a2, n2 = all_pairs(yb)
        return self.module.loss(mined.emb, mined.labels, (a1, p1, torch.cat([a2, mined.a]), torch.cat([n2, mined.n])))

    def dissimilarity(self, e):
        with torch.no_grad():  # distance = -logit of "same"
            t = torch.from_numpy(e)
            logits = torch.stack([self.module(t[i : i + 1].expand(len(t), -1), t) for i in range(len(t))])
        return -logits.numpy().astype(np.float64)


class ProxyAnchor(Objective):
    """Proxy-Anchor (Kim et al. 2020): a learned proxy per training identity (a set per stripe);
    every item is pulled to its identity's proxy and pushed from the others on cosine similarity."""

    name = "proxy-anchor"
    title = "Proxy-Anchor (no negatives needed)"
    help = (
        "one learned proxy per training identity, compared with every item of the batch (Kim et al. "
        "2020): learns fast and needs no miner; margin on cosine similarity (0.1)"
    )
    uses_negatives = False
    prefix = "proxies."
    lr_factor = PROXY_LR_FACTOR

    def __init__(self, cfg: TrainConfig, *, train_labels: np.ndarray, **kw):
        super().__init__(cfg, train_labels=train_labels, **kw)
        names = np.unique(train_labels)

        def proxies():
            return proxy_anchor_loss(len(names), self.dim // self.stripes, margin=cfg.margin)

        # one module without stripes: the checkpoints' names stay as they were
        self.module = torch.nn.ModuleList(proxies() for _ in range(self.stripes)) if self.stripes > 1 else proxies()
        self.proxy_label = torch.full((int(names.max()) + 1,), -1, dtype=torch.long)  # labels -> 0 .. C - 1
        self.proxy_label[torch.from_numpy(names)] = torch.arange(len(names))

    @property
    def per_stripe(self) -> list:
        return list(self.module) if self.stripes > 1 else [self.module]

    def loss(self, views, mined, yb):
        target = self.proxy_label[yb]
        return torch.stack([pa(v, target) for pa, v in zip(self.per_stripe, views, strict=True)]).mean()

    @classmethod
    def describe(cls, cfg):
        return f"{cls.name}, margin {cfg.margin:g} (on cosine similarity)"


OBJECTIVES: dict[str, type[Objective]] = {cls.name: cls for cls in (Triplet, Contrastive, Siamese, ProxyAnchor)}


def objective_for(cfg: TrainConfig, *, dim: int, stripes: int, train_labels: np.ndarray) -> Objective:
    return OBJECTIVES[cfg.loss](cfg, dim=dim, stripes=stripes, train_labels=train_labels)
