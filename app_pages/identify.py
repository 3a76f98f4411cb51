"""Identify: enrol people from a photo or the camera, then identify and verify one-shot."""

import streamlit as st

from explorer.ui import identify as ui
from explorer.ui import state

st.title("Identify")
st.write(
    "Enrol people from one photo each (an upload or the camera), then identify a new photo against them, "
    "or check two photos against each other. Your gallery lives in this browser session only: nobody "
    "else sees it, and it is gone when the session ends."
)
t, words = ui.threshold()
st.caption(f"Threshold: {words}.")
enroll, identify, verify, people, workspace = st.tabs(["Enroll", "Identify", "Verify", "People", "Workspace"])
with enroll:
    ui.enroll()
with identify:
    ui.identify(t)
with verify:
    ui.verify_pair(t)
with people:
    ui.people()
with workspace:
    ui.workspace(state.get_workspace(), t)
