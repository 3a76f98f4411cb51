"""Report: the whole evaluation of the workspace in one file to keep or share."""

import streamlit as st

from explorer.errors import InputError
from explorer.evaluation_report import report_html, report_json, report_markdown
from explorer.ui import groups, state
from explorer.ui import report as ui
from explorer.ui.downloads import download
from explorer.ui.safe import plain

st.title("Report")
ws = state.require_workspace()
st.write(
    "Everything the analysis pages found, in one file: provenance, genuine / impostor distances, ROC and DET, "
    "TAR at FAR, the threshold card, retrieval, clusters and the errors with their images. The HTML opens "
    "offline (plotly is inside it); Markdown and JSON hold the same figures."
)
metric = ui.distance()
choice = ui.threshold_choice(ws, metric)
held_out = ui.held_out()
with st.expander("Groups: false matches between groups on the card"):
    mapping = groups.group_map("rp")
ev = ui.built(ws, metric, choice, held_out, mapping)
slot = st.empty()
if ev is None and slot.button("Build the report", key="rp_go", type="primary"):
    slot.empty()
    try:
        ev = ui.build(ws, metric, choice, held_out, mapping)
    except (InputError, ValueError) as exc:
        st.error(f"Cannot build the report: {plain(exc)}. Your workspace is unchanged.")
        st.stop()
if ev is None:
    st.stop()
v = ev.verification
m = st.columns(4)
m[0].metric("ROC AUC", f"{v.head.auc:.6f}")
m[1].metric("EER", f"{100 * v.head.eer:.3f}%")
m[2].metric("Threshold", f"{v.result.threshold:.5g}", help=v.card["how_chosen"])
m[3].metric("MAP@R", "n/a" if ev.retrieval is None else f"{ev.retrieval.map_at_r:.4f}")
for note in ev.notes:
    st.caption(note)
thumbs = ws.dataset.thumbnails if ws.dataset.kind == "image" and ws.dataset.thumbnails else None
d1, d2, d3 = st.columns(3)
download(
    "Download the report (HTML)",
    lambda: report_html(ev, thumbnails=thumbs),
    f"{ws.file_stem}_report.html",
    key="rp_html",
    where=d1,
)
download("Download (Markdown)", lambda: report_markdown(ev), f"{ws.file_stem}_report.md", key="rp_md", where=d2)
download("Download (JSON)", lambda: report_json(ev), f"{ws.file_stem}_report.json", key="rp_json", where=d3)
with st.expander("Preview (Markdown)"):
    st.markdown(report_markdown(ev))
