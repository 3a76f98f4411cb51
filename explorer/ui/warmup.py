"""Server-wide warm-up: compile numba code (pair kernels, retrieval, UMAP) in the background once per server."""

from __future__ import annotations

import threading

import streamlit as st

from explorer.analysis.warmup import compile_kernels, compile_nndescent, compile_retrieval, compile_umap


def _warm() -> None:
    compile_kernels()
    compile_retrieval()  # the report's and Retrieval's ranking kernel
    compile_umap()


@st.cache_resource(show_spinner=False)
def start_warmup() -> threading.Thread:
    """Shared by every visitor on purpose: it holds no data, only compiled code."""
    thread = threading.Thread(target=_warm, name="numba-warmup", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner=False)
def start_nndescent_warmup() -> threading.Thread:
    """NN-descent's ~15 s compile, once per server, from the first workspace that will need it
    (more than 20k items): not at every start, where it would slow every first visitor."""
    thread = threading.Thread(target=compile_nndescent, name="nndescent-warmup", daemon=True)
    thread.start()
    return thread
