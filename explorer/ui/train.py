"""The Train page's parts: starting a run, the live view, using a checkpoint, and the runs a
session owns (the form: :mod:`explorer.ui.train_form`)."""

from __future__ import annotations

import threading
import weakref
from dataclasses import replace

import pandas as pd
import streamlit as st

from explorer import plots
from explorer.errors import InputError
from explorer.training import jobs
from explorer.training.collapse import collapse_warning
from explorer.training.config import TrainConfig
from explorer.training.launch import start_head_training, start_training
from explorer.ui import address, checkpoints
from explorer.ui.downloads import download
from explorer.ui.safe import plain
from explorer.workspace import Workspace

RUN_KEY = "train_run"


def current_run() -> jobs.Run | None:
    """The run this visitor started or reattached to (its id is in the address, so a refresh keeps it)."""
    own = st.session_state.get(RUN_KEY)
    run_id = own or st.query_params.get("run")
    run = jobs.get_run(run_id) if run_id else None
    if run is not None and not run.keep_data and run.id != own:
        st.warning(
            "That run trained on a visitor's uploads: it belongs to the session that started it, and is not "
            "shown to anyone else."
        )
        address.forget("run")
        return None
    if run is not None:
        st.session_state[RUN_KEY] = run.id
        address.remember_run(run)
    elif run_id:
        address.forget("run")  # not a run on this server (any more): the address stops naming it
    return run


def start(ws: Workspace, cfg: TrainConfig, opts: dict) -> jobs.Run | None:
    try:
        with st.spinner("Preparing the training data ..."):
            if opts["start"] == "head":  # vectors: augmentation does not apply
                cfg = replace(cfg, augment=False, erase=0.0)
                base = ws.encoder.restore_token
                run = start_head_training(
                    ws.dataset, ws.embeddings.vectors, base, cfg, val_fraction=opts["val"], align=opts["align"],
                    stripes=opts["stripes"],
                )  # fmt: skip
            else:
                run = start_training(
                    ws.dataset,
                    cfg,
                    val_fraction=opts["val"],
                    start_from=ws.encoder if opts["start"] == "workspace" else None,
                    align=opts["align"],
                    stripes=opts["stripes"],
                    trained_blocks=opts.get("trained_blocks", 0),
                )
    except jobs.Busy as exc:
        st.warning(str(exc))
        return None
    except (ValueError, InputError) as exc:
        st.error(f"Cannot start: {plain(exc)}")
        return None
    st.session_state[RUN_KEY] = run.id
    if not run.keep_data:  # its folder goes with this session
        st.session_state.setdefault(OWNED, {})[run.id] = SessionRun(run.id)
    address.remember_run(run)
    return run


def controls(run: jobs.Run) -> None:
    c = st.columns(5)
    if run.status == "running" and c[0].button("Pause"):
        run.pause()
        st.rerun()
    if run.status == "paused" and c[0].button("Resume"):
        run.go_on()
        st.rerun()
    if run.active and c[1].button("Stop"):
        run.stop()
        st.rerun()
    if run.status in ("interrupted", "stopped", "failed") and run.step < run.cfg.steps:
        if c[0].button(f"Continue from step {run.step}", type="primary"):
            try:
                jobs.resume(run)
            except jobs.Busy as exc:
                st.warning(str(exc))
            st.rerun()
    if c[4].button("New run", disabled=run.active):
        st.session_state.pop(RUN_KEY, None)
        address.forget("run")
        st.rerun()


