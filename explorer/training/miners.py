"""The mining engines behind ``negatives.py``: pytorch-metric-learning's in-batch miners, and
negatives from the whole training set (an HNSW index over a recent snapshot of the embedding, as
in ANCE).

In-batch miners see only B - K negatives per anchor; in a training set with hundreds of
identities the hardest negative of an anchor is rarely in its batch. The global miner asks an
hnswlib index for the anchor's k nearest items, keeps those of another identity, and takes the
hardest (closest) or the closest semi-hard one (farther than the anchor's positive, within the
margin). The index holds embeddings from a snapshot of the model, rebuilt every ``refresh_every``
steps; ``staleness`` says how old it is. Items of another identity at distance ~0 from an
anchor (duplicates, label noise) are reported and never used as negatives.

The same index can instead choose who shares a batch ("doppelganger" batches, Smirnov et al.
2017): each identity drawn at random brings along an identity its items are confused with (one
whose items are among their k nearest, drawn in proportion to how often), so in-batch mining
(semi-hard, or batch-hard) finds hard negatives without any extra forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pytorch_metric_learning import miners

from explorer.analysis.neighbors import HnswIndex

CONFUSION_SAMPLE = 5000  # items whose neighbours are counted for doppelganger batches
DUPLICATE_DISTANCE = 1e-6
INDEX_OPTIONS = {"ef": 64, "M": 16, "ef_construction": 100, "threads": 2, "random_state": 0}  # the miner's index


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

    def __init__(self, labels: np.ndarray, *, k: int = 32, mode: str = "semihard", margin: float = 0.2, **index):
        """``index``: HnswIndex options (ef, M, ef_construction, threads, random_state), over these defaults."""
        if mode not in ("hard", "semihard"):
            raise ValueError(f"mode must be 'hard' or 'semihard', not {mode!r}")
        if unknown := set(index) - set(INDEX_OPTIONS):
            raise TypeError(f"unknown index options {sorted(unknown)}; choose from {', '.join(INDEX_OPTIONS)}")
        self.labels = np.asarray(labels)
        self.k, self.mode, self.margin = k, mode, margin
        self.options = {**INDEX_OPTIONS, **index}
        self.index: HnswIndex | None = None
        self.refreshed_at = -1
        self.refreshes = 0
        self.model_hash = ""  # of the snapshot that embedded the indexed vectors
        self.duplicates: set[tuple[int, int]] = set()
        self.confusion: np.ndarray | None = None  # (identities, identities) neighbour counts, for batches
        self._names, self._code = np.unique(self.labels, return_inverse=True)
        order = np.argsort(self._code, kind="stable")
        self._members = np.split(order, np.cumsum(np.bincount(self._code))[:-1])  # items of each identity

    def refresh(self, vectors: np.ndarray, step: int, *, model_hash: str = "") -> None:
        """Rebuild the index from embeddings of every training item (row i = item i)."""
        self.install(self.build(vectors), step, model_hash=model_hash)

    def build(self, vectors: np.ndarray) -> HnswIndex:
        """A new index over these embeddings, not yet in use (may run in another thread)."""
        if len(vectors) != len(self.labels):
            raise ValueError(f"{len(vectors)} vectors for {len(self.labels)} training items")
        index = HnswIndex("euclidean", **self.options)
        index.add(vectors)
        return index

    def install(self, index: HnswIndex, step: int, *, model_hash: str = "") -> None:
        """Mine from ``index`` from now on; ``step``: the step whose weights embedded it."""
        self.index, self.refreshed_at, self.model_hash = index, step, model_hash
        self.confusion = None
        self.refreshes += 1

    def save(self, folder) -> dict:
        """The index on disk with its manifest (and the step it was refreshed at)."""
        return self.index.save(
            folder, model_hash=self.model_hash, refreshed_at=self.refreshed_at, refreshes=self.refreshes
        )

    def restore(self, folder, *, dim: int, model_hash: str) -> str:
        """Take the saved index if its manifest matches (dimension, item count, the snapshot's
        model hash, file checksum); otherwise leave the index empty (rebuilt at the next step).
        Returns what happened, for the run's log."""
        index, why = HnswIndex.load(
            folder,
            metric="euclidean",
            dim=dim,
            count=len(self.labels),
            model_hash=model_hash,
            ef=self.options["ef"],
            threads=self.options["threads"],
        )
        if index is None:
            self.index = None
            return f"index rebuilt ({why})"
        self.index, self.model_hash = index, model_hash
        self.refreshed_at = int(index.saved_manifest.get("refreshed_at", 0))
        self.refreshes = int(index.saved_manifest.get("refreshes", self.refreshes))
        return "index loaded from the checkpoint"

    def staleness(self, step: int) -> int:
        """Steps since the index was rebuilt."""
        return step - self.refreshed_at if self.index is not None else -1

    def identity_confusion(self, random_state: int = 0) -> np.ndarray:
        """How often an item of identity a has an item of identity b among its k nearest (a seeded
        sample of up to CONFUSION_SAMPLE items asks), as a (n, n) matrix over ``np.unique(labels)``
        order with a zero diagonal; pairs at distance ~0 are duplicates (reported, not counted)."""
        if self.confusion is None:
            n = len(self.labels)
            ask = (
                np.arange(n)
                if n <= CONFUSION_SAMPLE
                else np.sort(np.random.default_rng(random_state).choice(n, CONFUSION_SAMPLE, replace=False))
            )
            vectors = self.index.get(ask)
            _, nb, ok = self.candidates(ask, vectors)
            code = self._code
            rows = np.broadcast_to(code[ask][:, None], nb.shape)[ok]
            counts = np.zeros((len(self._names), len(self._names)))
            np.add.at(counts, (rows, code[nb][ok]), 1)
            self.confusion = counts
        return self.confusion

    def compose_batch(self, P: int, K: int, rng: np.random.Generator) -> np.ndarray:
        """Item ids of a batch of P identities x K items: identities drawn at random, each followed
        (while there is room) by one it is confused with, drawn in proportion to the counts; K items
        each (with repeats only for an identity of fewer than K)."""
        counts = self.identity_confusion()
        names = self._names
        if len(names) < P:
            raise ValueError(f"P = {P} identities per batch, but training has {len(names)}")
        chosen: list[int] = []
        free = np.ones(len(names), bool)
        while len(chosen) < P:
            seed = int(rng.choice(np.flatnonzero(free)))
            chosen.append(seed)
            free[seed] = False
            w = counts[seed] * free
            if len(chosen) < P and w.sum() > 0:
                mate = int(rng.choice(len(names), p=w / w.sum()))
                chosen.append(mate)
                free[mate] = False
        items = []
        for c in chosen:
            pool = self._members[c]
            items.append(rng.choice(pool, K, replace=len(pool) < K))
        return np.concatenate(items)

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
