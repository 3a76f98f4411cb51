"""Small seeded training sets and helpers shared by the training tests."""

import time

import numpy as np

from explorer.models.spec import InputSpec, ModelSpec
from explorer.training import jobs
from explorer.training.config import TrainData
from explorer.training.setup import split_identities


def blobs(n_ids=40, per=12, signal=4, noise_dims=28, seed=0):
    """Identities differ in a few dimensions; many noisy dimensions hide it (raw MAP@R is poor)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, signal)) * 1.5
    y = np.repeat(np.arange(n_ids), per)
    x = np.c_[centres[y] + 0.3 * rng.normal(size=(len(y), signal)), 2.0 * rng.normal(size=(len(y), noise_dims))]
    return x.astype(np.float32), y


def vector_data(seed=0):
    x, y = blobs(seed=seed)
    train, val = split_identities(y.astype(str), val_fraction=0.25, seed=seed)
    return TrainData(x[train], y[train], x[val], y[val], [str(i) for i in range(40)])


SPEC = ModelSpec("mlp", {"in_dim": 32, "hidden": [64]}, InputSpec(kind="vector", dim=32), out_dim=16)


def image_data(n_ids=16, per=8, seed=0):
    """24 x 16 images: a template per identity (coarse 6 x 4 blocks), one of 4 strong nuisance
    patterns shared by every identity (as lighting is), and noise: nearest pixels find the nuisance."""
    rng = np.random.default_rng(seed)
    templates = np.kron(rng.normal(size=(n_ids, 6, 4)), np.ones((4, 4)))
    nuisance = 2 * np.kron(rng.normal(size=(4, 3, 2)), np.ones((8, 8)))
    y = np.repeat(np.arange(n_ids), per)
    x = templates[y] + nuisance[rng.integers(0, 4, len(y))] + rng.normal(size=(len(y), 24, 16))
    x = x[:, None].astype(np.float32)
    train, val = split_identities(y.astype(str), val_fraction=0.25, seed=seed)
    return TrainData(x[train], y[train], x[val], y[val], [str(i) for i in range(n_ids)])


STRIPED = ModelSpec(
    "convnet",
    {"in_channels": 1, "widths": [8, 16], "stripes": 3},
    InputSpec(kind="image", height=24, width=16),
    out_dim=12,
)


def wait_for(run, cond, timeout=120):
    t = time.time()
    while not cond() and time.time() - t < timeout:
        time.sleep(0.05)
    assert cond(), run.status


def crashed_run(cfg, *, at):
    """A run started in the background whose step ``at`` raises (a power cut), waited for."""
    run = jobs.start_run(cfg, vector_data(), SPEC)
    original = run.trainer.step

    def crash():
        if run.trainer.step_no == at:
            raise RuntimeError("power cut")
        return original()

    run.trainer.step = crash
    wait_for(run, lambda: not run.active)
    return run
