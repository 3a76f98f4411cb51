"""Distances: genuine vs impostor pair distances over all pairs, and per-class structure."""

import numpy as np
import streamlit as st

from explorer.analysis.classes import class_spread, closest_class_pairs
from explorer.analysis.metrics import METRICS
from explorer.ui import distances as ui
from explorer.ui import pairs, report, state
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
state.own_distance("ds_metric", ws)
metric = c1.selectbox("Distance", METRICS, key="ds_metric")
density = c2.toggle(
    "Density",
    True,
    key="ds_density",
    help="each histogram scaled to area 1, so the genuine pairs (usually far fewer than the impostor "
    "pairs) show as clearly; off: pair counts",
)
log_y = c3.toggle("Log y", key="ds_log")

pairs.explain_dropped(pairs.usable(ws))
unit_norm = bool(np.allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, atol=1e-3))
mark = None
if unit_norm and metric == "sqeuclidean" and st.checkbox("Show FaceNet's 1.1 threshold", key="ds_facenet"):
    mark = 1.1
slot = st.empty()
try:
    if (first := pairs.preview_scores(ws, metric)) is not None:  # a large workspace: a first look
        with slot.container():
            ui.separation_view(first, metric=metric, density=density, log_y=log_y, mark=mark, final=False)
    h = pairs.workspace_scores(ws, metric)
except ValueError as exc:
    st.error(f"Cannot compute pair distances: {plain(exc)}. Your workspace is unchanged.")
    st.stop()
with slot.container():
    ui.separation_view(h, metric=metric, density=density, log_y=log_y, mark=mark)

st.subheader("Per class")
left, right = st.columns(2)
u = pairs.usable(ws)
spread = memo(ws, "spread", (metric,), lambda: class_spread(u.vectors, u.labels, metric=metric))
left.write("Widest classes (mean distance between their items)")
table(spread.head(10), where=left, key="ds_spread")
closest = memo(ws, "closest", (metric,), lambda: closest_class_pairs(u.vectors, u.labels, metric=metric))
right.write("Closest class pairs (distance between class centroids)")
table(closest, where=right, key="ds_closest")

report.link()
