"""Embedding Explorer: router and frame (page config, navigation, sidebar workspace)."""

import streamlit as st

from explorer.config import ASSETS_DIR
from explorer.ui import state
from explorer.ui.address import keep as keep_address
from explorer.ui.guard import run_page
from explorer.ui.restore import ensure_workspace
from explorer.ui.warmup import start_warmup
from explorer.ui.workspace import sidebar

# the icon is a file of ours: a Material or emoji icon makes every browser ask a font host / CDN for it
st.set_page_config(page_title="Embedding Explorer", page_icon=str(ASSETS_DIR / "icon.png"), layout="wide")

pages = [
    st.Page("app_pages/data_model.py", title="Data & model", icon=":material/dataset:", default=True),
    st.Page("app_pages/distances.py", title="Distances", icon=":material/bar_chart:"),
    st.Page("app_pages/threshold.py", title="Threshold", icon=":material/tune:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("app_pages/projection.py", title="Projection", icon=":material/scatter_plot:"),
    st.Page("app_pages/retrieval.py", title="Retrieval", icon=":material/manage_search:"),
    st.Page("app_pages/clusters.py", title="Clusters", icon=":material/bubble_chart:"),
    st.Page("app_pages/report.py", title="Report", icon=":material/summarize:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/identify.py", title="Identify", icon=":material/face:"),
]
nav = st.navigation(pages)
start_warmup()  # compiles the pair kernels while the first visitor looks at the data
ensure_workspace()
keep_address()  # a page switch clears the query string: put back what a refresh needs
panel = st.sidebar.empty()
shown = state.get_workspace()
sidebar(panel)  # before the page: a page that stops early still shows the workspace
run_page(nav)  # an unexpected error says what to do; the workspace is kept
if state.get_workspace() is not shown:
    sidebar(panel)  # the page replaced the workspace: the panel says so in this run
