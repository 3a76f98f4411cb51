"""A full disk (ENOSPC) is a message naming the folder's setting, never a bare OSError: no torn
file is left, a cache goes on from memory, a training run fails saying why, the workspace stays."""

import errno
import os

import pytest
from conftest import APP, image_bytes, rng_image
from training_fixtures import SPEC, vector_data, wait_for

from explorer.fileio import DiskFullError, atomic_write_bytes


@pytest.fixture
def full_disk(monkeypatch):
    """Every fsync of a file being written fails as a full disk does."""

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)


def test_a_write_to_a_full_disk_names_the_setting_and_leaves_the_old_file(tmp_path, monkeypatch, full_disk):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    target = tmp_path / "cache" / "embeddings" / "x.npz"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    with pytest.raises(DiskFullError, match=r"the disk holding EXPLORER_CACHE_DIR \(.*cache\) is full"):
        atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old" and os.listdir(target.parent) == ["x.npz"]  # no temp file left
    with pytest.raises(DiskFullError, match=f"the disk holding {tmp_path / 'elsewhere'} is full"):
        atomic_write_bytes(tmp_path / "elsewhere" / "y.bin", b"y")


def test_embedding_on_a_full_cache_disk_goes_on_from_memory_and_says_so(tmp_path, monkeypatch, full_disk):
    from streamlit.testing.v1 import AppTest

    folder = tmp_path / "data" / "imgs"
    for who in ("a", "b"):
        (folder / who).mkdir(parents=True)
        for k in range(3):
            (folder / who / f"{k}.png").write_bytes(image_bytes(rng_image(k + (10 if who == "b" else 0)), "PNG"))
    monkeypatch.setenv("EXPLORER_DATA_ROOTS", str(tmp_path / "data"))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    from explorer.ui.workspace import shared_cache, shared_faces

    shared_cache.clear(), shared_faces.clear()  # made anew, on this test's cache folder
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["data"] = f"dir:{folder}"
    at.query_params["model"] = "bundled"
    at.run()
    assert not at.exception, at.exception
    said = " ".join(w.value for w in at.warning)
    assert "the disk holding EXPLORER_CACHE_DIR" in said and "is full" in said and "memory only" in said
    assert at.session_state["workspace"].embeddings.n == 6
    left = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert not left
    shared_cache.clear(), shared_faces.clear()  # the next test's are on its own folder


def test_a_training_run_on_a_full_disk_fails_saying_why(tmp_path, monkeypatch):
    """The disk fills before the first checkpoint: the run fails with the message, no temp file."""
    import tempfile

    from explorer.training import jobs
    from explorer.training.config import TrainConfig

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(jobs, "runs_dir", lambda: tmp_path / "runs")
    real = tempfile.mkstemp

    def full_for_checkpoints(*args, prefix="", **kw):
        if prefix.startswith(".step_"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, prefix=prefix, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", full_for_checkpoints)
    run = jobs.start_run(TrainConfig(steps=6, checkpoint_every=3, validate_every=3, lr=3e-3), vector_data(), SPEC)
    wait_for(run, lambda: not run.active)
    jobs._RUNS.clear()
    assert run.status == "failed" and run.error.startswith("the disk holding EXPLORER_CACHE_DIR"), run.error
    assert run.step == 3 and not [p for p in (tmp_path / "runs").rglob("*.tmp")]
