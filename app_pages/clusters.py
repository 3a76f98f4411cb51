"""Clusters: k-means or agglomerative clusters of the embedding, against the labels."""

import streamlit as st

from explorer import plots
from explorer.analysis.clustering import against_labels, cluster, contingency, silhouette
from explorer.ui import clusters as ui
from explorer.ui import pairs, report, state
from explorer.ui.memo import memo
from explorer.ui.safe import plain

st.title("Clusters")
ws = state.require_workspace()
st.write("Which groups does the model make by itself, and do they follow the labels?")
u = pairs.require_usable(ws, min_items=3, what="Clustering")
opts = ui.settings(len(set(u.labels)), len(u.rows))
ui.sweep(ws, u, opts)
key = tuple(sorted(opts.items()))


def _run():
    extra = {"linkage": opts["linkage"]} if opts["method"] == "agglomerative" else {}
    with st.spinner("Clustering ..."):
        res = cluster(u.vectors, method=opts["method"], n_clusters=opts["n_clusters"], metric=opts["metric"], **extra)
        return res, silhouette(u.vectors, res.labels, metric=opts["metric"])


try:
    res, sil = memo(ws, "clusters", key, _run)
except ValueError as exc:
    st.error(f"Cannot cluster: {plain(exc)}. Your workspace is unchanged.")
    st.stop()
ui.remember(ws, res)
st.subheader("Against the labels")
slot = ui.scores(memo(ws, "cluster_scores", key, lambda: against_labels(u.labels, res.labels, ami=False)), sil)
st.plotly_chart(plots.contingency_heatmap(contingency(res.labels, u.labels)), key="cl_heat")
st.subheader("Inside a cluster")
ui.galleries(ws, u, res)
ui.ami(ws, u, res, key, slot)

report.link()
