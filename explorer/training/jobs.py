"""Training runs are jobs, not pages: which runs this server holds, who may start one, and their
folders across a restart (a run itself, its thread and its checkpoints: :mod:`explorer.training.run`).

The folder (``<EXPLORER_CACHE_DIR>/runs/<run id>``) holds config.json, spec.json, the preprocessed
data (data.npz), metrics.jsonl (one line per step, validation and map snapshot), the HNSW miner's
index (index/: index.bin + manifest.json, which names the model snapshot that embedded it) and checkpoints:
``step_000100.safetensors`` (model, head and optimiser: what a resume needs) and
``step_000100.model.safetensors`` (+ .json: the model with its spec, to use or download), all
written atomically. The thread checks the stop and pause flags at every step. One run at a time
per server by default (``MAX_RUNNING``): a second start raises ``Busy``. After a server restart
``open_run`` finds the folder and ``resume`` goes on from the last checkpoint. A run on a visitor's
uploads (unless the operator set ``EXPLORER_CACHE_UPLOADS``) keeps its folder in a private
temporary folder instead, deleted when the visitor's session ends (:func:`discard`) or the server
stops; at exit every run stops with a checkpoint (:func:`stop_all`).

Run ids are random (unguessable): a visitor reaches a run only through the id it was given.
"""

from __future__ import annotations

import atexit
import json
import re
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from explorer import config
from explorer.fileio import atomic_write_bytes
from explorer.models.architectures import build_model
from explorer.models.spec import ModelSpec
from explorer.training.config import TrainConfig, TrainData
from explorer.training.run import ACTIVE, SNAPSHOT_LIMIT, Run  # noqa: F401 - the registry's runs, named here too

MAX_RUNNING = 1
_RUNS: dict[str, Run] = {}
_LOCK = threading.Lock()


class Busy(RuntimeError):
    """Another run holds the server's training slot."""


def runs_dir() -> Path:
    return config.settings().cache_dir / "runs"


def _check_slot() -> None:
    """Raise Busy while the slot is taken. A run paused for longer than EXPLORER_TRAIN_IDLE_S, or
    going for longer than EXPLORER_TRAIN_MAX_S, gives the slot up to a visitor who asks (it
    stops, keeping a checkpoint of where it was)."""
    from explorer import config

    cfg, now = config.settings(), time.time()
    for r in [r for r in _RUNS.values() if r.active]:
        idle = r.status == "paused" and r.paused_at is not None and now - r.paused_at > cfg.train_idle_s
        if idle or now - r.started > cfg.train_max_s:
            r.note = (
                f"stopped for another visitor: paused for over {cfg.train_idle_s / 60:.0f} min"
                if idle
                else f"stopped for another visitor: ran for over {cfg.train_max_s / 3600:.1f} h"
            )
            r.stop()
            r.join(60)
    running = [r for r in _RUNS.values() if r.active]
    if len(running) >= MAX_RUNNING:
        since = time.strftime("%H:%M", time.localtime(running[0].started))
        raise Busy(
            f"a training run is in progress on this server (started {since}); training takes both cores, "
            "so wait for it to finish, or try again later"
        )


def start_run(
    cfg: TrainConfig, data: TrainData, spec: ModelSpec, model: torch.nn.Module | None = None, *, keep_data: bool = True
) -> Run:
    """A new run in its own folder, started in the background. Raises Busy or ValueError.

    keep_data=False (uploads): the data stay in memory only, and the run cannot be resumed after a
    server restart; its checkpoints are still written (to use or download them)."""
    with _LOCK:
        _check_slot()
        run_id = secrets.token_hex(8)
        folder = runs_dir() / run_id
        run = Run(run_id, folder, cfg, data, spec, model)  # checks the settings against the data: no folder yet
        run.keep_data = keep_data
        if keep_data:
            folder.mkdir(parents=True, exist_ok=False)
        else:  # a visitor's uploads: a private temporary folder, deleted with the session (discard)
            run.folder = folder = Path(tempfile.mkdtemp(prefix=f"explorer-run-{run_id}-"))
        _stop_runs_at_exit()
        atomic_write_bytes(folder / "config.json", json.dumps(cfg.to_dict(), indent=2).encode())
        atomic_write_bytes(folder / "spec.json", spec.to_json().encode())
        if keep_data:
            atomic_write_bytes(folder / "data.npz", _npz(data))
        if model is not None:  # a fine-tuning run resumes from its own checkpoints, never from the workspace model
            atomic_write_bytes(
                folder / "initial.safetensors",
                st_save({k: v.detach().cpu().contiguous() for k, v in run.trainer.model.state_dict().items()}),
            )
        _RUNS[run_id] = run
        run.start()
        return run


