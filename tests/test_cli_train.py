"""``explorer train``: the Train page's job from the command line, killed half-way and resumed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from explorer.cli import main
from explorer.training import jobs

REPO = Path(__file__).resolve().parent.parent


def test_a_killed_run_goes_on_with_resume_and_writes_its_best_model(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"steps": 30, "miner": "semihard", "checkpoint_every": 10, "validate_every": 10}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "explorer.cli.main", "train", "digits", "--config", str(config)],
        cwd=REPO,
        env={**os.environ, "EXPLORER_CACHE_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while not list((tmp_path / "runs").glob("*/step_000010.model.safetensors")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)  # a power cut: no clean stop
    proc.wait(30)
    (folder,) = (tmp_path / "runs").iterdir()
    out = tmp_path / "model.safetensors"
    res = CliRunner().invoke(main, ["train", "--resume", folder.name, "-o", str(out)])
    assert res.exit_code == 0, res.output
    run = jobs.get_run(folder.name)
    assert run.status == "finished" and run.step == 30
    assert [r["step"] for r in run.steps] == list(range(1, 31))  # nothing lost, nothing done twice
    # a random ConvNet already reads MAP@R ~0.88 on held-out digits and 30 steps read lower: no
    # checkpoint beats the start, so none is "best" and nothing is written, saying why
    assert [v["step"] for v in run.validations] == [0, 10, 20, 30]
    if run.best_checkpoint() is None:
        assert not out.exists() and "no checkpoint reads better than the start (step 0" in res.output
        assert "model written" not in res.output
        monkeypatch.setattr(jobs.Run, "start_figures", lambda self: None)  # as if the start were not measured
        res = CliRunner().invoke(main, ["train", "--resume", folder.name, "-o", str(out)])
        assert res.exit_code == 0 and "model written" in res.output, res.output
    best = run.best_checkpoint()
    assert out.read_bytes() == run.model_path(best).read_bytes() and out.with_suffix(".json").is_file()
    embedded = CliRunner().invoke(main, ["embed", "digits", "-m", str(out), "-o", str(tmp_path / "e.npz")])
    assert embedded.exit_code == 0, embedded.output  # a model embed (and the app) can load
    jobs._RUNS.clear()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"steps": 10, "lossy": 1}, "unknown settings lossy"),
        ({"loss": "hinge"}, "loss must be one of"),
        ({"start_from": "nowhere.safetensors"}, "scratch, bundled, faces, faces-crops or a checkpoint file"),
    ],
)
def test_bad_settings_exit_2_with_one_line(tmp_path, monkeypatch, settings, message):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    config = tmp_path / "run.json"
    config.write_text(json.dumps(settings))
    res = CliRunner().invoke(main, ["train", "digits", "--config", str(config)])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    unknown = CliRunner().invoke(main, ["train", "--resume", "0123456789abcdef"])
    assert unknown.exit_code == 2 and "no run" in unknown.output


def test_the_command_line_fine_tunes_the_face_descriptor(tmp_path, monkeypatch, att_faces):
    """``start_from: faces``: the photos' chips are cut first, the descriptor's last blocks learn,
    and the run is read against the untrained descriptor."""
    import shutil

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "faces"
    for k in range(1, 11):
        shutil.copytree(att_faces / f"s{k}", folder / f"s{k}")
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"start_from": "faces-crops", "trained_blocks": 4, "steps": 2, "P": 4, "K": 2,
                                  "validate_every": 2, "checkpoint_every": 2, "augment": False, "lr": 1e-4}))  # fmt: skip
    jobs._RUNS.clear()
    res = CliRunner().invoke(
        main, ["train", str(folder), "--config", str(config), "-o", str(tmp_path / "m.safetensors")]
    )
    assert res.exit_code == 0, res.output
    (run,) = jobs._RUNS.values()
    assert run.spec.architecture == "dlib_resnet" and run.spec.params["trained_blocks"] == 4
    assert run.spec.info["baseline_of"].startswith("Face descriptor") and run.status == "finished"
    wrote = (tmp_path / "m.safetensors").is_file()
    assert wrote == (run.best_checkpoint() is not None)
    assert wrote or "no checkpoint reads better than Face descriptor" in res.output
    jobs._RUNS.clear()
