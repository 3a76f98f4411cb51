"""Data & model: pick or upload data and a checkpoint, embed, inspect, download."""

import streamlit as st

from explorer.ui import render, sources, state
from explorer.ui.workspace import build_workspace

st.title("Data & model")
st.write(
    "Choose a dataset and the model that embeds it. The previous workspace stays until the new one "
    "has loaded and embedded without error."
)

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
