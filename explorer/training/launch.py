"""Start a training run on a dataset: split it by identity, choose the starting model, record the
provenance, preprocess once, and hand it to a background job. The Train page and any other
front end call ``start_training`` with what the person chose."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np

from explorer import config
from explorer.data.dataset import Dataset
from explorer.models.architectures import build_model
from explorer.training import jobs
from explorer.training.config import TrainConfig
from explorer.training.evaluation import evaluate
from explorer.training.setup import prepare, spec_from_scratch, split_identities, with_provenance

ARCHITECTURE_OPTIONS = {"align": "the learned alignment", "stripes": "stripe embeddings"}


def start_training(
    dataset,
    cfg: TrainConfig,
    *,
    val_fraction: float = 0.25,
    start_from=None,
    align: bool = False,
    stripes: bool = False,
    base: str | None = None,
    trained_blocks: int = 0,
) -> jobs.Run:
    """A run started in the background on ``dataset`` (whole identities held out for validation).

    start_from: an Encoder with a torch model of ours to fine-tune (its weights are copied), or
    None for the built-in architecture from scratch, with the learned alignment and / or stripe
    embeddings when asked (``setup.scratch_options`` says where they apply); ``base``: see
    ``start_head_training``; ``trained_blocks``: fine-tuning the face descriptor, how many of its
    residual blocks at the end learn (0: all of it). A run on uploads keeps
    its data off the disk unless the operator caches uploads. Raises ValueError for settings that
    do not fit the data, ``jobs.Busy`` when another run holds the server's slot.
    """
    train, val = split_identities(dataset.labels, val_fraction=val_fraction, seed=cfg.seed)
    if start_from is not None:
        asked = [ARCHITECTURE_OPTIONS[k] for k, on in (("align", align), ("stripes", stripes)) if on]
        if asked:  # they change the architecture, so they belong to a model from scratch
            raise ValueError(
                f"{' and '.join(asked)} build a new architecture: they apply to the built-in "
                "architecture from scratch, not to the workspace model. Untick them to fine-tune "
                "the workspace model as it is, or start from scratch."
            )
        if getattr(start_from, "source", None) is None:
            raise ValueError("this model cannot be fine-tuned here: only models of the built-in architectures can")
        spec = start_from.spec
        if spec.architecture == "dlib_resnet":
            spec = replace(spec, params={**spec.params, "trained_blocks": int(trained_blocks)})
        model = build_model(spec)
        model.load_state_dict(start_from.source.state_dict())
    else:
        if dataset.kind == "vector" and (align or stripes):
            raise ValueError("the learned alignment and stripe embeddings apply to images; these items are vectors")
        # a head on a descriptor starts as the identity: from the descriptor's quality, not a random projection
        spec, model = spec_from_scratch(dataset, align=align, stripes=stripes, residual=base is not None), None
    spec = with_provenance(spec, dataset, train, val, fine_tuned=model is not None)
    data = prepare(dataset, spec, train, val)
    if base is not None:  # a head on a frozen descriptor: what the descriptor alone reads on the same people,
        # L2-normalised as the head's output is (distances and their gap on one scale; the head's step 0)
        unit = data.x_val / np.maximum(np.linalg.norm(data.x_val, axis=1, keepdims=True), 1e-12)
        spec = replace(spec, info={**spec.info, "base": base, "baseline": evaluate(unit, data.y_val)})
    if spec.architecture == "dlib_resnet":
        # the starting descriptor's own figures on the same held-out people: what training must beat
        figures = evaluate(_embed(start_from.source, data.x_val), data.y_val)
        spec = replace(spec, info={**spec.info, "baseline": figures, "baseline_of": start_from.model_info.name})
    keep = dataset.origin != "upload" or config.settings().cache_uploads  # uploads stay off the disk
    return jobs.start_run(cfg, data, spec, model, keep_data=keep)


def _embed(model, x: np.ndarray, batch: int = 32) -> np.ndarray:
    import torch

    device = next(model.parameters()).device
    with torch.inference_mode():
        out = [
            model(torch.from_numpy(x[k : k + batch]).to(device)).float().cpu().numpy() for k in range(0, len(x), batch)
        ]
    return np.concatenate(out) if out else np.zeros((0, 128), np.float32)


def start_head_training(dataset: Dataset, vectors: np.ndarray, base: str, cfg: TrainConfig, **options) -> jobs.Run:
    """A run that trains a small head (the built-in MLP) on ``vectors``, the descriptors a frozen
    model (``base``, in words) gave ``dataset``'s items, validated on held-out identities with the
    descriptors' own figures on them beside (``spec.info["baseline"]``). ``options`` as for
    ``start_training`` (the architecture options do not apply to a head)."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    digest = hashlib.sha256(dataset.content_hash.encode() + base.encode() + vectors.tobytes()).hexdigest()
    described = Dataset(f"{dataset.name}, {base} descriptors", "vector", dataset.ids, dataset.labels, vectors,
                        content_hash=digest, origin=dataset.origin)  # fmt: skip
    return start_training(described, cfg, base=base, **options)
