"""Retrieval: how well each item finds its own class, and the items that look wrong."""

import streamlit as st

from explorer.analysis.metrics import INDEX_METRICS
from explorer.ui import pairs, report, state
from explorer.ui import retrieval as ui
from explorer.ui.safe import plain

st.title("Retrieval")
ws = state.require_workspace()
st.write(
    "Every item queries all the others by distance. Precision@1, R-Precision and MAP@R measure how much of "
    "its own class comes back first (R = class size - 1); below, the items that look wrong."
)
u = pairs.require_usable(ws, what="Retrieval")
c1, c2 = st.columns(2)
metric = c1.selectbox("Distance", INDEX_METRICS, index=1, key="rt_metric")
kind = ui.search_kind(len(u.rows), c2)
slot = st.empty()
try:
    if not ui.done(ws, metric, kind) and (quick := ui.first_look(ws, u, metric)) is not None:
        with slot.container():
            ui.headline(quick)
    f = ui.findings(ws, u, metric, kind)
except ValueError as exc:
    st.error(f"Cannot compute retrieval metrics: {plain(exc)}. Your workspace is unchanged.")
    st.stop()
with slot.container():
    ui.headline(f.result)
    ui.approximation(f)
st.subheader("Per class, worst first")
ui.per_class(ws, f.result)
st.subheader("Data quality")
ui.quality(ws, u, f, metric, kind)

report.link()
