"""A training run is a job, not a page: a background thread with a folder on disk.

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
from explorer.fileio import FULL, DiskFullError, atomic_write_bytes, disk_full
from explorer.models.architectures import build_model
from explorer.models.checkpoints import save_safetensors
from explorer.models.spec import ModelSpec
from explorer.training.config import TrainConfig, TrainData
from explorer.training.describe import describe_settings
from explorer.training.trainer import Trainer

MAX_RUNNING = 1
SNAPSHOT_LIMIT = 1000  # validation items drawn in a map snapshot
_RUNS: dict[str, Run] = {}
_LOCK = threading.Lock()
ACTIVE = ("starting", "running", "paused", "stopping")


class Busy(RuntimeError):
    """Another run holds the server's training slot."""


def runs_dir() -> Path:
    return config.settings().cache_dir / "runs"


class Run:
    """One run: its trainer, thread, flags and what it has measured so far (also on disk)."""

    def __init__(
        self,
        run_id: str,
        folder: Path,
        cfg: TrainConfig,
        data: TrainData,
        spec: ModelSpec,
        model: torch.nn.Module | None = None,
        *,
        threads: int = 2,
    ):
        self.id, self.folder, self.cfg, self.spec = run_id, folder, cfg, spec
        self.fine_tuned = model is not None  # starts from given weights (the workspace model), not from scratch
        self.trainer = Trainer(cfg, data, spec, model, threads=threads)
        self.status, self.error = "starting", None
        self.steps: list[dict] = []
        self.validations: list[dict] = []
        self.snapshots: list[dict] = []  # {"step", "coords" (n, 2), "labels"}
        self.checkpoints: list[int] = []
        self.keep_data = True  # False for uploads: nothing derived from the data goes to disk but checkpoints
        self.index_note = ""  # on a resume: whether the HNSW index came from the checkpoint or is rebuilt
        self.started = time.time()
        self.paused_at: float | None = None
        self.note = ""  # why the server stopped it, if it did
        self._pause, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._io = threading.Lock()

    # -- control -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"train-{self.id}", daemon=True)
        self.status = "running"
        self._thread.start()

    def pause(self) -> None:
        if self.status == "running":
            self._pause.set()
            self.status = "paused"
            self.paused_at = time.time()

    def go_on(self) -> None:
        if self.status == "paused":
            self._pause.clear()
            self.status = "running"
            self.paused_at = None

    def stop(self) -> None:
        if self.status in ACTIVE:
            self.status = "stopping"
            self._stop.set()
            self._pause.clear()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def step(self) -> int:
        return self.trainer.step_no

    # -- the loop ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        cfg, tr = self.cfg, self.trainer
        try:
            if not self.validations or self.validations[-1]["step"] != tr.step_no:
                self._validate()
            while tr.step_no < cfg.steps and not self._stop.is_set():
                while self._pause.is_set() and not self._stop.is_set():
                    time.sleep(0.1)
                if self._stop.is_set():
                    break
                self._log("step", tr.step())
                s = tr.step_no
                if s % cfg.validate_every == 0 or s % cfg.checkpoint_every == 0 or s == cfg.steps:
                    self._validate()  # every checkpoint carries its own figures
                if s % cfg.snapshot_every == 0 or s == cfg.steps:
                    self._snapshot()
                if s % cfg.checkpoint_every == 0:
                    self.checkpoint()
            if not self.checkpoints or self.checkpoints[-1] != tr.step_no:
                if self.validations[-1]["step"] != tr.step_no:  # stopped between validations
                    self._validate()
                self.checkpoint()
            self.status = "stopped" if self._stop.is_set() else "finished"
        except Exception as exc:  # noqa: BLE001 - any failure ends the run; the page shows it, the folder keeps the last checkpoint
            self.error = str(exc) if isinstance(exc, DiskFullError) else f"{type(exc).__name__}: {exc}"
            self.status = "failed"

    def _log(self, kind: str, row: dict) -> None:
        row = {"kind": kind, **row, "time": round(time.time() - self.started, 3)}
        {"step": self.steps, "validation": self.validations}.get(kind, []).append(row)
        try:
            with self._io, open(self.folder / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps({k: v for k, v in row.items() if k not in ("coords", "labels")}) + "\n")
        except OSError as exc:  # a line cut by a full disk is skipped when the run is read back
            raise disk_full(self.folder / "metrics.jsonl", exc) if exc.errno in FULL else exc from None

    def _validate(self) -> None:
        self._log("validation", self.trainer.validate())

    def _snapshot(self) -> None:
        """A map of (up to SNAPSHOT_LIMIT) validation items in the current embedding (PCA: instant)."""
        from explorer.analysis.projection import project_pca

        x, y = self.trainer.data.x_val[:SNAPSHOT_LIMIT], self.trainer.data.y_val[:SNAPSHOT_LIMIT]
        coords = project_pca(self.trainer.embed(x), n_components=2)
        classes = self.trainer.data.classes
        self.snapshots.append(
            {"step": self.trainer.step_no, "coords": coords, "labels": np.array([classes[i] for i in y])}
        )

    def checkpoint(self) -> Path:
        """Write the resume state and the usable model of the current step (atomically)."""
        tr = self.trainer
        name = f"step_{tr.step_no:06d}"
        if self.keep_data:  # (an index of uploads' embeddings is their data: never on disk)
            tr.save_index(self.folder / "index")  # first: the state below names the snapshot it holds
        atomic_write_bytes(self.folder / f"{name}.safetensors", st_save(tr.state()))
        spec = tr.trained_spec(
            {
                "trained_by": "embedding-explorer",
                "run": self.id,
                "step": tr.step_no,
                "config": self.cfg.to_dict(),
                "validation": self.figures(tr.step_no),
            }
        )
        save_safetensors(tr.usable_model, spec, self.folder / f"{name}.model.safetensors")
        if tr.step_no not in self.checkpoints:
            self.checkpoints.append(tr.step_no)
        self._prune()
        return self.model_path(tr.step_no)

    def _prune(self) -> None:
        """Keep the best checkpoint and the last few (``EXPLORER_KEEP_CHECKPOINTS``), and the resume
        state of the last one only: a long run's folder stays a few checkpoints big."""
        from explorer import config

        keep = set(self.checkpoints[-config.settings().keep_checkpoints :])
        best = self.best_checkpoint()
        keep |= {best} if best is not None else set()
        for step in [s for s in self.checkpoints if s not in keep]:
            self.model_path(step).unlink(missing_ok=True)
        self.checkpoints = [s for s in self.checkpoints if s in keep]
        last = self.checkpoints[-1]
        for state in self.folder.glob("step_*.safetensors"):
            if not state.name.endswith(".model.safetensors") and state.name != f"step_{last:06d}.safetensors":
                state.unlink(missing_ok=True)

    def figures(self, step: int) -> dict | None:
        """The validation figures of a step (every checkpoint has them), or None."""
        return next((v for v in reversed(self.validations) if v["step"] == step), None)

    def best_checkpoint(self, key: str = "map_at_r") -> int | None:
        """The checkpoint with the best validation figure (MAP@R: open-set retrieval quality); runs
        often peak and then drift as the loss on the training identities goes to 0."""
        scored = [(v[key], step) for step in self.checkpoints if (v := self.figures(step)) is not None]
        base = self.spec.info.get("baseline")  # a descriptor trained on (or under a head): it must beat it
        if base is not None and key in base:
            scored = [(v, step) for v, step in scored if v > base[key]]
        return max(scored, key=lambda t: (t[0], -t[1]))[1] if scored else None

    def model_path(self, step: int) -> Path:
        return self.folder / f"step_{step:06d}.model.safetensors"

    def settings(self) -> list[tuple[str, str]]:
        """What this run is, in words (setting, value): the starting model, the data split and
        every training setting, as a person reattaching to it needs to read them."""
        return describe_settings(self.cfg, self.spec, self.trainer.data, fine_tuned=self.fine_tuned)

    def settings_json(self) -> str:
        """The run's config and model spec as one JSON document (what its folder holds)."""
        return json.dumps(
            {
                "run": self.id,
                "config": self.cfg.to_dict(),
                "spec": json.loads(self.spec.to_json()),
                "fine_tuned": self.fine_tuned,
            },
            indent=2,
        )


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
