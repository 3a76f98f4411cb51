"""Server-wide warm-up: compile the pair kernels in the background once per server process."""

from __future__ import annotations

import threading

import streamlit as st

from explorer.analysis.warmup import compile_kernels


@st.cache_resource(show_spinner=False)
def start_warmup() -> threading.Thread:
    """Shared by every visitor on purpose: it holds no data, only compiled code."""
    thread = threading.Thread(target=compile_kernels, name="kernel-warmup", daemon=True)
    thread.start()
    return thread
