"""Where a step's negatives come from: one object per strategy, chosen once from the config.

- in the batch (pytorch-metric-learning's miners: semi-hard, hard, batch-hard);
- ``hnsw``: per anchor, from an HNSW index over the whole training set (``miners.HnswMiner``);
- ``hnsw-batches``: the index picks who shares a batch (doppelganger batches), then in-batch mining;
- none, for a loss that needs no negatives (Proxy-Anchor): the charts still get each anchor's
  hardest in-batch positive and negative.

A strategy gets what it needs from the trainer through a ``MiningContext`` (the training set, the
model's forward pass with gradients, the augmentation, a snapshot of the embedding for the index)
and answers two questions a step asks: which items form the batch, and which triplets to train on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from explorer.training.batches import PKBatches
from explorer.training.config import TrainConfig
from explorer.training.losses import distance
from explorer.training.miners import HnswMiner, in_batch_miner

REFRESH_LAG = 10  # steps between starting an index rebuild and mining from it (at most refresh_every // 2)


@dataclass
class MiningContext:
    """What the trainer lends a strategy: the training set, the model's forward pass (with
    gradients), the run's augmentation (None when off) and a snapshot of every training item's
    embedding by the weights being trained, with the hash of those weights."""

    x: torch.Tensor
    y: torch.Tensor
    embed: Callable[[torch.Tensor], torch.Tensor]
    augment: Callable[[torch.Tensor], torch.Tensor] | None
    snapshot: Callable[[], tuple[np.ndarray, str]]
    threads: int = 2
    # a snapshot of the weights as they are now, to embed with while training goes on (None: only
    # ``snapshot``, in the step)
    frozen: Callable[[], Callable[[], tuple[np.ndarray, str]]] | None = None


@dataclass
class Mined:
    """One step's triplets as indices into ``emb``: the batch's embeddings, followed by those of
    negatives found outside the batch; ``labels`` has a label per row of ``emb``."""

    a: torch.Tensor
    p: torch.Tensor
    n: torch.Tensor
    emb: torch.Tensor
    labels: torch.Tensor


class Negatives:
    """A strategy: ``batch`` (item ids of a step's batch) and ``mine`` (its triplets)."""

    name = ""
    title = ""  # as the Train page lists it
    help = ""  # what it does and when to use it
    miner: HnswMiner | None = None  # the index, for strategies that keep one

    def __init__(self, cfg: TrainConfig, ctx: MiningContext):
        self.cfg, self.ctx = cfg, ctx

    def batch(self, step: int, batches: PKBatches) -> np.ndarray:
        return batches.batch(step)

    def mine(self, idx: np.ndarray, emb: torch.Tensor, yb: torch.Tensor) -> Mined:
        raise NotImplementedError

    def report(self, step: int) -> dict:
        """Numbers for the step's log row (an index's staleness, rebuilds, duplicates)."""
        return {}

    def settle(self) -> None:
        """Take an index being rebuilt in the background now (before a checkpoint); none here."""

    @classmethod
    def describe(cls, cfg: TrainConfig) -> str:
        return cls.name


class InBatch(Negatives):
    """pytorch-metric-learning's in-batch miner of ``kind`` (TripletMarginMiner is O(B^3))."""

    kind = ""

    def __init__(self, cfg: TrainConfig, ctx: MiningContext):
        super().__init__(cfg, ctx)
        self.pml = in_batch_miner(self.kind, cfg.margin, distance(cfg.squared))

    def mine(self, idx, emb, yb) -> Mined:
        return Mined(*self.pml(emb, yb), emb=emb, labels=yb)


class SemiHard(InBatch):
    name = kind = "semihard"
    title = "in-batch semi-hard"
    help = "negatives farther than the positive but within the margin, from the batch (FaceNet's choice: stable)"


class Hard(InBatch):
    name = kind = "hard"
    title = "in-batch hard"
    help = "negatives closer than the positive, from the batch: strong gradients, can collapse from scratch"


class BatchHard(InBatch):
    name = kind = "batch-hard"
    title = "in-batch batch-hard"
    help = "each anchor's hardest positive and hardest negative in the batch; best for fine-tuning a model"


class NoNegatives(BatchHard):
    """For a loss that needs no negatives: nothing it trains on, only the batch-hard triplets
    (each anchor's hardest positive and negative, O(B^2)) that the charts draw."""

    name = "none"
    title = "none (the loss needs no negatives)"
    help = "the loss compares items with learned proxies, not with each other"


class Indexed(Negatives):
    """A strategy backed by an hnswlib index over the training set, rebuilt every
    ``refresh_every`` steps from a snapshot of the model."""

    def __init__(self, cfg: TrainConfig, ctx: MiningContext):
        super().__init__(cfg, ctx)
        self.miner = HnswMiner(
            ctx.y.numpy(),
            k=cfg.hnsw_k,
            mode=cfg.hnsw_mode,
            margin=cfg.margin,
            ef=cfg.hnsw_ef,
            threads=ctx.threads,
            random_state=cfg.seed,
        )
        self._pending = None  # (the step that takes it, the step whose weights it embeds, the future)

    def refresh(self, step: int) -> None:
        vectors, model_hash = self.ctx.snapshot()
        self.miner.refresh(vectors, step, model_hash=model_hash)

    def refresh_if_stale(self, step: int) -> None:
        """Rebuild the index every ``refresh_every`` steps without stalling a step: the weights of
        step s are copied, embedded and indexed in a background thread, and that index is taken
        at step s + lag (waiting for it only if it is not done yet). So which index a step mines
        from depends on the step alone, never on timing, and the run stays reproducible. The
        first index (nothing to mine from yet) and ``refresh_every`` 1 are built in the step."""
        m = self.miner
        if self._pending is not None and step >= self._pending[0]:
            self.settle()
        if m.index is None:
            self.refresh(step)
            return
        if self._pending is None and m.staleness(step) >= self.cfg.refresh_every:
            lag = min(REFRESH_LAG, self.cfg.refresh_every // 2)
            if lag == 0 or self.ctx.frozen is None:
                self.refresh(step)
                return
            embed = self.ctx.frozen()

            def build():
                vectors, model_hash = embed()
                return m.build(vectors), model_hash

            worker = ThreadPoolExecutor(1, thread_name_prefix="index-refresh")
            self._pending = (step + lag, step, worker.submit(build))
            worker.shutdown(wait=False)  # its thread ends with the rebuild

    def settle(self) -> None:
        """Take the index being rebuilt, if any, now: at the step it was due, or at a checkpoint
        (whose steps the config fixes, so a resumed run goes on as the uninterrupted one did)."""
        if self._pending is not None:
            _, started, future = self._pending
            self._pending = None
            index, model_hash = future.result()
            self.miner.install(index, started, model_hash=model_hash)

    def duplicates(self) -> int:
        return len(self.miner.duplicates)

    def report(self, step: int) -> dict:
        m = self.miner
        return {"staleness": m.staleness(step), "refreshes": m.refreshes, "duplicates": self.duplicates()}

    @classmethod
    def describe(cls, cfg: TrainConfig) -> str:
        return (
            f"{cls.name} ({cfg.hnsw_mode}; k {cfg.hnsw_k}, ef {cfg.hnsw_ef}; "
            f"index rebuilt every {cfg.refresh_every} steps)"
        )


class HnswPerAnchor(Indexed):
    """One negative per anchor from the index (semi-hard or hardest), against the anchor's hardest
    in-batch positive; negatives outside the batch are embedded by the current model, with
    gradients."""

    name = "hnsw"
    title = "HNSW over the whole training set"
    help = (
        "each anchor's negative from an index over every training item, not only the batch: for data "
        "with many identities, whose hardest negatives are rarely in the same batch; each step also "
        "embeds the negatives it finds"
    )
    _seen = 0  # other-identity items at distance ~0 from this step's anchors

    def batch(self, step, batches):
        self.refresh_if_stale(step)
        return batches.batch(step)

    def duplicates(self) -> int:
        return self._seen

    def mine(self, idx, emb, yb) -> Mined:
        with torch.no_grad():
            d = torch.cdist(emb, emb)
            same = (yb[:, None] == yb[None, :]) & ~torch.eye(len(yb), dtype=torch.bool)
            hardest_pos = torch.where(same, d, torch.full_like(d, -1.0)).max(dim=1).values
        found = self.miner.mine(idx, emb.detach().numpy(), hardest_pos.numpy())
        self._seen = len(found.duplicates)
        ok = np.flatnonzero(found.negatives >= 0)
        if len(ok) == 0:
            empty = torch.empty(0, dtype=torch.long)
            return Mined(empty, empty, empty, emb=emb, labels=yb)
        negs = found.negatives[ok]
        # a negative already in the batch is used where it is; the others are embedded once each
        # (several anchors often pick the same one)
        where = {int(item): pos for pos, item in enumerate(idx)}
        outside = np.unique(np.array([v for v in negs.tolist() if v not in where], np.int64))
        for j, item in enumerate(outside.tolist()):
            where[item] = len(idx) + j
        if len(outside):
            xn = self.ctx.x[outside]
            if self.ctx.augment is not None:
                xn = self.ctx.augment(xn)
            emb = torch.cat([emb, self.ctx.embed(xn)])
        a, p, n = [], [], []
        same_np = same.numpy()
        for i, item in zip(ok.tolist(), negs.tolist(), strict=True):
            for q in np.flatnonzero(same_np[i]):
                a.append(i)
                p.append(q)
                n.append(where[item])
        labels = torch.cat([yb, self.ctx.y[outside]])
        a, p, n = (torch.as_tensor(v, dtype=torch.long) for v in (a, p, n))
        return Mined(a, p, n, emb=emb, labels=labels)


class HnswBatches(Indexed):
    """Doppelganger batches: the index puts identities that are confused with each other in one
    batch; semi-hard (or, with hnsw_mode "hard", batch-hard) mining inside it."""

    name = "hnsw-batches"
    title = "HNSW doppelganger batches (confusable identities together; semi-hard inside)"
    help = (
        "the index puts identities that the model confuses in one batch, then mining stays in the "
        "batch: hard negatives without extra forward passes"
    )

    def __init__(self, cfg: TrainConfig, ctx: MiningContext):
        super().__init__(cfg, ctx)
        inside = {"semihard": "semihard", "hard": "batch-hard"}[cfg.hnsw_mode]
        self.pml = in_batch_miner(inside, cfg.margin, distance(cfg.squared))

    def batch(self, step, batches):
        self.refresh_if_stale(step)
        return self.miner.compose_batch(self.cfg.P, self.cfg.K, np.random.default_rng([self.cfg.seed, step]))

    def mine(self, idx, emb, yb) -> Mined:
        return Mined(*self.pml(emb, yb), emb=emb, labels=yb)


NEGATIVES: dict[str, type[Negatives]] = {
    cls.name: cls for cls in (HnswPerAnchor, HnswBatches, SemiHard, Hard, BatchHard)
}  # the user's choices; NoNegatives goes with a loss that needs none


def negatives_for(cfg: TrainConfig, ctx: MiningContext, *, needed: bool = True) -> Negatives:
    """The run's strategy: the one its config names, or NoNegatives when the loss needs none."""
    return NEGATIVES[cfg.miner](cfg, ctx) if needed else NoNegatives(cfg, ctx)
