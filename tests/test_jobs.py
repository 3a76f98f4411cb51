"""Background runs: checkpoints, a resume after a crash, the index on resume, settings in words."""

import json
import time

import numpy as np
import pytest
import torch
from training_fixtures import SPEC, crashed_run, vector_data, wait_for

from explorer.training import jobs
from explorer.training.config import TrainConfig
from explorer.training.trainer import Trainer


def test_resume_after_a_crash_goes_on_from_the_last_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    cfg = TrainConfig(miner="semihard", steps=14, checkpoint_every=5, validate_every=5, snapshot_every=7, lr=3e-3)
    run = crashed_run(cfg, at=8)
    assert run.status == "failed" and "power cut" in run.error and run.checkpoints == [5]
    jobs._RUNS["other"] = type(
        "R", (), {"active": True, "started": time.time(), "status": "running", "paused_at": None}
    )()  # another visitor's run
    with pytest.raises(jobs.Busy, match="in progress"):
        jobs.start_run(cfg, vector_data(), SPEC)
    jobs._RUNS.clear()  # the server restarts
    again = jobs.get_run(run.id)
    assert again.status == "interrupted" and again.step == 5
    assert [r["step"] for r in again.steps] == [1, 2, 3, 4, 5]
    saved = jobs.st_load((run.folder / "step_000005.safetensors").read_bytes())
    for k, v in again.trainer.model.state_dict().items():
        assert torch.equal(v, saved[f"model.{k}"])
    jobs.resume(again)
    wait_for(again, lambda: not again.active)
    assert again.status == "finished" and again.step == 14
    assert [r["step"] for r in again.steps] == list(range(1, 15))
    assert again.checkpoints == [5, 10, 14] and again.model_path(14).is_file()
    assert [s["step"] for s in again.snapshots] == [7, 14]
    jobs._RUNS.clear()


