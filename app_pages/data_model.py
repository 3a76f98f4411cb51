"""Data & model: pick or upload data and a checkpoint, embed, inspect, download."""

import streamlit as st

from explorer.ui import render, sources, state
from explorer.ui.tour import TOUR, ws_tour_open
from explorer.ui.workspace import build_workspace

st.title("Data & model")
st.write(
    "Embedding Explorer looks inside a metric-learning embedding (faces, digits, anything a model maps to "
    "vectors so that the same identity lands close) and helps you act on it. Start here: choose a dataset and "
    "the model that embeds it (the bundled digits and model are loaded already), then open a page from the "
    "sidebar (on a phone: the >> at the top left; it closes again once you choose)."
)
with st.expander("What each page answers", expanded=ws_tour_open()):
    st.markdown(TOUR)
st.caption("The previous workspace stays until the new one has loaded and embedded without error.")

with st.container(border=True):
    load_data, needs_model = sources.data_picker()
    load_model = sources.model_picker(needs_model)
    ready = load_data is not None and (load_model is not None or not needs_model)
    if st.button("Load and embed", type="primary", disabled=not ready, key="dm_go"):
        if build_workspace(load_data, load_model) is not None:
            st.success("Workspace updated.")

ws = state.get_workspace()
if ws is None:
    st.info("Nothing loaded yet: choose data and a model above.")
else:
    render.workspace_summary(ws)
