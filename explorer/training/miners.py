"""Where a triplet's negative comes from: the batch (pytorch-metric-learning's miners) or the whole
training set (an HNSW index over a recent snapshot of the embedding, as in ANCE).

In-batch miners see only B - K negatives per anchor; in a training set with hundreds of
identities the hardest negative of an anchor is rarely in its batch. The global miner asks an
hnswlib index for the anchor's k nearest items, keeps those of another identity, and takes the
hardest (closest) or the closest semi-hard one (farther than the anchor's positive, within the
margin). The index holds embeddings from a snapshot of the model, rebuilt every ``refresh_every``
steps; ``staleness`` says how old it is. Items of another identity at distance ~0 from an
anchor (duplicates, label noise) are reported and never used as negatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pytorch_metric_learning import miners

from explorer.analysis.neighbors import HnswIndex

MINERS = ("hnsw", "semihard", "hard", "batch-hard")
DUPLICATE_DISTANCE = 1e-6


def in_batch_miner(kind: str, margin: float, distance):
    """PML's in-batch miners: semi-hard and hard (TripletMarginMiner, O(B^3) in the batch size)
    and batch-hard (the hardest positive and negative per anchor, BatchHardMiner)."""
    if kind == "batch-hard":
        return miners.BatchHardMiner(distance=distance)
    if kind in ("semihard", "hard"):
        return miners.TripletMarginMiner(margin=margin, type_of_triplets=kind, distance=distance)
    raise ValueError(f"unknown in-batch miner {kind!r}; choose semihard, hard or batch-hard")


@dataclass
class MinedNegatives:
    """One negative item per anchor (-1 where none qualified), and what was seen on the way."""

    negatives: np.ndarray
    distances: np.ndarray  # anchor to negative, in the index's (snapshot) embedding
    duplicates: set[tuple[int, int]] = field(default_factory=set)  # (anchor item, other-label item) at ~0


class HnswMiner:
    """Global negatives from an hnswlib index over the training set (a snapshot of the model).

    labels: (N,) identity of each training item; k: neighbours asked per anchor; mode: "hard"
    (the closest other-identity neighbour) or "semihard" (the closest one farther than the
    anchor's positive and within ``margin`` of it; the hardest one when none is).
    """

    def __init__(self, labels: np.ndarray, *, k: int = 32, mode: str = "semihard", margin: float = 0.2,
                 ef: int = 64, M: int = 16, ef_construction: int = 100, threads: int = 2, random_state: int = 0):
        if mode not in ("hard", "semihard"):
            raise ValueError(f"mode must be 'hard' or 'semihard', not {mode!r}")
        self.labels = np.asarray(labels)
        self.k, self.mode, self.margin = k, mode, margin
        self.options = dict(ef=ef, M=M, ef_construction=ef_construction, threads=threads, random_state=random_state)
        self.index: HnswIndex | None = None
        self.refreshed_at = -1
        self.refreshes = 0
        self.duplicates: set[tuple[int, int]] = set()

    def refresh(self, vectors: np.ndarray, step: int) -> None:
        """Rebuild the index from embeddings of every training item (row i = item i)."""
        if len(vectors) != len(self.labels):
            raise ValueError(f"{len(vectors)} vectors for {len(self.labels)} training items")
        index = HnswIndex("euclidean", **self.options)
        index.add(vectors)
        self.index, self.refreshed_at = index, step
        self.refreshes += 1

    def staleness(self, step: int) -> int:
        """Steps since the index was rebuilt."""
        return step - self.refreshed_at if self.index is not None else -1

    def candidates(self, anchors: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The k nearest indexed items of each query (the anchors' current embeddings), with
        distances and whether each may be a negative (another identity, not at distance ~0)."""
        if self.index is None:
            raise RuntimeError("the miner's index is empty: call refresh() first")
        k = min(self.k, len(self.index))
        d, nb = self.index.query(queries, k)
        other = self.labels[nb] != self.labels[anchors][:, None]
        dup = other & (d <= DUPLICATE_DISTANCE)
        for r, c in zip(*np.nonzero(dup), strict=True):
            self.duplicates.add((int(anchors[r]), int(nb[r, c])))
        return d, nb, other & ~dup

    def mine(self, anchors: np.ndarray, queries: np.ndarray, positive_distance: np.ndarray) -> MinedNegatives:
        """One negative per anchor: anchors (B,) item ids, queries (B, D) their current embeddings,
        positive_distance (B,) each anchor's (hardest) positive distance now."""
        d, nb, ok = self.candidates(anchors, queries)
        big = np.where(ok, d, np.inf)
        if self.mode == "semihard":
            semi = ok & (d > positive_distance[:, None]) & (d < positive_distance[:, None] + self.margin)
            pick = np.where(semi.any(axis=1), np.where(semi, d, np.inf).argmin(axis=1), big.argmin(axis=1))
        else:
            pick = big.argmin(axis=1)
        rows = np.arange(len(anchors))
        found = ok[rows, pick]
        mine = set(anchors.tolist())
        dup = {(a, b) for a, b in self.duplicates if a in mine}
        return MinedNegatives(np.where(found, nb[rows, pick], -1), np.where(found, d[rows, pick], np.nan), dup)
