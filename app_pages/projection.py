"""Projection: a UMAP or PCA map of the embedding; select points to see the items and their neighbours."""

import numpy as np
import streamlit as st

from explorer import plots
from explorer.ui import pairs, state
from explorer.ui import projection as ui
from explorer.ui.safe import plain

st.title("Projection")
ws = state.require_workspace()
st.write(
    "Each point is an item. Box- or lasso-select points on the 2D map to see them, and one item's nearest "
    "neighbours in the embedding itself (not on the map)."
)
u = pairs.require_usable(ws, min_items=3, what="A map")
opts = ui.settings()
try:
    g = ui.graph(ws, u, opts["metric"], min(max(opts.get("n_neighbors", 15), 11), len(u.rows)))
except ValueError as exc:
    st.error(f"Cannot find neighbours: {plain(exc)}. Your workspace is unchanged.")
    st.stop()
values, kind = ui.colour_values(ws, u, opts["colour"], g, opts["metric"])
hover = np.array([f"{i} ({lab})" for i, lab in zip(ws.dataset.ids[u.rows], u.labels, strict=True)])
chart, note = st.empty(), st.empty()


def draw(coords, text):
    chart.plotly_chart(plots.scatter_map(coords, values, kind=kind, name=opts["colour"], hover=hover))
    note.caption(text)


try:
    coords = ui.coordinates(ws, u, opts, g, draw)
except ValueError as exc:
    st.error(f"Cannot draw a UMAP: {plain(exc)}. Choose PCA.")
    st.stop()
fig = plots.scatter_map(coords, values, kind=kind, name=opts["colour"], hover=hover)
if opts["dims"] == 2:
    event = chart.plotly_chart(fig, key="pj_map", on_select="rerun", selection_mode=("box", "lasso"))
    rows = ui.selected_rows(event)
else:
    chart.plotly_chart(fig)
    rows = np.empty(0, np.int64)
note.caption(f"{len(coords):,} points drawn ({opts['method']}, {opts['dims']}D).")
if len(rows):
    st.subheader("Selected")
    ui.selection(ws, u, rows)
    st.subheader("Nearest neighbours in the embedding")
    ui.neighbours(ws, u, rows, g)
elif opts["dims"] == 2:
    st.info("Box- or lasso-select points on the map to see them here.")
