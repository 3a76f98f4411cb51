"""A run's settings (``TrainConfig``, what config.json holds) and its prepared data (``TrainData``).

The loss and the negatives are named here by strings, as a run's folder stores them; they are
turned into objects once, by ``objectives.objective_for`` and ``negatives.negatives_for``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "triplet"  # a key of objectives.OBJECTIVES
    miner: str = "hnsw"  # a key of negatives.NEGATIVES (a loss that needs no negatives ignores it)
    margin: float = 0.2  # proxy-anchor: on cosine similarity (0.1 in its paper)
    squared: bool = False  # triplet / contrastive on squared distances
    lr: float = 1e-3
    schedule: str = "constant"  # constant | cosine (the learning rate falls to 0 at the last step)
    P: int = 8  # identities per batch
    K: int = 4  # items per identity
    steps: int = 300
    augment: bool = True
    # random erasing: the share of augmented images that get a rectangle of noise; off unless asked
    # for (it helped Proxy-Anchor and hurt triplet runs on faces: benchmarks/README.md)
    erase: float = 0.0
    # augmentation's zoom: each training image scaled by 1 +- up to this fraction (with augment)
    zoom: float = 0.1
    # an exponential moving average of the weights (decay per step; 0: off) is what validation,
    # checkpoints and "Use this model" get; training goes on with the raw weights
    ema: float = 0.0
    hnsw_mode: str = "semihard"  # hard | semihard
    hnsw_k: int = 32
    hnsw_ef: int = 64
    refresh_every: int = 50  # steps between index rebuilds
    validate_every: int = 25
    checkpoint_every: int = 100
    snapshot_every: int = 100  # validation map snapshots
    seed: int = 0

    def check(self) -> TrainConfig:
        from explorer.training.negatives import NEGATIVES
        from explorer.training.objectives import OBJECTIVES

        if self.loss not in OBJECTIVES:
            raise ValueError(f"loss must be one of {', '.join(OBJECTIVES)}")
        if self.miner not in NEGATIVES:
            raise ValueError(f"miner must be one of {', '.join(NEGATIVES)}")
        if self.hnsw_mode not in ("hard", "semihard"):
            raise ValueError(f"hnsw_mode must be 'hard' or 'semihard', not {self.hnsw_mode!r}")
        if self.P < 2 or self.K < 2:
            raise ValueError("a batch needs at least 2 identities (P) of at least 2 items (K)")
        if self.steps < 1 or self.margin <= 0 or self.lr <= 0:
            raise ValueError("steps, margin and learning rate must be positive")
        if not 0 <= self.erase <= 1:
            raise ValueError("erase is a probability: 0 to 1")
        if not 0 <= self.zoom < 1:
            raise ValueError("zoom is a fraction of the size: 0 (off) up to, not including, 1")
        if not 0 <= self.ema < 1:
            raise ValueError("ema is a decay per step: 0 (off) up to, not including, 1")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainData:
    """Preprocessed inputs (float32, as the model takes them) and integer labels, split by identity."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    classes: list[str] = field(default_factory=list)
