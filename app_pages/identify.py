"""Identify: enroll people from a photo or the camera, then identify and verify one-shot."""

import streamlit as st

from explorer.ui import identify as ui
from explorer.ui import live, state, verify

st.title("Identify")
st.write(
    "Enroll people from one photo each (an upload or the camera), then identify every face of a new photo "
    "against them, name faces live in the camera's view, or check two photos against each other. " + ui.where()
)
t, words = ui.threshold()
summary = st.empty()  # filled after the section: it counts what the section just enrolled or forgot
# one section at a time, kept across reruns (tabs would jump back to the first after every upload)
sections = {
    "Enroll": ui.enroll,
    "Identify": lambda: ui.identify(t),
    "Live": lambda: live.live(t),
    "Verify": lambda: verify.verify_pair(t),
    "People": ui.people,
    "Workspace": lambda: ui.workspace(state.get_workspace(), t),
}
section = st.segmented_control(
    "Section", list(sections), default="Enroll", key="id_section", label_visibility="collapsed"
)
sections[section or "Enroll"]()
n = len(ui.gallery().people())
summary.caption(f"Threshold: {words}. Enrolled: {n:,} {'person' if n == 1 else 'people'}.")
