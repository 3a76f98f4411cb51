"""Session keys, declared once, with typed getters. Everything here is per visitor."""

from __future__ import annotations

import streamlit as st

from explorer.faces.acquisition import AcquisitionCache
from explorer.models.embedding import EmbeddingCache
from explorer.workspace import Workspace

WORKSPACE = "workspace"
UPLOAD_CACHE = "upload_embedding_cache"
UPLOAD_FACES = "upload_face_chips"


def init() -> None:
    st.session_state.setdefault(WORKSPACE, None)
    st.session_state.setdefault(UPLOAD_CACHE, EmbeddingCache(directory=None, max_memory_entries=4))
    st.session_state.setdefault(UPLOAD_FACES, AcquisitionCache(directory=None, max_memory_entries=2))


def get_workspace() -> Workspace | None:
    return st.session_state.get(WORKSPACE)


def require_workspace() -> Workspace:
    """The workspace, or a pointer to the Data & model page and the end of this page's run."""
    ws = get_workspace()
    if ws is None:
        st.info("Load data on the Data & model page first.")
        st.stop()
    return ws


def set_workspace(ws: Workspace) -> None:
    """Replace the workspace; results keyed on the old workspace's key are stale from now on."""
    st.session_state[WORKSPACE] = ws


def upload_cache() -> EmbeddingCache:
    """Embeddings of this visitor's uploads: in this session's memory only."""
    return st.session_state[UPLOAD_CACHE]


def upload_faces() -> AcquisitionCache:
    """Face chips cut from this visitor's uploads: in this session's memory only."""
    return st.session_state[UPLOAD_FACES]
