"""A run's settings in words, as a person reattaching to it reads them (the Train page's
"Settings of this run")."""

from __future__ import annotations

import numpy as np

from explorer.models.spec import ModelSpec
from explorer.training.config import TrainConfig, TrainData
from explorer.training.negatives import NEGATIVES
from explorer.training.objectives import OBJECTIVES


def describe_settings(
    cfg: TrainConfig, spec: ModelSpec, data: TrainData, *, fine_tuned: bool = False
) -> list[tuple[str, str]]:
    """A run's settings as (setting, value) rows in words."""
    params = ", ".join(
        f"{k} {'-'.join(map(str, v)) if isinstance(v, list | tuple) else v}"
        for k, v in sorted(spec.params.items())
        if k not in ("in_channels", "in_dim")
    )
    start = "the workspace model (fine-tuned)" if fine_tuned else "built-in architecture, from scratch"

    def ids(y: np.ndarray) -> str:
        return f"{len(np.unique(y)):,} identities, {len(y):,} items"

    trained_on = spec.info.get("training_data")
    rows = [("Data", f"{trained_on['name']}, {trained_on['items']:,} items")] if trained_on else []
    rows += [
        ("Starting model", start),
        ("Architecture", f"{spec.architecture} ({params})" if params else spec.architecture),
        ("Input", spec.input.describe()),
        ("Embedding", f"{spec.out_dim} dimensions" + (", L2-normalised" if spec.normalize else "")),
        ("Training data", ids(data.y_train)),
        ("Validation data (never trained on)", ids(data.y_val)),
    ]
    objective = OBJECTIVES[cfg.loss]
    rows.append(("Loss", objective.describe(cfg)))
    if objective.uses_negatives:
        rows.append(("Negatives", NEGATIVES[cfg.miner].describe(cfg)))
    rows += [
        ("Learning rate", f"{cfg.lr:g}, {cfg.schedule}"),
        ("Batch", f"P {cfg.P} identities x K {cfg.K} items = {cfg.P * cfg.K}"),
        ("Steps", f"{cfg.steps:,}"),
        (
            "Augmentation",
            (f"on (zoom +-{cfg.zoom:.0%})" + (f", random erasing p = {cfg.erase:g}" if cfg.erase else ""))
            if cfg.augment
            else "off",
        ),
        ("Weight averaging", f"EMA, decay {cfg.ema:g}" if cfg.ema else "off"),
        (
            "Validation / checkpoint / map every",
            f"{cfg.validate_every} / {cfg.checkpoint_every} / {cfg.snapshot_every} steps",
        ),
        ("Seed", str(cfg.seed)),
    ]
    return rows
