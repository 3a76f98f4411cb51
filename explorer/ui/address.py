"""What the address (the URL's query string) holds for a refresh, kept across page switches.

Streamlit clears the query string whenever the visitor switches pages (documented under
st.query_params), so an address written on the Data & model page or the Train page was gone one
click later, and a refresh on any other page fell back to the default workspace and lost the run.
The keys are therefore remembered per session and written back by the router on every run.
"""

from __future__ import annotations

import streamlit as st

ADDRESS = "address"  # session key: the query-string keys this session's address should hold


def remember(**params: str) -> None:
    """Put these keys in the address now and after every page switch."""
    kept = st.session_state.setdefault(ADDRESS, {})
    for key, value in params.items():
        kept[key] = str(value)
        if st.query_params.get(key) != str(value):  # each write is a message to the browser
            st.query_params[key] = str(value)


def remember_run(run) -> None:
    """A training run on server-side data is named in the address (a refresh or a link reattaches
    to it); a run on uploads never is: it belongs to its session alone."""
    if run.keep_data:
        remember(run=run.id)


def remembered(key: str) -> str | None:
    return st.session_state.get(ADDRESS, {}).get(key)


def forget(*keys: str) -> None:
    """Take these keys out of the address for good."""
    kept = st.session_state.setdefault(ADDRESS, {})
    for key in keys:
        kept.pop(key, None)
        st.query_params.pop(key, None)


def adopt(*keys: str) -> None:
    """Remember those of these keys that the address arrived with (a refresh starts a new session)."""
    present = {key: st.query_params[key] for key in keys if key in st.query_params}
    if present:
        remember(**present)


def keep() -> None:
    """Write back the remembered keys a page switch cleared (keys present in the address stay as they are)."""
    for key, value in st.session_state.get(ADDRESS, {}).items():
        if key not in st.query_params:
            st.query_params[key] = value
