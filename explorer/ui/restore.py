"""The workspace on arrival: restored from the address after a refresh, else the bundled default."""

from __future__ import annotations

import logging

import streamlit as st

from explorer.errors import InputError
from explorer.ui import address, state
from explorer.ui.safe import plain
from explorer.ui.sources import data_loader_for, model_loader_for, picker_state
from explorer.ui.workspace import build_workspace

LOG = logging.getLogger("explorer")


def ensure_workspace() -> None:
    """First run of a session: rebuild the server-side workspace named in the URL (cached on
    disk, so it is quick), or embed the bundled digits with the bundled model."""
    state.init()
    if state.get_workspace() is not None:
        return
    params = st.query_params
    address.adopt("run")  # a training run to reattach to; data and model are remembered once they load
    if "data" in params and "model" in params:
        try:
            loaders = data_loader_for(params["data"]), model_loader_for(params["model"])
        except InputError as exc:
            st.warning(f"{plain(exc)}; showing the default workspace.")
        else:
            with st.spinner("Restoring your workspace ..."):
                try:
                    restored = build_workspace(*loaders)
                except Exception:  # noqa: BLE001 - outside the page's guard: a bad address must not break every page
                    LOG.exception("restoring the workspace from the address failed")
                    st.warning("The workspace in the address could not be restored; showing the default workspace.")
                    restored = None
                if restored is not None:
                    for key, value in picker_state(params["data"], params["model"]).items():
                        st.session_state.setdefault(key, value)
                    return
    with st.spinner("Embedding the bundled digits with the bundled model ..."):
        build_workspace(data_loader_for("digits"), model_loader_for("bundled"))
