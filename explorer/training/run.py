"""One training run: its trainer, the background thread that steps it, its flags, what it has
measured so far, and its folder on disk (metrics, checkpoints, the miner's index), all written
atomically. The thread checks the stop and pause flags at every step. Which runs exist, and who
may start one, is :mod:`explorer.training.jobs`.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as st_save

from explorer.fileio import FULL, DiskFullError, atomic_write_bytes, disk_full
from explorer.models.checkpoints import save_safetensors
from explorer.models.spec import ModelSpec
from explorer.training.config import TrainConfig, TrainData
from explorer.training.describe import describe_settings
from explorer.training.trainer import Trainer

SNAPSHOT_LIMIT = 1000  # validation items drawn in a map snapshot
ACTIVE = ("starting", "running", "paused", "stopping")


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
        self.names: dict[int, str] = {}  # checkpoints the visitor renamed
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

    def start_figures(self) -> dict | None:
        """What training must beat: the starting descriptor's figures on the held-out people (a
        fine-tuned descriptor, a head on one), else the model's own at step 0, before any step."""
        return self.spec.info.get("baseline") or self.figures(0)

    def best_checkpoint(self, key: str = "map_at_r") -> int | None:
        """The checkpoint with the best validation figure (MAP@R: open-set retrieval quality); runs
        often peak and then drift as the loss on the training identities goes to 0. A checkpoint
        that does not read better than the start is never the best (None: none does)."""
        scored = [(v[key], step) for step in self.checkpoints if step > 0 and (v := self.figures(step)) is not None]
        start = self.start_figures()
        if start is not None and key in start:
            scored = [(v, step) for v, step in scored if v > start[key]]
        return max(scored, key=lambda t: (t[0], -t[1]))[1] if scored else None

    def model_name(self, step: int) -> str:
        """What a checkpoint is, as its name: the data, the loss, the step and its held-out MAP@R
        (or the name the visitor gave it)."""
        if step in self.names:
            return self.names[step]
        data = self.spec.info.get("training_data", {}).get("name", "data")
        v = self.figures(step)
        return f"{data} {self.cfg.loss} step {step}" + (f" MAP@R {v['map_at_r']:.3f}" if v else "")

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
