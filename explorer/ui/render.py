"""Rendering the workspace summary on the Data & model page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer import plots
from explorer.data.order import natural
from explorer.summary import summarize, to_csv_bytes, to_parquet_bytes
from explorer.ui.downloads import download
from explorer.ui.faces import propose_face_descriptor
from explorer.ui.grid import image_grid
from explorer.ui.memo import memo
from explorer.ui.safe import plain
from explorer.workspace import Workspace


def workspace_summary(ws: Workspace) -> None:
    emb, ds = ws.embeddings, ws.dataset
    s = memo(ws, "summary", (), lambda: summarize(emb))  # not recomputed on every rerun
    st.subheader("Summary")
    cols = st.columns(5)
    cols[0].metric("Items (N)", f"{s.n:,}")
    cols[1].metric("Dimensions (D)", s.dim)
    cols[2].metric("Classes", s.n_classes)
    cols[3].metric(
        "Exact duplicates", s.duplicate_rows, help=f"{s.duplicate_groups} distinct vectors occur more than once"
    )
    cols[4].metric("Failed to load", len(ds.failures))
    for w in ds.warnings():
        st.warning(plain(w))
    propose_face_descriptor(ws)
    spec = ws.encoder.input_spec if ws.encoder else None
    if ds.kind == "image" and spec is not None and spec.kind == "image" and ds.faces is None:
        h, w = ds.items[0].shape[:2]
        if h * w > 16 * spec.height * spec.width:
            st.info(
                f"The images ({h}x{w}) are shrunk to {spec.height}x{spec.width} for this model: it was made "
                "for much smaller images, so expect a weak embedding. Choose a model trained on this kind of data."
            )
    p = emb.provenance
    st.caption(
        f"Data `{p['data_name']}` (sha256 {p['data_hash'][:12]}), model `{p['model_name']}` "
        f"({p['model_format']}, sha256 {p['checkpoint_hash'][:12]}), preprocessing {p['preprocessing']}, "
        f"precision {p['precision']}."
    )
    left, right = st.columns(2)
    left.plotly_chart(plots.class_counts_bar(s.class_counts), key="dm_counts")
    right.plotly_chart(plots.norms_histogram(s.norms), key="dm_norms")
    no_face = sum(f.reason.startswith("failure to acquire") for f in ds.failures)
    if no_face and getattr(ws.encoder, "restore_token", None) == "faces":
        st.info(
            f"No face was found in {no_face:,} photo{'s' if no_face != 1 else ''}. If these images are face crops "
            "already (as AT&T's or dlib's chips are), tick **These images are face crops already** under the model "
            "above and load again: a crop without a detected face is then used whole."
        )
    if ds.failures:
        with st.expander(f"Not loaded ({len(ds.failures)}), with the reason for each"):
            st.dataframe(
                pd.DataFrame([(f.path, f.reason) for f in ds.failures], columns=["item", "reason"]), hide_index=True
            )
    if ds.kind == "image" and ds.thumbnails:
        _thumbnail_grid(ws)
    # Built when clicked (deferred), in this session only: uploads never enter a shared cache.
    d1, d2 = st.columns(2)
    download(
        "Download embeddings (Parquet)",
        lambda: to_parquet_bytes(emb),
        f"{ws.file_stem}_embeddings.parquet",
        key="dm_dl_parquet",
        where=d1,
    )
    download(
        "Download embeddings (CSV)",
        lambda: to_csv_bytes(emb),
        f"{ws.file_stem}_embeddings.csv",
        key="dm_dl_csv",
        where=d2,
    )


def _thumbnail_grid(ws: Workspace) -> None:
    ds = ws.dataset
    st.subheader("Items per class")
    label = st.selectbox("Class", natural(ds.classes), key="dm_grid_class")
    idx = [i for i, lab in enumerate(ds.labels) if lab == label]
    image_grid([ds.thumbnails[i] for i in idx], [str(ds.ids[i]) for i in idx], key="dm_grid_page", width=72)
