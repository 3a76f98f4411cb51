"""Projection: a UMAP or PCA map of the embedding; find, click or select points to see the items
and their neighbours."""

import numpy as np
import streamlit as st

from explorer import plots
from explorer.config import settings
from explorer.ui import pairs, state
from explorer.ui import projection as ui
from explorer.ui.safe import plain

st.title("Projection")
ws = state.require_workspace()
st.write(
    "Each point is an item. Click a point to see it and its nearest neighbours in the embedding itself "
    "(not on the map); box- or lasso-select to see many; find items by label or id."
)
u = pairs.require_usable(ws, min_items=3, what="A map")
opts = ui.settings()


def graph():
    try:
        return ui.graph(ws, u, opts)
    except ValueError as exc:
        st.error(f"Cannot find neighbours: {plain(exc)}. Your workspace is unchanged.")
        st.stop()


values, kind = ui.colour_values(ws, u, opts["colour"], graph, opts["metric"])
f1, f2 = st.columns(2)
with f1:
    found = ui.search(ws, u)
with f2:
    colours = ui.colours(values, kind)
hover = np.array([f"{i} ({lab})" for i, lab in zip(ws.dataset.ids[u.rows], u.labels, strict=True)])
drawn = plots.drawn_rows(len(u.rows), settings().map_points, keep=found, seed=opts["seed"])
chart, note = st.empty(), st.empty()


def figure(coords):
    return plots.scatter_map(
        coords, values, kind=kind, name=opts["colour"], hover=hover, rows=drawn, colours=colours, matches=found
    )


def draw(coords, text):
    chart.plotly_chart(figure(coords))
    note.caption(text)


try:
    coords = ui.coordinates(ws, u, opts, graph, draw)
except ValueError as exc:
    st.error(f"Cannot draw a UMAP: {plain(exc)}. Choose PCA.")
    st.stop()
if opts["dims"] == 2:
    event = chart.plotly_chart(
        figure(coords), key="pj_map", on_select="rerun", selection_mode=("points", "box", "lasso")
    )
    ui.hover_images(ws, u, hover)
    rows = ui.selected_rows(event, coords)
else:
    chart.plotly_chart(figure(coords))
    rows = np.empty(0, np.int64)
sampled = (
    f" of {len(coords):,} (a random sample: a box or lasso still selects every item inside it)"
    if len(drawn) < len(coords)
    else ""
)
note.caption(f"{len(drawn):,} points drawn{sampled} ({opts['method']}, {opts['dims']}D).")
title = "Selected"
if not len(rows) and found is not None and found.any():
    rows, title = np.flatnonzero(found), "Found"
if len(rows):
    st.subheader(f"{title}: {len(rows):,} item{'s' if len(rows) > 1 else ''}")
    if len(rows) > 1:
        ui.selection(ws, u, rows)
    st.subheader("Nearest neighbours in the embedding")
    ui.neighbours(ws, u, rows, opts["metric"], max(opts.get("n_neighbors", 15), 11) - 1)
elif opts["dims"] == 2:
    st.info("Click a point, or box- or lasso-select points, to see them here.")