def test_a_resumed_hnsw_run_takes_its_saved_index_when_the_manifest_matches(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    cfg = TrainConfig(miner="hnsw", steps=9, refresh_every=4, checkpoint_every=6, validate_every=50, lr=3e-3)
    run = crashed_run(cfg, at=7)
    assert run.checkpoints == [6] and run.trainer.negatives.miner.refreshed_at == 4
    saved_index = run.trainer.negatives.miner.index
    jobs._RUNS.clear()  # the server restarts
    again = jobs.get_run(run.id)
    assert again.index_note == "index loaded from the checkpoint"
    miner = again.trainer.negatives.miner
    assert miner.refreshed_at == 4 and miner.staleness(again.step) == 2
    x = again.trainer.data.x_train[:10]
    q = run.trainer.embed(x)
    for a, b in zip(saved_index.query(q, 5), miner.index.query(q, 5), strict=True):
        np.testing.assert_array_equal(a, b)
    jobs.resume(again)
    wait_for(again, lambda: not again.active)
    assert again.status == "finished" and miner.refreshed_at == 8  # refreshed on schedule after the resume
    jobs._RUNS.clear()
    # an index that is not the one the checkpoint names (here: another snapshot's) is rebuilt, not used
    manifest = again.folder / "index" / "manifest.json"
    manifest.write_text(manifest.read_text().replace(miner.model_hash, "0" * 64))
    third = jobs.get_run(run.id)
    assert third.index_note.startswith("index rebuilt (manifest does not match: model_hash")
    assert third.trainer.negatives.miner.index is None
    jobs._RUNS.clear()


def test_a_run_on_uploads_keeps_its_data_off_the_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    run = jobs.start_run(TrainConfig(miner="hnsw", steps=3, checkpoint_every=2), vector_data(), SPEC, keep_data=False)
    wait_for(run, lambda: not run.active)
    assert run.status == "finished" and run.model_path(3).is_file()
    assert not (run.folder / "data.npz").exists() and not (run.folder / "index").exists()  # nor their embeddings
    jobs._RUNS.clear()
    assert jobs.get_run(run.id) is None  # after a restart: nothing to resume from


def test_every_checkpoint_carries_its_own_validation_and_the_best_is_named(tmp_path, monkeypatch):
    from explorer.models.checkpoints import SPEC_KEY, safetensors_metadata

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    cfg = TrainConfig(miner="semihard", steps=14, validate_every=4, checkpoint_every=6, snapshot_every=100, lr=3e-3)
    run = jobs.start_run(cfg, vector_data(), SPEC)
    wait_for(run, lambda: not run.active)
    assert run.checkpoints == [6, 12, 14]
    assert [v["step"] for v in run.validations] == [0, 4, 6, 8, 12, 14]
    for step in run.checkpoints:
        meta = json.loads(safetensors_metadata(run.model_path(step).read_bytes())[SPEC_KEY])
        assert meta["info"]["validation"]["step"] == step
        assert meta["info"]["validation"]["map_at_r"] == run.figures(step)["map_at_r"]
    by_hand = max(run.checkpoints, key=lambda s: run.figures(s)["map_at_r"])
    assert run.best_checkpoint() == by_hand
    assert run.figures(5) is None
    jobs._RUNS.clear()


def test_an_averaging_run_saves_the_average_and_its_index_holds_the_trained_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    cfg = TrainConfig(miner="hnsw", steps=6, refresh_every=5, checkpoint_every=6, validate_every=3, lr=3e-3, ema=0.9)
    run = jobs.start_run(cfg, vector_data(), SPEC)
    wait_for(run, lambda: not run.active)
    assert run.status == "finished" and run.checkpoints == [6]
    saved = jobs.st_load(run.model_path(6).read_bytes())
    for k, v in run.trainer.usable_model.state_dict().items():
        assert torch.equal(saved[k], v), k
    jobs._RUNS.clear()
    tr = Trainer(cfg, vector_data(), SPEC)  # the miner's index: the weights being trained, not their average
    seen = []
    original = tr.negatives.miner.refresh
    tr.negatives.miner.refresh = lambda vectors, *a, **k: (seen.append(vectors.copy()), original(vectors, *a, **k))[1]
    for _ in range(5):
        tr.step()
    tr.negatives.refresh(tr.step_no)
    assert np.array_equal(seen[-1], tr.embed(tr.data.x_train, usable=False))
    assert not np.allclose(seen[-1], tr.embed(tr.data.x_train), atol=1e-3)


def test_a_run_describes_its_settings_and_keeps_them_after_a_restart(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    data = vector_data()
    cfg = TrainConfig(
        miner="hnsw-batches",
        hnsw_mode="hard",
        hnsw_k=24,
        hnsw_ef=80,
        refresh_every=7,
        steps=3,
        margin=0.3,
        lr=2e-3,
        P=5,
        K=3,
        erase=0.5,
        ema=0.99,
        seed=11,
        checkpoint_every=3,
    )
    start = jobs.build_model(SPEC)  # a fine-tuning run: it starts from given weights
    run = jobs.start_run(cfg, data, SPEC, start)
    wait_for(run, lambda: not run.active)
    rows = dict(run.settings())
    assert rows["Starting model"] == "the workspace model (fine-tuned)"
    assert rows["Architecture"] == "mlp (hidden 64)" and rows["Input"] == "vector[32]"
    assert rows["Embedding"] == "16 dimensions, L2-normalised"
    n_train, n_val = len(np.unique(data.y_train)), len(np.unique(data.y_val))
    assert rows["Training data"] == f"{n_train} identities, {len(data.y_train)} items"
    assert rows["Validation data (never trained on)"] == f"{n_val} identities, {len(data.y_val)} items"
    assert rows["Loss"] == "triplet, margin 0.3 (distance)"
    assert rows["Negatives"] == "hnsw-batches (hard; k 24, ef 80; index rebuilt every 7 steps)"
    assert rows["Batch"] == "P 5 identities x K 3 items = 15" and rows["Learning rate"] == "0.002, constant"
    assert (
        rows["Augmentation"] == "on (zoom +-10%), random erasing p = 0.5"
        and rows["Weight averaging"] == "EMA, decay 0.99"
    )
    assert rows["Seed"] == "11"
    doc = json.loads(run.settings_json())
    assert doc["config"] == cfg.to_dict() and doc["spec"]["out_dim"] == 16 and doc["fine_tuned"] is True
    jobs._RUNS.clear()  # the server restarts: the run read back from its folder says the same
    assert jobs.get_run(run.id).settings() == run.settings()
    # a Proxy-Anchor run from scratch: no miner row, the margin is on cosine similarity
    pa = jobs.Run("x" * 16, tmp_path / "pa", TrainConfig(loss="proxy-anchor", margin=0.1, augment=False), data, SPEC)
    rows = dict(pa.settings())
    assert rows["Starting model"] == "built-in architecture, from scratch" and "Negatives" not in rows
    assert rows["Loss"] == "proxy-anchor, margin 0.1 (on cosine similarity)" and rows["Augmentation"] == "off"
    assert rows["Weight averaging"] == "off"
    jobs._RUNS.clear()


def test_a_long_run_keeps_its_best_and_last_checkpoints_only(tmp_path, monkeypatch):
    """EXPLORER_KEEP_CHECKPOINTS: the best checkpoint and the last few stay, with the resume state
    of the last one only; the run still resumes from its folder."""
    monkeypatch.setenv("EXPLORER_KEEP_CHECKPOINTS", "2")
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    cfg = TrainConfig(miner="semihard", steps=24, validate_every=3, checkpoint_every=3, snapshot_every=100, lr=3e-3)
    run = jobs.start_run(cfg, vector_data(), SPEC)
    wait_for(run, lambda: not run.active)
    assert run.status == "finished"
    best = max(range(3, 25, 3), key=lambda s: (run.figures(s)["map_at_r"], -s))
    assert run.checkpoints == sorted({21, 24, best})
    models = sorted(int(p.name[5:11]) for p in run.folder.glob("step_*.model.safetensors"))
    states = [p.name for p in run.folder.glob("step_*.safetensors") if ".model." not in p.name]
    assert models == run.checkpoints and states == ["step_000024.safetensors"]
    jobs._RUNS.clear()
    again = jobs.get_run(run.id)
    assert again.checkpoints == run.checkpoints and again.status == "finished"
    jobs._RUNS.clear()


def test_a_paused_run_gives_the_slot_up_after_its_idle_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    cfg = TrainConfig(miner="semihard", steps=100_000, validate_every=50, checkpoint_every=50, snapshot_every=1000)
    first = jobs.start_run(cfg, vector_data(), SPEC)
    first.pause()
    with pytest.raises(jobs.Busy):
        jobs.start_run(cfg, vector_data(), SPEC)  # paused, but within its idle limit
    monkeypatch.setenv("EXPLORER_TRAIN_IDLE_S", "0")
    second = jobs.start_run(cfg, vector_data(), SPEC)
    assert first.status == "stopped" and "paused for over" in first.note and first.checkpoints
    second.stop()
    second.join(60)
    jobs._RUNS.clear()


SIGTERM_SCRIPT = """
import os, signal, sys, time
sys.path.insert(0, {tests!r})
from training_fixtures import SPEC, vector_data
from explorer.training import jobs
from explorer.training.config import TrainConfig
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))  # Streamlit's handler: the server stops, main returns
cfg = TrainConfig(steps=10**6, checkpoint_every=10**6, validate_every=10**6, snapshot_every=10**6, lr=1e-3)
run = jobs.start_run(cfg, vector_data(), SPEC)
while run.step < 5:
    time.sleep(0.01)
print(run.folder, flush=True)
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(120)
"""


def test_sigterm_with_a_run_going_stops_it_with_a_checkpoint_and_exits_cleanly(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    env = {**__import__("os").environ, "EXPLORER_CACHE_DIR": str(tmp_path)}
    script = SIGTERM_SCRIPT.format(tests=str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
    folder = Path(done.stdout.split()[0])
    names = {p.name for p in folder.glob("step_*.safetensors")}
    resume = sorted(n for n in names if not n.endswith(".model.safetensors"))
    assert resume and resume[-1].replace(".safetensors", ".model.safetensors") in names  # resume state and model
    jobs._RUNS.clear()
    again = jobs._load(folder.name, folder)
    assert again.checkpoints and again.checkpoints[-1] >= 5


def test_a_run_on_uploads_keeps_nothing_on_disk_after_its_session(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "cache" / "runs")
    cfg = TrainConfig(steps=6, checkpoint_every=3, validate_every=3, lr=3e-3)
    run = jobs.start_run(cfg, vector_data(), SPEC, keep_data=False)
    wait_for(run, lambda: not run.active)
    assert run.checkpoints == [3, 6] and run.model_path(6).is_file()  # usable while the session lasts
    assert not (tmp_path / "cache" / "runs").exists()  # nothing under the shared cache
    assert (run.folder.stat().st_mode & 0o077) == 0  # a folder only the server's user reads
    jobs.discard(run.id)
    assert not run.folder.exists() and jobs.get_run(run.id) is None