def settings(run: jobs.Run) -> None:
    """What the run is (reattaching to a run by its address shows no form), and its settings as JSON."""
    with st.expander("Settings of this run"):
        rows = run.settings()
        st.table(pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting"))
        download("Download settings (JSON)", run.settings_json(), f"run_{run.id}_settings.json", key="tr_settings_dl")


def live(run: jobs.Run) -> None:
    """Charts of the run, redrawn every second while it runs."""

    def body():
        st.progress(
            min(run.step / run.cfg.steps, 1.0),
            text=f"{run.status}: step {run.step:,} of {run.cfg.steps:,} (run {run.id})",
        )
        if run.error:
            st.error(f"The run failed: {plain(run.error)}. Its last checkpoint is kept.")
        if run.note:
            st.info(f"The server {run.note}. Its last checkpoint is kept; continue it when the slot is free.")
        steps = list(run.steps)
        if steps and "staleness" in steps[-1]:
            last = steps[-1]
            refresh_steps = [
                r["step"] for a, r in zip(steps[:-1], steps[1:], strict=True) if r["refreshes"] > a["refreshes"]
            ]
            dup = max(r.get("duplicates", 0) for r in steps)
            st.caption(
                f"HNSW index: {last['refreshes']} builds, {last['staleness']} steps since the last; "
                f"{dup} other-identity items at distance ~0 from an anchor seen (never used as negatives)."
            )
        else:
            refresh_steps = []
        warning = collapse_warning(steps, run.cfg.margin)
        if warning:
            st.warning(warning)
        st.plotly_chart(plots.training_curves(steps, refreshes=refresh_steps), key="tr_curves")
        vals = list(run.validations)
        base = run.spec.info.get("baseline")  # a head: the frozen descriptor's own figures on the same people
        if vals:
            v = vals[-1]
            against = "change against the untrained descriptor" if base else f"change since step {vals[0]['step']}"
            m = st.columns(6)
            for col, (key, name) in zip(
                m,
                (
                    ("p_at_1", "P@1"),
                    ("map_at_r", "MAP@R"),
                    ("auc", "ROC AUC"),
                    ("eer", "EER"),
                    ("accuracy", "10-fold accuracy"),
                    ("gap", "distance gap"),
                ),
                strict=True,
            ):
                first = base[key] if base else vals[0][key]
                col.metric(
                    name,
                    f"{v[key]:.4f}" if key == "auc" else f"{v[key]:.3f}",
                    f"{v[key] - first:+.4f}" if key == "auc" else f"{v[key] - first:+.3f}",
                    help=against,
                    delta_color="inverse" if key == "eer" else "normal",
                )
            if base:
                better = v["map_at_r"] > base["map_at_r"]
                which = (
                    "The untrained descriptor (unit length, as the head's output)"
                    if run.spec.architecture == "mlp"
                    else f"The starting descriptor ({plain(run.spec.info.get('baseline_of', 'untrained'))})"
                )
                st.caption(
                    f"{which} reads ROC AUC {base['auc']:.4f}, 10-fold accuracy {base['accuracy']:.3f} and MAP@R "
                    f"{base['map_at_r']:.3f} on these held-out identities: at step {v['step']} training has "
                    f"{'helped' if better else 'not helped'} on people it never saw ({v['map_at_r'] - base['map_at_r']:+.3f} "
                    "MAP@R); a checkpoint is named best only when it reads better than that."
                )
            st.plotly_chart(plots.validation_curves(vals), key="tr_val")
        snaps = list(run.snapshots)
        if snaps:
            s = snaps[-1]
            st.caption(f"Held-out identities in the embedding at step {s['step']} (PCA)")
            st.plotly_chart(
                plots.scatter_map(s["coords"], s["labels"], kind="category", name="identity", hover=s["labels"]),
                key="tr_snap",
            )
        if not run.active and st.session_state.get("tr_was_active"):
            st.session_state["tr_was_active"] = False
            st.rerun(scope="app")  # the buttons outside this fragment change with the status
        st.session_state["tr_was_active"] = run.active
        if st.session_state.get(checkpoints.SEEN, 0) != len(run.checkpoints):
            st.session_state[checkpoints.SEEN] = len(run.checkpoints)
            st.rerun(scope="app")  # a new checkpoint: the list below the charts shows it

    st.fragment(body, run_every=1.0 if run.active else None)()


OWNED = "train_owned_runs"


class SessionRun:
    """Held in a visitor's session state for each run on their uploads: when Streamlit lets the
    session go (the tab closed, its disconnected-session time over), the session state is
    collected and the run is stopped and its folder deleted. Nothing of it outlives the session."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        weakref.finalize(self, _discard_in_background, run_id)


def _discard_in_background(run_id: str) -> None:
    # a finalizer runs in whatever thread collected the session: stopping the run waits for its
    # last step, so that happens on a thread of its own
    threading.Thread(target=jobs.discard, args=(run_id,), name=f"discard-{run_id}", daemon=True).start()