def discard(run_id: str, *, timeout: float = 60.0) -> None:
    """Stop a run on a visitor's uploads and delete its folder (its spec names their data and
    people; its checkpoints are weights trained on them): what happens when their session ends."""
    with _LOCK:
        run = _RUNS.get(run_id)
        if run is None or run.keep_data:
            return
        del _RUNS[run_id]
    run.stop()
    run.join(timeout)
    shutil.rmtree(run.folder, ignore_errors=True)


_AT_EXIT = threading.Event()


def _stop_runs_at_exit() -> None:
    """Once per process: at exit (SIGTERM included, which Streamlit turns into a clean shutdown)
    every active run stops with a checkpoint before the interpreter goes; a training thread left
    inside torch at exit aborts the process ("terminate called without an active exception")."""
    if not _AT_EXIT.is_set():
        _AT_EXIT.set()
        # before the interpreter's shutdown of thread pools (which a checkpoint may still use): the
        # hook concurrent.futures itself uses; atexit proper runs after them
        getattr(threading, "_register_atexit", atexit.register)(stop_all)


def stop_all(timeout: float = 120.0) -> None:
    """Stop every run of this process (each writes its checkpoint), then delete the folders of
    runs on uploads."""
    runs = list(_RUNS.values())
    for run in runs:
        run.stop()
    for run in runs:
        run.join(timeout)
    for run in runs:
        if not run.keep_data:
            shutil.rmtree(run.folder, ignore_errors=True)


def _npz(data: TrainData) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(
        buf,
        x_train=data.x_train,
        y_train=data.y_train,
        x_val=data.x_val,
        y_val=data.y_val,
        classes=np.array(data.classes, dtype=str),
    )
    return buf.getvalue()


def get_run(run_id: str) -> Run | None:
    """A run of this server process, or one found on disk (not running: ``resume`` it)."""
    if not re.fullmatch(r"[0-9a-f]{16}", run_id or ""):
        return None
    with _LOCK:
        if run_id in _RUNS:
            return _RUNS[run_id]
        folder = runs_dir() / run_id
        if not (folder / "config.json").is_file() or not (folder / "data.npz").is_file():
            return None  # unknown, or a run on uploads from before a restart (its data were never written)
        run = _load(run_id, folder)
        _RUNS[run_id] = run
        return run


def _load(run_id: str, folder: Path) -> Run:
    cfg = TrainConfig(**json.loads((folder / "config.json").read_text()))
    spec = ModelSpec.from_json((folder / "spec.json").read_text())
    with np.load(folder / "data.npz", allow_pickle=False) as z:
        data = TrainData(z["x_train"], z["y_train"], z["x_val"], z["y_val"], z["classes"].tolist())
    model = None
    if (folder / "initial.safetensors").is_file():
        model = build_model(spec)
        model.load_state_dict(st_load((folder / "initial.safetensors").read_bytes()))
    run = Run(run_id, folder, cfg, data, spec, model)
    steps = sorted(int(p.name[5:11]) for p in folder.glob("step_*.model.safetensors"))
    last = steps[-1] if steps else 0
    if steps:
        run.trainer.load_state(st_load((folder / f"step_{last:06d}.safetensors").read_bytes()))
        run.index_note = run.trainer.restore_index(folder / "index")
    run.checkpoints = steps
    rows = []
    if (folder / "metrics.jsonl").is_file():
        for line in (folder / "metrics.jsonl").read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by the crash
                continue
    rows = [r for r in rows if r.get("step", 0) <= last]  # what came after the checkpoint is redone
    run.steps = [r for r in rows if r["kind"] == "step"]
    run.validations = [r for r in rows if r["kind"] == "validation"]
    atomic_write_bytes(folder / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    run.status = "finished" if last >= cfg.steps else "interrupted"
    return run


def resume(run: Run) -> Run:
    """Go on with an interrupted run from its last checkpoint (raises Busy if the slot is taken)."""
    with _LOCK:
        if run.active or run.status == "finished":
            return run
        _check_slot()
        run._stop.clear()
        run._pause.clear()
        run.error = None
        run.start()
        return run
