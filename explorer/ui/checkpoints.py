"""The Train page's checkpoints: each against the start, the best only when it beats it, a name
by what it is (renamable), and "Use this model" / the download."""

from __future__ import annotations

import re

import streamlit as st

from explorer.training import jobs
from explorer.ui import address, state
from explorer.ui.downloads import download
from explorer.ui.safe import plain
from explorer.ui.sources import model_loader_for, restorable
from explorer.ui.workspace import build_workspace

SEEN = "tr_checkpoints_seen"  # how many checkpoints the page last showed


def checkpoint_list(run: jobs.Run) -> None:
    """The checkpoints against the start (step 0, or the starting descriptor): each with its
    held-out figures, the best marked only when it beats the start, any worse one marked so."""
    if not run.checkpoints:
        st.caption(f"Checkpoints appear here as the run writes them (every {run.cfg.checkpoint_every:,} steps).")
        return
    start, best = run.start_figures(), run.best_checkpoint()
    rows = [("start", start)] if start else []
    rows += [(s, run.figures(s)) for s in run.checkpoints if s > 0]
    st.dataframe(
        {
            "checkpoint": [f"step {s}" if s != "start" else "start (before training)" for s, _ in rows],
            "MAP@R": [v["map_at_r"] if v else None for _, v in rows],
            "ROC AUC": [v["auc"] if v else None for _, v in rows],
            "against the start": ["" if s == "start" else _against(v, start, s == best) for s, v in rows],
        },
        hide_index=True,
        column_config={
            "MAP@R": st.column_config.NumberColumn(format="%.3f"),
            "ROC AUC": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    if start and best is None:
        st.warning(
            f"No checkpoint reads better than the start (MAP@R {start['map_at_r']:.3f} on the held-out people): "
            "training has not helped yet, so none is called best."
        )

    def label(step: int) -> str:
        v = run.figures(step)
        figures = f" · MAP@R {v['map_at_r']:.3f} · ROC AUC {v['auc']:.4f}" if v else ""
        mark = " · best MAP@R" if step == best else " · worse than the start" if _worse(v, start) else ""
        return f"step {step}{figures}{mark}"

    step = st.selectbox(
        "Checkpoint",
        run.checkpoints[::-1],
        format_func=label,
        key="tr_ckpt",
        help="validation figures on the held-out identities at each checkpoint; a run often "
        "peaks and then drifts, so the best one need not be the last",
    )
    name = st.text_input("Model name", run.model_name(step), key=f"tr_name_{run.id}_{step}", max_chars=120)
    if name.strip() and name.strip() != run.model_name(step):
        run.names[step] = name.strip()
    path = run.model_path(step)
    trained_on = run.spec.info.get("training_data", {})
    ws = state.get_workspace()
    if trained_on and ws is not None and trained_on.get("data_hash") != ws.dataset.content_hash:
        st.warning(
            f"This run trained on {plain(trained_on.get('name'))}; the workspace now holds {plain(ws.dataset.name)}. "
            '"Use this model" embeds the workspace data with it.'
        )
    c1, c2 = st.columns(2)
    download(
        "Download checkpoint (safetensors, spec inside)",
        path.read_bytes,  # read when clicked
        f"{file_stem(run.model_name(step))}.safetensors",
        key="tr_dl",
        where=c2,
    )
    if c1.button("Use this model", type="primary", help="Every page re-embeds the workspace data with it"):

        def same_data(progress):  # already in memory; restorable by the address it came from, if any
            return ws.dataset

        token = address.remembered("data")
        ws2 = build_workspace(
            restorable(same_data, token) if token else same_data, model_loader_for(f"run:{run.id}:{step}")
        )
        address.remember_run(run)  # the run stays reachable beside the workspace's new address
        if ws2 is not None:
            st.success(
                f"The workspace now uses step {step} of run {run.id}: "
                f"{ws2.embeddings.n:,} items embedded in {ws2.embeddings.dim} dimensions."
            )


def _worse(v: dict | None, start: dict | None) -> bool:
    return bool(v and start and v["map_at_r"] < start["map_at_r"])


def _against(v: dict | None, start: dict | None, best: bool) -> str:
    if not (v and start):
        return ""
    words = f"{v['map_at_r'] - start['map_at_r']:+.3f} MAP@R"
    return f"{words}, best" if best else f"{words}, worse than the start" if _worse(v, start) else words


def file_stem(name: str) -> str:
    """A model name as a file name: letters, digits, dots, dashes; the rest become underscores."""
    return re.sub(r"[^A-Za-z0-9.@-]+", "_", name).strip("_.")[:120] or "model"
