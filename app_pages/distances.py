"""Distances: genuine vs impostor pair distances over all pairs, and per-class structure."""

import numpy as np
import streamlit as st

from explorer import plots
from explorer.analysis.classes import class_spread, closest_class_pairs
from explorer.analysis.metrics import METRICS
from explorer.analysis.scores import separation
from explorer.ui import pairs, state
from explorer.ui.memo import memo
from explorer.ui.safe import plain
from explorer.ui.tables import table

st.title("Distances")
ws = state.require_workspace()
emb = ws.embeddings
st.write(
    f"All {emb.n * (emb.n - 1) // 2:,} pairs of the {emb.n:,} items: genuine pairs share a label, impostor "
    "pairs do not. Smaller distance = more similar."
)
c1, c2, c3 = st.columns([2, 1, 1])
metric = c1.selectbox("Distance", METRICS, index=1, key="ds_metric")
density = c2.toggle(
    "Density",
    True,
    key="ds_density",
    help="each histogram scaled to area 1, so the genuine pairs (usually far fewer than the impostor "
    "pairs) show as clearly; off: pair counts",
)
log_y = c3.toggle("Log y", key="ds_log")

pairs.explain_dropped(pairs.usable(ws))
try:
    h = pairs.workspace_scores(ws, metric)
except ValueError as exc:
    st.error(f"Cannot compute pair distances: {plain(exc)}. Your workspace is unchanged.")
    st.stop()
sep = separation(h)
unit_norm = bool(np.allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, atol=1e-3))
mark = None
if unit_norm and metric == "sqeuclidean" and st.checkbox("Show FaceNet's 1.1 threshold", key="ds_facenet"):
    mark = 1.1
m = st.columns(6)
m[0].metric("Genuine pairs", f"{h.n_genuine:,}")
m[1].metric("Impostor pairs", f"{h.n_impostor:,}")
m[2].metric(
    "d-prime",
    "n/a" if sep.d_prime is None else f"{sep.d_prime:.3f}",
    help="|mean impostor - mean genuine| / sqrt((var genuine + var impostor) / 2), from sums over every pair",
)
m[3].metric(
    "Overlap",
    "n/a" if sep.overlap is None else f"{sep.overlap:.4f}",
    help="The share of the two distributions no single threshold separates (the least FAR + FRR): "
    "0 = some threshold separates every pair, 1 = identical",
)
m[4].metric("Mean genuine", f"{sep.mean_genuine:.3f}")
m[5].metric("Mean impostor", f"{sep.mean_impostor:.3f}")
if not h.n_impostor:
    st.warning("Only one identity: there are no impostor pairs, so separation cannot be measured.")
if not h.n_genuine:
    st.warning("Every identity has a single item: there are no genuine pairs, so separation cannot be measured.")
if h.all_equal:
    st.warning("Every pair has the same distance: the embedding separates nothing. Check the model.")
if h.sampled:
    st.caption(h.source + f" (of {h.n_impostor_total:,}): the impostor histogram is the sample's.")
st.plotly_chart(
    plots.pair_histogram(
        h.edges, h.genuine_hist, h.impostor_hist, metric=metric, density=density, log_y=log_y, mark=mark
    ),
    key="ds_hist",
)

st.subheader("Per class")
left, right = st.columns(2)
u = pairs.usable(ws)
spread = memo(ws, "spread", (metric,), lambda: class_spread(u.vectors, u.labels, metric=metric))
left.write("Widest classes (mean distance between their items)")
table(spread.head(10), where=left, key="ds_spread")
closest = memo(ws, "closest", (metric,), lambda: closest_class_pairs(u.vectors, u.labels, metric=metric))
right.write("Closest class pairs (distance between class centroids)")
table(closest, where=right, key="ds_closest")
