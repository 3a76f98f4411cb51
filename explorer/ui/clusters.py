"""Widgets and rendering for the Clusters page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer import plots
from explorer.analysis.clustering import (
    LINKAGES,
    ClusterResult,
    adjusted_mutual_info,
    k_sweep,
    suggest_k,
    sweep_range,
)
from explorer.analysis.metrics import cluster_metrics
from explorer.ui.downloads import download
from explorer.ui.grid import image_grid
from explorer.ui.memo import memo
from explorer.ui.pairs import Usable
from explorer.workspace import Workspace

LATEST = "cl_latest"  # this session's latest clustering, which the Projection page can colour by


def remember(ws: Workspace, res: ClusterResult) -> None:
    st.session_state[LATEST] = (ws.key, res)


def latest(ws: Workspace) -> ClusterResult | None:
    """The clustering last shown on the Clusters page, if it belongs to this workspace."""
    kept = st.session_state.get(LATEST)
    return kept[1] if kept and kept[0] == ws.key else None


def settings(n_labels: int, n_items: int) -> dict:
    c1, c2, c3, c4 = st.columns(4)
    method = c1.radio(
        "Method",
        ["kmeans", "agglomerative"],
        key="cl_method",
        format_func=lambda m: "k-means" if m == "kmeans" else "agglomerative",
    )
    linkage = c2.selectbox("Linkage", LINKAGES, key="cl_linkage", disabled=method == "kmeans")
    metric = c3.selectbox("Distance", cluster_metrics(method, linkage), key="cl_metric")
    k = c4.number_input("Clusters (k)", 2, max(2, n_items - 1), min(max(n_labels, 2), max(2, n_items - 1)), key="cl_k")
    return {"method": method, "linkage": linkage, "metric": metric, "n_clusters": int(k)}


def sweep(ws: Workspace, u: Usable, opts: dict) -> None:
    """A silhouette sweep over k, behind a button (it clusters once per k)."""
    top, default_hi = sweep_range(len(u.vectors), len(np.unique(u.labels)))
    c1, c2 = st.columns([3, 1])
    lo, hi = c1.slider("Which k? Sweep k from, to", 2, top, (2, default_hi), key="cl_sweep_range")
    if c2.button("Run the sweep", key="cl_sweep_go"):
        bar = st.progress(0.0, text="Clustering ...")
        extra = {"linkage": opts["linkage"]} if opts["method"] == "agglomerative" else {}
        table = k_sweep(
            u.vectors,
            range(lo, hi + 1),
            method=opts["method"],
            metric=opts["metric"],
            progress=lambda f, m: bar.progress(f, text=m),
            **extra,
        )
        bar.empty()
        st.session_state["cl_sweep"] = (ws.key, opts["method"], table)
    kept = st.session_state.get("cl_sweep")  # shown for the workspace and method it was run on only
    table = kept[2] if kept and kept[:2] == (ws.key, opts["method"]) else None
    if table is not None and len(table):
        best = suggest_k(table)
        st.plotly_chart(plots.silhouette_sweep(table["k"], table["silhouette"], suggested=best), key="cl_sweep_fig")
        st.caption(
            f"Suggested k = {best} (the best silhouette; each k fit once on up to 5,000 items, its silhouette on "
            "3,000 of them). Set it above."
        )


def scores(figures: dict[str, float], sil: float):
    """The figures against the labels in a row; returns the AMI's slot, filled last (``ami``)."""
    m = st.columns(7)
    m[0].metric("NMI", f"{figures['NMI']:.4f}")
    slot = m[1].empty()
    slot.metric("AMI", "...", help="Computed last: its expected mutual information is the slow part")
    for col, (name, value) in zip(m[2:6], [(k, v) for k, v in figures.items() if k != "NMI"], strict=False):
        col.metric(name, f"{value:.4f}")
    m[6].metric("Silhouette", "n/a" if np.isnan(sil) else f"{sil:.4f}", help="Sampled to 3,000 items on larger sets")
    return slot


def ami(ws: Workspace, u: Usable, res: ClusterResult, key: tuple, slot) -> None:
    value = memo(ws, "cluster_ami", key, lambda: adjusted_mutual_info(u.labels, res.labels))
    slot.metric("AMI", f"{value:.4f}", help="Adjusted mutual information: 0 for chance, 1 for the labels' own grouping")


def galleries(ws: Workspace, u: Usable, res: ClusterResult) -> None:
    ds = ws.dataset
    sizes = pd.Series(res.labels).value_counts().sort_index()
    pick = st.selectbox(
        "Cluster", list(sizes.index), key="cl_gallery", format_func=lambda c: f"cluster {c} ({sizes[c]} items)"
    )
    rows = u.rows[np.flatnonzero(res.labels == pick)]
    counts = pd.Series(ds.labels[rows]).value_counts()
    st.caption("Labels in this cluster: " + ", ".join(f"{k} ({v})" for k, v in counts.head(10).items()))
    if ds.kind == "image" and ds.thumbnails:
        image_grid([ds.thumbnails[i] for i in rows], [str(ds.labels[i]) for i in rows], key="cl_gallery_page")
    frame = pd.DataFrame({"item": ds.ids[u.rows], "label": ds.labels[u.rows], "cluster": res.labels})
    download("Download cluster of every item (CSV)", frame, f"{ws.file_stem}_clusters.csv", key="cl_dl")
