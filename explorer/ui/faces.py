"""Face parts of the pages: proposing the face descriptor for photos of faces."""

from __future__ import annotations

import streamlit as st

from explorer.faces.pipeline import looks_like_faces
from explorer.ui import address
from explorer.ui.memo import memo
from explorer.workspace import Workspace


def propose_face_descriptor(ws: Workspace) -> None:
    """When the photos hold faces but the workspace model is the bundled digits model, say so and
    offer to embed them with the face descriptor instead (one click, same data)."""
    from explorer.ui.sources import model_loader_for, restorable
    from explorer.ui.workspace import build_workspace

    ds, info = ws.dataset, ws.encoder.model_info if ws.encoder else None
    if ds.kind != "image" or ds.faces is not None or info is None or info.origin != "bundled":
        return
    if not memo(ws, "looks_like_faces", (), lambda: looks_like_faces(ds.items)):
        return
    st.info(
        "These photos hold faces, and the bundled model was made for 8 x 8 digits: every photo is shrunk "
        "to 8 x 8 for it. The face descriptor finds each face, aligns it and describes it."
    )
    if st.button("Embed with the face descriptor instead", type="primary", key="dm_use_faces"):

        def same_data(progress):  # already in memory; restorable by the address it came from, if any
            return ds

        token = address.remembered("data")
        if build_workspace(restorable(same_data, token) if token else same_data, model_loader_for("faces")):
            st.rerun()
