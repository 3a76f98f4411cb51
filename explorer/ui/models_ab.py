"""Widgets of the Compare page's "two models" part: the workspace model (A) against another (B)
on the same pairs of the workspace's items, and MAP@R of each."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import config
from explorer.analysis.comparison import two_encoders
from explorer.analysis.metrics import METRICS
from explorer.data.scorefile import DISTANCE
from explorer.errors import InputError
from explorer.models.embedding import Embeddings
from explorer.ui import sources, state
from explorer.ui.safe import plain
from explorer.ui.workspace import bundled_encoder, face_encoder, prepare_and_embed
from explorer.workspace import Workspace, card_entry

EMBEDDED_B = "cmp_b_embeddings"
RUN, BASE, FACES, BUNDLED, UPLOAD = (
    "A checkpoint of your training run",
    "The descriptor under the workspace's head",
    "The face descriptor",
    "Bundled digits ConvNet",
    "Upload a checkpoint",
)


def _model_b(ws: Workspace):
    """(loader () -> Encoder, a key naming the choice) or (None, None) until one is chosen."""
    from explorer.models.encoder import StackedEncoder
    from explorer.ui.train import current_run

    run = current_run()
    choices = ([RUN] if run is not None and run.checkpoints else []) + (
        [BASE] if isinstance(ws.encoder, StackedEncoder) else []
    )
    choices += [FACES, BUNDLED, UPLOAD]
    source = st.radio("Model B", choices, key="cmp_b_source", horizontal=True)
    if source == RUN:
        step = st.selectbox("Step", run.checkpoints[::-1], key="cmp_b_step")
        return (lambda: sources.trained_encoder(run.id, str(step))), (RUN, run.id, step)
    if source == BASE:
        return (lambda: ws.encoder.base), (BASE,)
    if source == FACES:
        crops = st.checkbox("These images are face crops already", key="cmp_b_crops")
        return (lambda: face_encoder(crops=crops)), (FACES, crops)
    if source == BUNDLED:
        return bundled_encoder, (BUNDLED,)
    ups = st.file_uploader(
        "Checkpoint (+ its .json spec where needed)",
        type=sources.CKPT_TYPES,
        accept_multiple_files=True,
        key="cmp_b_ckpt",
    )
    load = sources._uploaded_model(ups) if ups else None  # noqa: SLF001 - the Data & model page's own reader
    if load is None:
        return None, None
    return (lambda: load(ws.dataset)), (UPLOAD, tuple(u.file_id for u in ups))


def _embed_b(ws: Workspace, load, key: tuple) -> Embeddings | None:
    cached = st.session_state.get(EMBEDDED_B)
    if cached is not None and cached[0] == (ws.key, key):
        return cached[1]
    if not st.button("Embed the workspace with model B", key="cmp_b_go", type="primary"):
        return None
    bar = st.progress(0.0, text="Loading model B ...")
    try:
        _, emb = prepare_and_embed(ws.dataset, load(), lambda f, m: bar.progress(f, text=m))
    except InputError as exc:
        st.error(f"Model B cannot embed this workspace: {plain(exc)}")
        return None
    finally:
        bar.empty()
    if len(emb.ids) != len(ws.embeddings.ids) or (emb.ids != ws.embeddings.ids).any():
        keep = np.isin(ws.embeddings.ids, emb.ids)
        st.warning(
            f"Model B embedded {len(emb.ids):,} of the {len(ws.embeddings.ids):,} items (faces not found in the rest)."
        )
        if not keep.any():
            return None
    st.session_state[EMBEDDED_B] = ((ws.key, key), emb)
    return emb


def systems(ws: Workspace | None):
    """Model A (the workspace's) and B on the same pairs of the workspace's items; None until B is embedded."""
    from explorer.ui.compare import Systems

    if ws is None or ws.encoder is None:
        st.info("Load data with a model on the Data & model page: model A is the workspace's model.")
        return None
    load, key = _model_b(ws)
    metric = st.selectbox("Distance", METRICS, key="cmp_metric", index=list(METRICS).index("euclidean"))
    if load is None:
        return None
    emb_b = _embed_b(ws, load, key)
    if emb_b is None:
        return None
    view = state.evaluation_view(ws)  # the held-out identities of a model trained here, unless all are asked for
    rows_b = {str(i): k for k, i in enumerate(emb_b.ids)}
    rows = np.array([k for k, i in enumerate(view.embeddings.ids) if str(i) in rows_b], np.int64)
    name_a = f"A: {ws.embeddings.provenance.get('model_name')}"
    name_b = f"B: {emb_b.provenance.get('model_name')}"
    try:
        two = two_encoders(
            (name_a, name_b),
            view.embeddings.vectors[rows],
            emb_b.vectors[[rows_b[str(i)] for i in view.embeddings.ids[rows]]],
            view.embeddings.labels[rows],
            metric=metric,
            replicates=config.settings().bootstrap,
        )
    except ValueError:
        st.warning(
            "These items give no genuine or no impostor pairs: load data with several items of several identities."
        )
        return None
    rows, a, b, same = rows[two.rows], two.a, two.b, two.same
    labels = view.embeddings.labels[rows]
    m_a, m_b, (lo, hi) = two.map_at_r
    st.caption(
        f"{int(same.sum()):,} genuine and {int((~same).sum()):,} impostor pairs of {len(rows):,} items "
        f"({metric}; every genuine pair up to 25,000, impostor pairs sampled uniformly, seed 0), the same pairs for both."
    )
    ids = view.embeddings.ids[rows]
    items = view.rows[rows] if view.rows is not None else rows
    return Systems(
        distances=two.distances,
        same=same,
        directions={name_a: DISTANCE, name_b: DISTANCE},
        key=(ws.key, view.key, key, metric),
        subjects=(labels[a], labels[b]),
        subjects_from="the workspace's labels",
        pairs_from=f"{ws.dataset.name}: {len(same):,} pairs of {len(rows):,} items ({view.view or 'all identities'})",
        items=(items[a], items[b]),
        names=(ids[a], ids[b]),
        provenance={name_a: ws.embeddings.provenance, name_b: emb_b.provenance},
        columns={
            "MAP@R": {
                name_a: f"{m_a:.4f}",
                name_b: f"{m_b:.4f}",
                f"{name_b} - {name_a}": f"{m_b - m_a:.4f} [{lo:.4f}, {hi:.4f}]",
            }
        },
        extra={"evaluated": card_entry(ws, view)},
    )
