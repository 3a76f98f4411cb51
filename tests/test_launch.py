"""Starting a run from a dataset in the library: split, starting model, provenance, where the data go."""

import numpy as np
import pytest
import torch
from training_fixtures import blobs, wait_for

from explorer.data.dataset import Dataset
from explorer.models.architectures import build_model
from explorer.training import jobs
from explorer.training.config import TrainConfig
from explorer.training.launch import start_head_training, start_training
from explorer.training.setup import spec_from_scratch


def _dataset(origin="server"):
    x, y = blobs(n_ids=12, per=6)
    return Dataset(name="blobs", kind="vector", ids=[str(i) for i in range(len(y))], labels=[f"p{v}" for v in y],
                   items=x, content_hash="c" * 64, origin=origin)  # fmt: skip


class _Encoder:
    """What start_training reads of a workspace encoder: its spec and torch model."""

    def __init__(self, spec):
        self.spec, self.source = spec, build_model(spec)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    yield
    jobs._RUNS.clear()


def test_a_run_from_scratch_holds_out_whole_identities_and_records_them(runs):
    ds = _dataset()
    run = start_training(ds, TrainConfig(miner="semihard", P=4, K=2, steps=3, checkpoint_every=3), val_fraction=0.25)
    wait_for(run, lambda: not run.active)
    assert run.status == "finished" and not run.fine_tuned and run.spec.architecture == "mlp"
    train_ids = {run.trainer.data.classes[i] for i in run.trainer.data.y_train}
    val_ids = {run.trainer.data.classes[i] for i in run.trainer.data.y_val}
    assert len(val_ids) == 3 and not train_ids & val_ids  # 25 % of 12 identities, never trained on
    assert run.spec.info["trained_on"] == "blobs: 54 items of 9 identities (3 identities held out for validation)"
    assert (run.folder / "data.npz").is_file()  # server data: the run can resume after a restart


def test_fine_tuning_starts_from_the_workspace_weights_and_refuses_new_architecture_options(runs):
    ds = _dataset()
    enc = _Encoder(spec_from_scratch(ds))
    for option in ("align", "stripes"):
        with pytest.raises(ValueError, match="build a new architecture"):
            start_training(ds, TrainConfig(), start_from=enc, **{option: True})
    run = start_training(ds, TrainConfig(miner="semihard", P=4, K=2, steps=1), start_from=enc)
    wait_for(run, lambda: not run.active)
    assert run.fine_tuned
    weights = jobs.st_load((run.folder / "initial.safetensors").read_bytes())
    for k, v in enc.source.state_dict().items():
        assert torch.equal(weights[k], v), k


def test_a_run_on_uploads_keeps_its_data_in_memory(runs):
    run = start_training(
        _dataset(origin="upload"), TrainConfig(miner="semihard", P=4, K=2, steps=2, checkpoint_every=2)
    )
    wait_for(run, lambda: not run.active)
    assert run.status == "finished" and not (run.folder / "data.npz").exists()
    assert np.isfinite(run.validations[-1]["auc"])


def test_a_head_on_frozen_descriptors_records_what_they_read_alone_on_the_held_out_people(runs):
    from explorer.training.evaluation import evaluate

    ds = _dataset()
    vectors = np.asarray(ds.items, np.float32) * 2  # stand-ins for a frozen model's descriptors
    run = start_head_training(
        ds, vectors, "faces", TrainConfig(miner="semihard", P=4, K=2, steps=2, checkpoint_every=2)
    )
    wait_for(run, lambda: not run.active)
    info = run.spec.info
    assert info["base"] == "faces" and run.spec.architecture == "mlp" and run.spec.params["residual"]
    assert run.spec.input.dim == run.spec.out_dim == vectors.shape[1]  # it starts as the identity
    data = run.trainer.data
    val_rows = np.isin(ds.labels, [data.classes[i] for i in np.unique(data.y_val)])
    unit = vectors[val_rows] / np.linalg.norm(vectors[val_rows], axis=1, keepdims=True)
    assert info["baseline"] == pytest.approx(evaluate(unit, data.y_val))  # the descriptors, unit length, same people
    assert "faces descriptors" in info["trained_on"]
    with pytest.raises(ValueError, match="apply to images"):
        start_head_training(ds, vectors, "faces", TrainConfig(), align=True)


def test_a_head_embeds_through_its_base():
    from explorer.models.encoder import ModelInfo, StackedEncoder, TorchEncoder
    from explorer.models.spec import InputSpec, ModelSpec

    class Base(TorchEncoder):
        def __init__(self):
            model = torch.nn.Flatten()
            super().__init__(model, InputSpec(kind="image", height=4, width=4), 16, ModelInfo("base", "x", "b" * 64, "bundled", {}),
                             normalize=False)  # fmt: skip

    spec = ModelSpec("mlp", {"in_dim": 16, "hidden": [8]}, InputSpec(kind="vector", dim=16), out_dim=4)
    head = TorchEncoder(build_model(spec), spec.input, 4, ModelInfo("head", "safetensors", "h" * 64, "server", {}))
    both = StackedEncoder(Base(), head)
    images = [np.random.default_rng(i).integers(0, 255, (4, 4), dtype=np.uint8) for i in range(5)]
    want = head.encode(Base().encode(images))
    np.testing.assert_allclose(both.encode(images), want, atol=1e-6)
    assert both.out_dim == 4 and both.model_info.name == "head on base"
