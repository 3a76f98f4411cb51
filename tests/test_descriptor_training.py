"""Fine-tuning dlib's descriptor itself: it starts from dlib's weights (step 0 is the descriptor),
learns only the blocks asked for, is measured against the untrained descriptor on the same
held-out people, and its checkpoint embeds chips as the trained module does."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from training_fixtures import wait_for

from explorer.training import jobs
from explorer.training.config import TrainConfig


@pytest.fixture(scope="module")
def chips(att_faces):
    from explorer.data.folders import load_directory
    from explorer.faces.encoder import FaceEncoder
    from explorer.faces.pipeline import FaceSettings

    photos = load_directory(att_faces)
    keep = np.isin(photos.labels, [f"s{k}" for k in range(1, 13)])
    from explorer.data.dataset import Dataset

    some = Dataset("att 12", "image", photos.ids[keep], photos.labels[keep], [photos.items[i] for i in np.flatnonzero(keep)],
                   content_hash="att12", origin="server")  # fmt: skip
    return FaceEncoder(FaceSettings(crops=True)).prepare(some)


def test_fine_tuning_the_descriptor_starts_from_dlibs_weights_and_freezes_what_it_should(chips, tmp_path, monkeypatch):
    from explorer.faces.encoder import FaceEncoder
    from explorer.faces.pipeline import FaceSettings, describe
    from explorer.models.checkpoints import load_checkpoint
    from explorer.training.evaluation import evaluate
    from explorer.training.launch import start_training

    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    jobs._RUNS.clear()
    base = FaceEncoder(FaceSettings(crops=True))
    cfg = TrainConfig(steps=4, P=4, K=2, checkpoint_every=2, validate_every=2, snapshot_every=4, lr=1e-4, augment=False)
    run = start_training(chips, cfg, start_from=base, trained_blocks=4)
    wait_for(run, lambda: not run.active, timeout=600)
    jobs._RUNS.clear()
    assert run.status == "finished", run.error
    data, spec = run.trainer.data, run.spec
    assert spec.architecture == "dlib_resnet" and spec.params["trained_blocks"] == 4 and not spec.normalize
    # the baseline is the untrained descriptor on the same held-out chips
    val_chips = [
        chips.items[i] for i in np.flatnonzero(np.isin(chips.labels, sorted(set(data.classes[j] for j in data.y_val))))
    ]
    assert spec.info["baseline"]["auc"] == pytest.approx(evaluate(describe(val_chips), data.y_val)["auc"], abs=1e-6)
    assert run.validations[0]["step"] == 0 and run.validations[0]["auc"] == pytest.approx(
        spec.info["baseline"]["auc"], abs=1e-6
    )
    model, dlib = run.trainer.model, base.source
    assert torch.equal(model.conv.weight, dlib.conv.weight) and torch.equal(
        model.blocks[9].conv2.weight, dlib.blocks[9].conv2.weight
    )
    assert not torch.equal(model.fc.weight, dlib.fc.weight.cpu())  # the output map learned
    assert not torch.equal(model.blocks[13].conv1.weight, dlib.blocks[13].conv1.weight.cpu())
    from explorer.faces.encoder import as_face_model

    enc = as_face_model(load_checkpoint(run.model_path(4).read_bytes(), "tuned.safetensors", origin="server"))
    x = torch.from_numpy(data.x_val[:6])
    with torch.inference_mode():
        want = run.trainer.usable_model.eval()(x).numpy()
    np.testing.assert_allclose(
        enc.encode(list(np.stack([chips.items[0]] * 1))), enc.encode([chips.items[0]]), atol=1e-6
    )
    from explorer.faces.encoder import TunedFaceEncoder

    assert isinstance(enc, TunedFaceEncoder) and enc.restore_token == "faces-crops" and enc.normalize is False
    photo = np.asarray(chips.items[0])  # a photo of a face goes through the face pipeline first
    assert enc.acquire_item(photo).shape == (150, 150, 3)
    got = enc.forward(data.x_val[:6])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_checkpoint_that_reads_worse_than_the_untrained_descriptor_is_not_best():
    runs = SimpleNamespace(
        checkpoints=[2, 4],
        figures=lambda step: {0: {"map_at_r": 0.40}, 2: {"map_at_r": 0.50}, 4: {"map_at_r": 0.60}}[step],
        spec=SimpleNamespace(info={"baseline": {"map_at_r": 0.70}}),
    )
    runs.start_figures = lambda: jobs.Run.start_figures(runs)
    assert jobs.Run.best_checkpoint(runs) is None
    runs.spec.info["baseline"]["map_at_r"] = 0.55
    assert jobs.Run.best_checkpoint(runs) == 4


def test_a_run_from_scratch_must_beat_its_own_step_0_and_its_checkpoints_are_named_by_what_they_are():
    figures = {0: {"map_at_r": 0.592}, 100: {"map_at_r": 0.540}, 300: {"map_at_r": 0.567}}
    runs = SimpleNamespace(
        checkpoints=[100, 300], figures=figures.get, names={},
        spec=SimpleNamespace(info={"training_data": {"name": "att_faces"}}), cfg=SimpleNamespace(loss="triplet"),
    )  # fmt: skip
    runs.start_figures = lambda: jobs.Run.start_figures(runs)
    assert jobs.Run.best_checkpoint(runs) is None  # 0.567 read worse than the untrained 0.592: not "best"
    figures[300]["map_at_r"] = 0.60
    assert jobs.Run.best_checkpoint(runs) == 300
    assert jobs.Run.model_name(runs, 300) == "att_faces triplet step 300 MAP@R 0.600"
    runs.names[300] = "faces v2"
    assert jobs.Run.model_name(runs, 300) == "faces v2"
