"""Per-session memo of derived results, keyed by workspace key + parameters.

Lives in st.session_state (not st.cache_data): results derived from uploads must never be shared
between visitors. Entries of an older workspace are dropped when the workspace changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from explorer.workspace import Workspace

MEMO = "derived_results"


def memo(ws: Workspace, name: str, params: tuple, compute: Callable[[], Any]) -> Any:
    store = st.session_state.setdefault(MEMO, {})
    if store.get("_workspace") != ws.key:
        store.clear()
        store["_workspace"] = ws.key
    key = (name, params)
    if key not in store:
        store[key] = compute()
    return store[key]


def memo_get(ws: Workspace, name: str, params: tuple) -> Any:
    """A memoised result if there is one for this workspace, else None (nothing is computed)."""
    store = st.session_state.get(MEMO, {})
    return store.get((name, params)) if store.get("_workspace") == ws.key else None
