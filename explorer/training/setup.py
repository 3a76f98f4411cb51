"""What a run starts from: the identity split, the built-in architecture from scratch, the
provenance a checkpoint carries, and the preprocessed arrays it trains on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from explorer.models.encoder import Encoder, ModelInfo
from explorer.models.spec import InputSpec, ModelSpec
from explorer.training.config import TrainData


def split_identities(
    labels: np.ndarray, *, val_fraction: float = 0.25, seed: int = 0, val_labels: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, validation): whole identities go to one side (open-set validation)."""
    labels = np.asarray(labels).astype(str)
    names = np.unique(labels)
    if val_labels is None:
        n_val = max(1, round(len(names) * val_fraction))
        val_labels = np.random.default_rng(seed).choice(names, n_val, replace=False).tolist()
    val = np.isin(labels, list(val_labels))
    if val.all() or not val.any():
        raise ValueError("training and validation each need at least one identity")
    return ~val, val


def input_spec_for(dataset, max_side: int = 48) -> InputSpec:
    """An input spec for training from scratch: grey or RGB as the images are, the longer side
    scaled to ``max_side``; vectors as they are."""
    if dataset.kind == "vector":
        return InputSpec(kind="vector", dim=int(np.asarray(dataset.items).shape[1]))
    img = dataset.items[0]
    h, w = img.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    return InputSpec(
        kind="image",
        height=max(4, round(h * scale)),
        width=max(4, round(w * scale)),
        channels=3 if img.ndim == 3 else 1,
        mean=(0.5,) * (3 if img.ndim == 3 else 1),
        std=(0.25,) * (3 if img.ndim == 3 else 1),
    )


ALIGN_MIN_SIDE = 24  # images at least this large get the learned alignment (8 x 8 digits do not)
STRIPES = 4  # stripe embeddings: horizontal stripes of the feature map (brow, eyes, nose, mouth on a face)
STRIPES_MIN_HEIGHT = 24  # images at least this high (a feature map of 6 rows) can have them


def scratch_options(dataset, max_side: int = 48) -> dict[str, str | None]:
    """Which of the from-scratch options (``align``, ``stripes``) ``spec_from_scratch`` can apply to a
    dataset: None where it can, else the reason it cannot, in words."""
    inp = input_spec_for(dataset, max_side)
    if inp.kind == "vector":
        why = "these items are vectors (the built-in model for them is an MLP)"
        return {"align": why, "stripes": why}
    size = f"these images train at {inp.width} x {inp.height} px"
    return {
        "align": None
        if min(inp.height, inp.width) >= ALIGN_MIN_SIDE
        else f"needs images of at least {ALIGN_MIN_SIDE} px on each side; {size}",
        "stripes": None
        if inp.height >= STRIPES_MIN_HEIGHT
        else f"needs images at least {STRIPES_MIN_HEIGHT} px high; {size}",
    }


def spec_from_scratch(
    dataset,
    *,
    out_dim: int = 64,
    max_side: int = 48,
    align: bool = False,
    stripes: bool = False,
    residual: bool = False,
) -> ModelSpec:
    """The built-in architecture for a dataset: an MLP for vectors (``residual``: one that starts as
    the identity and keeps the vectors' size, for a head on a good descriptor); for images the
    ConvNet, with a learned alignment (spatial transformer) in front when ``align`` and the images
    are large enough, and with ``stripes``, STRIPES stripe embeddings of ``out_dim`` dimensions each
    (PCB) on images at least STRIPES_MIN_HEIGHT high."""
    inp = input_spec_for(dataset, max_side)
    if inp.kind == "vector" and residual:
        return ModelSpec("mlp", {"in_dim": inp.dim, "hidden": [256], "residual": True}, inp, inp.dim)
    if inp.kind == "vector":
        return ModelSpec("mlp", {"in_dim": inp.dim, "hidden": [256]}, inp, out_dim)
    params = {"in_channels": inp.channels, "widths": [16, 32, 64]}
    cannot = scratch_options(dataset, max_side)
    if align and cannot["align"] is None:
        params["align"] = True
    if stripes and cannot["stripes"] is None:
        params["stripes"] = STRIPES
        out_dim *= STRIPES
    return ModelSpec("convnet", params, inp, out_dim)


def with_provenance(spec: ModelSpec, dataset, train: np.ndarray, val: np.ndarray, *, fine_tuned: bool) -> ModelSpec:
    """The spec with what its model learns from, carried by every checkpoint: ``training_data`` (name,
    items, content hash: the Train page compares it with the workspace; the identities trained on)
    and ``trained_on`` in words (as
    the bundled model's; the threshold card repeats it), naming the model a fine-tuning run started from."""
    labels = np.asarray(dataset.labels)
    words = (
        f"{dataset.name}: {len(labels[train]):,} items of {len(np.unique(labels[train])):,} identities "
        f"({len(np.unique(labels[val])):,} identities held out for validation)"
    )
    if fine_tuned and spec.info.get("trained_on"):
        words += f"; fine-tuned from a model trained on {spec.info['trained_on']}"
    return replace(
        spec,
        info={
            **spec.info,
            "trained_on": words,
            "training_data": {
                "name": dataset.name,
                "items": len(labels),
                "data_hash": dataset.content_hash,
                # the pages evaluate on the other identities by default (explorer.workspace.held_out)
                "identities": sorted({str(v) for v in labels[train]}),
            },
        },
    )


def prepare(dataset, spec: ModelSpec, train: np.ndarray, val: np.ndarray) -> TrainData:
    """Preprocess a dataset's items as the spec says (once: training reuses the arrays)."""
    pre = Encoder(spec.input, spec.out_dim, ModelInfo("prep", "none", "", "", {}))
    items = dataset.items
    x = pre.preprocess(items if dataset.kind == "vector" else list(items)).astype(np.float32)
    classes, y = np.unique(np.asarray(dataset.labels).astype(str), return_inverse=True)
    return TrainData(x[train], y[train].astype(np.int64), x[val], y[val].astype(np.int64), classes.tolist())
