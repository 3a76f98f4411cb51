"""``explorer train``: the Train page's job in the foreground, with its run folder and checkpoints
on disk, so a run killed half-way goes on with ``--resume RUN_ID``."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import fields
from pathlib import Path

import click

from explorer.cli.inputs import load_data, load_model
from explorer.errors import InputError

RUN_OPTIONS = {"val_fraction": 0.25, "start_from": "scratch", "align": False, "stripes": False, "trained_blocks": 0}
POLL_S = 0.5


def read_config(path: Path):
    """A run's settings (JSON): any of TrainConfig's fields, and val_fraction, start_from
    (``scratch``, ``bundled``, ``faces`` / ``faces-crops``: dlib's descriptor itself, or a
    checkpoint file), align, stripes, trained_blocks (fine-tuning the descriptor: how many of its
    residual blocks at the end learn; 0: all)."""
    from explorer.training.config import TrainConfig

    try:
        given = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON file of settings ({exc})") from None
    if not isinstance(given, dict):
        raise InputError(f"{path}: settings are a JSON object of name: value")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(given) - known - set(RUN_OPTIONS))
    if unknown:
        raise InputError(
            f"{path}: unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known | set(RUN_OPTIONS)))}"
        )
    try:
        cfg = TrainConfig(**{k: v for k, v in given.items() if k in known}).check()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: {exc}") from None
    return cfg, {k: given.get(k, v) for k, v in RUN_OPTIONS.items()}


def _start_from(name: str, dataset):
    """None (the built-in architecture from scratch) or the model to fine-tune, named as ``embed
    --model`` names it."""
    if name == "scratch":
        return None
    if not Path(name).expanduser().is_file() and name not in ("bundled", "faces", "faces-crops"):
        raise InputError(f"start_from {name!r}: scratch, bundled, faces, faces-crops or a checkpoint file")
    return load_model(name, dataset)


def _follow(run) -> None:
    """A progress bar over the steps and a line per validation until the run ends; Ctrl-C stops it
    at a checkpoint, to go on later."""
    seen = len(run.validations)
    total = run.cfg.steps
    try:
        with click.progressbar(length=total, label=f"run {run.id}", file=click.get_text_stream("stderr")) as bar:
            bar.update(run.step)
            at = run.step
            while run.active:
                time.sleep(POLL_S)
                bar.update(run.step - at)
                at = run.step
                for v in run.validations[seen:]:
                    click.echo(f"\n  step {v['step']}: MAP@R {v['map_at_r']:.4f}, P@1 {v['p_at_1']:.4f}", err=True)
                seen = len(run.validations)
    except KeyboardInterrupt:
        run.stop()
        run.join()
        click.echo(f"\nstopped at step {run.step}; go on with: explorer train --resume {run.id}", err=True)


def train_to(data: str | None, config_path: Path | None, *, resume: str | None = None, output: Path | None = None):
    """Start a run on ``data`` with the settings in ``config_path`` (or go on with run ``resume``),
    follow it to its end and copy its best checkpoint (by validation MAP@R) to ``output``."""
    from explorer.training import jobs
    from explorer.training.launch import start_training

    if output is not None and output.suffix.lower() != ".safetensors":
        raise InputError(f"{output}: the model is written as .safetensors (its spec beside it as .json)")
    if resume is not None:
        run = jobs.get_run(resume)
        if run is None:
            raise InputError(f"no run {resume!r} in {jobs.runs_dir()} (EXPLORER_CACHE_DIR)")
        jobs.resume(run)
    else:
        if data is None or config_path is None:
            raise InputError("give DATA and --config run.json (or --resume RUN_ID)")
        cfg, opts = read_config(config_path)
        dataset = load_data(data, label_column=None, progress=None)
        start = _start_from(str(opts["start_from"]), dataset)
        if start is not None:  # the face descriptor trains on the face chips it cuts from the photos
            dataset = start.prepare(dataset)
        run = start_training(
            dataset,
            cfg,
            val_fraction=float(opts["val_fraction"]),
            start_from=start,
            align=bool(opts["align"]),
            stripes=bool(opts["stripes"]),
            trained_blocks=int(opts["trained_blocks"]),
        )
        click.echo(f"run {run.id} in {run.folder}", err=True)
    _follow(run)
    if run.status == "failed":
        raise click.ClickException(f"the run failed at step {run.step}: {run.error}")
    best = run.best_checkpoint()
    if output is not None and best is not None and run.status == "finished":
        output.parent.mkdir(parents=True, exist_ok=True)
        src = run.model_path(best)
        shutil.copyfile(src, output)
        if src.with_suffix(".json").is_file():
            shutil.copyfile(src.with_suffix(".json"), output.with_suffix(".json"))
    elif output is not None and best is None and run.start_figures() is not None:
        start = run.spec.info.get("baseline_of", "the start (step 0, before training)")
        click.echo(f"no checkpoint reads better than {start} on the held-out identities: {output} not written",
                   err=True)  # fmt: skip
    return run
