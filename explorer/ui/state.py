"""Session keys, declared once, with typed getters. Everything here is per visitor."""

from __future__ import annotations

import streamlit as st

from explorer.faces.acquisition import AcquisitionCache
from explorer.models.embedding import EmbeddingCache
from explorer.workspace import Workspace, held_out, scope

WORKSPACE = "workspace"
UPLOAD_CACHE = "upload_embedding_cache"
UPLOAD_FACES = "upload_face_chips"


def init() -> None:
    st.session_state.setdefault(WORKSPACE, None)
    st.session_state.setdefault(UPLOAD_CACHE, EmbeddingCache(directory=None, max_memory_entries=4))
    st.session_state.setdefault(UPLOAD_FACES, AcquisitionCache(directory=None, max_memory_entries=2))


def get_workspace() -> Workspace | None:
    return st.session_state.get(WORKSPACE)


def require_workspace(*, whole: bool = False) -> Workspace:
    """The workspace, or a pointer to the Data & model page and the end of this page's run.

    Unless ``whole``: for a model trained here, the held-out view (see :func:`evaluation_view`)."""
    ws = get_workspace()
    if ws is None:
        st.info("Load data on the Data & model page first.")
        st.stop()
    return ws if whole else evaluation_view(ws)


ALL_IDENTITIES = "eval_all_identities"
HELD_OUT = "held_out_view"


def evaluation_view(ws: Workspace) -> Workspace:
    """What a page evaluates: for a model that trained on some of these identities, says how many
    items it trained on and gives the held-out identities unless the visitor asks for all."""
    s = scope(ws)
    if s is None:
        return ws
    st.session_state[ALL_IDENTITIES] = st.session_state.get(ALL_IDENTITIES, False)  # kept across pages
    if s.held_out_identities < 2:
        st.warning(
            f"This model trained on {s.items_seen:,} of these {s.items:,} items ({s.identities_seen:,} of "
            f"{s.identities:,} identities): fewer than two identities are held out, so the figures here are on "
            "identities it has seen and flatter it."
        )
        return ws
    everything = st.toggle(
        "Include the identities the model trained on",
        key=ALL_IDENTITIES,
        help="Off: only identities the model never saw in training (what it will meet in use)",
    )
    cached = st.session_state.get(HELD_OUT)
    if cached is None or cached[0] != ws.key:
        cached = (ws.key, held_out(ws))
        st.session_state[HELD_OUT] = cached
    view = cached[1]
    if everything:
        st.warning(
            f"All identities: the model trained on {s.items_seen:,} of these {s.items:,} items "
            f"({s.identities_seen:,} of {s.identities:,} identities), so these figures flatter it."
        )
        return ws
    st.info(
        f"This model trained on {s.items_seen:,} of these {s.items:,} items ({s.identities_seen:,} identities). "
        f"The figures here are on the {s.held_out_identities:,} identities it never saw ({view.embeddings.n:,} items)."
    )
    return view


def set_workspace(ws: Workspace) -> None:
    """Replace the workspace; results keyed on the old workspace's key are stale from now on."""
    st.session_state[WORKSPACE] = ws


def upload_cache() -> EmbeddingCache:
    """Embeddings of this visitor's uploads: in this session's memory only."""
    return st.session_state[UPLOAD_CACHE]


def upload_faces() -> AcquisitionCache:
    """Face chips cut from this visitor's uploads: in this session's memory only."""
    return st.session_state[UPLOAD_FACES]


def own_distance(key: str, ws: Workspace) -> None:
    """The distance widget ``key`` starts at the workspace model's own distance, and after that
    holds the visitor's choice within the workspace, across pages (Streamlit drops a widget's state
    in a run that does not draw it: a copy is kept)."""
    from explorer.models.encoder import DEFAULT_DISTANCE

    mark, kept = f"{key}_for", f"{key}_kept"
    if st.session_state.get(mark) != ws.key:
        st.session_state[key] = ws.encoder.distance if ws.encoder is not None else DEFAULT_DISTANCE
        st.session_state[mark] = ws.key
    elif key not in st.session_state:
        st.session_state[key] = st.session_state[kept]
    st.session_state[kept] = st.session_state[key]
