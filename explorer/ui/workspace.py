"""Building the workspace (with progress) and showing it in the sidebar."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from explorer import config
from explorer.data.dataset import Dataset
from explorer.data.digits import load_digits
from explorer.errors import InputError
from explorer.models.checkpoints import load_default_encoder
from explorer.models.embedding import EmbeddingCache, embed_dataset
from explorer.models.encoder import Encoder
from explorer.ui import state
from explorer.workspace import Workspace


@st.cache_resource(show_spinner=False)
def bundled_digits() -> Dataset:
    return load_digits()


@st.cache_resource(show_spinner=False)
def bundled_encoder() -> Encoder:
    return load_default_encoder()


@st.cache_resource(show_spinner=False)
def shared_cache() -> EmbeddingCache:
    """Disk-backed cache for server-side data only (bundled and server paths): shared by all."""
    return EmbeddingCache(directory=config.settings().cache_dir, max_memory_entries=8)


def cache_for(dataset: Dataset) -> EmbeddingCache:
    if dataset.origin == "upload" and not config.settings().cache_uploads:
        return state.upload_cache()
    return shared_cache()


def build_workspace(load_data: Callable, load_model: Callable | None) -> Workspace | None:
    """Load data and model, embed with a progress bar, and make it the workspace.

    On any user-caused error the message is shown and the previous workspace stays.
    """
    bar = st.progress(0.0, text="Loading data ...")
    try:
        dataset = load_data(lambda f, msg: bar.progress(min(f, 1.0) * 0.3, text=msg))
        encoder = load_model(dataset) if load_model else None
        emb = embed_dataset(dataset, encoder, cache=cache_for(dataset),
                            progress=lambda f, msg: bar.progress(0.3 + 0.7 * min(f, 1.0), text=msg))
    except InputError as exc:
        bar.empty()
        st.error(f"Could not load: {exc}. Your previous workspace is unchanged.")
        return None
    bar.empty()
    ws = Workspace(dataset, encoder, emb)
    state.set_workspace(ws)
    return ws


def ensure_default() -> None:
    """First visit: embed the bundled digits with the bundled model (cached on disk)."""
    state.init()
    if state.get_workspace() is None:
        with st.spinner("Embedding the bundled digits with the bundled model ..."):
            build_workspace(lambda progress: bundled_digits(), lambda ds: bundled_encoder())


def sidebar() -> None:
    ws = state.get_workspace()
    st.sidebar.markdown("### Workspace")
    if ws is None:
        st.sidebar.info("No data loaded yet.")
        return
    for name, value in ws.describe().items():
        st.sidebar.markdown(f"**{name}:** {value}")
