"""Threshold: pick the verification threshold from ROC / DET and take away a threshold card."""

import streamlit as st

from explorer.analysis.headline import headline
from explorer.analysis.metrics import METRICS
from explorer.analysis.thresholds import at_threshold
from explorer.analysis.verification import scores_curve
from explorer.report import card_json, card_markdown, curve_csv, threshold_card
from explorer.ui import beyond, groups, held_out, pairs, report, state
from explorer.ui import threshold as ui
from explorer.ui.downloads import download
from explorer.ui.memo import memo
from explorer.ui.safe import plain

st.title("Threshold")
ws = state.require_workspace()  # held-out identities of a model trained here
ui.keep_choices()
state.own_distance("th_metric", ws)
st.write(
    "Accept two items as the same identity when their distance is at most the threshold. FAR (false accept "
    "rate, ISO's FMR) is the share of impostor (non-mated) pairs accepted, FRR (FNMR) the share of genuine "
    "(mated) pairs rejected, TAR = 1 - FRR. Every figure is counted exactly at the threshold shown."
)
c1, c2, c3 = st.columns([2, 2, 1])
source = c1.radio(
    "Pairs", ["All pairs of the workspace", "Pairs from a protocol file"], key="th_source", horizontal=True
)
metric = c2.selectbox("Distance", METRICS, key="th_metric")
ci_method = c3.radio(
    "Intervals",
    ["wilson", "exact"],
    key="th_ci",
    horizontal=True,
    format_func=lambda m: "Wilson" if m == "wilson" else "Clopper-Pearson",
)
pairs.explain_dropped(pairs.usable(ws))

proto = dists = file_key = None
try:
    if source == "All pairs of the workspace":
        scores = pairs.workspace_scores(ws, metric)
        pairs_from = scores.source
    else:
        proto, file_key = ui.protocol_upload(ws)
        if proto is None:
            st.stop()
        scores, dists = pairs.protocol_scores(ws, metric, proto, file_key)
        pairs_from = f"protocol file, {len(proto.same):,} pairs"
except ValueError as exc:
    st.error(f"Cannot compute pair distances: {plain(exc)}. Your workspace is unchanged.")
    st.stop()
if proto is not None and not (scores.n_impostor and scores.n_genuine):  # the file's pairs, not the identities
    st.warning(ui.protocol_shortfall(proto, scores))
    st.stop()
if not scores.n_impostor:
    st.warning(
        "Only one identity here: every pair is genuine, so nothing can be falsely accepted and a threshold has "
        "nothing to separate. Load data with at least two identities."
    )
    st.stop()
if not scores.n_genuine:
    st.warning(
        "Every identity has a single item here: there are no genuine pairs, so no true accept can be counted. "
        "Load at least two items of some identity."
    )
    st.stop()
curve = memo(ws, "curve", (metric, source, file_key), lambda: scores_curve(scores))
head = memo(ws, "headline", (metric, source, file_key), lambda: headline(curve, scores))
if scores.all_equal or len(curve.thresholds) == 2:
    only = float(scores.impostor.values[0] if len(scores.impostor.values) else curve.thresholds[-1])
    st.warning(
        f"All {curve.n_genuine + curve.n_impostor:,} pair distances are equal ({only:.5g}): the embedding "
        "separates nothing, so any threshold accepts every pair or none. Check the model."
    )
    threshold, how = only, "the only distance"
else:
    threshold, how = ui.pick(curve)
r = at_threshold(curve, threshold, ci_method=ci_method)
ui.remember_pick(ws, metric, r, how, pairs_from)
ui.results(r, scores)
log_y = st.toggle("Log y (histogram)", key="th_log")
ui.figures(curve, scores, r, log_y)

st.subheader("Whole curve")
m = st.columns(3)
m[0].metric("ROC AUC", f"{head.auc:.6f}", help="Exact" if head.exact else f"Largest binning error {head.auc_bound:.1e}")
m[1].metric(
    "EER", f"{100 * head.eer:.3f}%", help="Where FAR = FRR on the ROC (a block of tied distances is one straight step)"
)
m[2].metric("EER threshold", f"{head.eer_threshold:.5g}")
far = beyond.figures(scores)
if far is not None:
    m[1].caption(beyond.eer_interval(far))
if not head.exact:
    st.caption(
        f"{scores.n_genuine + scores.n_impostor:,} pairs are summarised on {len(curve.thresholds) - 1:,} "
        "exact threshold points: fine bins, every value of the exact low-FAR and high-FRR tails, and the points "
        f"that decide each TAR@FAR the tails reach. The AUC is within {head.auc_bound:.1e} of the exact value; "
        "the EER is read on the grid."
    )
ui.tar_table(head, curve)
if far is not None:
    beyond.beyond(far, r.threshold)
download(
    "Download the curve's exact points (CSV)",
    lambda: curve_csv(curve),
    f"{ws.file_stem}_roc_points.csv",
    key="th_curve_csv",
)
if proto is not None:
    ui.kfold(proto, dists)

st.subheader("Errors at this threshold")
ui.gallery(ws, scores, r.threshold)

st.subheader("Between groups")
listed_items = None if proto is None else (proto.index_a, proto.index_b)
between = groups.between_groups(ws, scores, r.threshold, listed_items, f"{source}:{file_key}")

st.subheader("On people it was not picked on")
rule_key, rule_pick = ui.rule(r.threshold)
proven = held_out.held_out(ws, metric, rule_key, rule_pick, r, None if proto is None else (proto, dists, file_key))

st.subheader("Threshold card")
card = threshold_card(
    r,
    head,
    scores,
    how=how,
    provenance=ws.embeddings.provenance,
    pairs_from=pairs_from,
    extras=ui.card_extras(ws, scores, r, proto, file_key, proven, between),
)
d1, d2 = st.columns(2)
download("Download card (JSON)", card_json(card), f"{ws.file_stem}_threshold_card.json", key="th_card_json", where=d1)
download(
    "Download card (Markdown)", card_markdown(card), f"{ws.file_stem}_threshold_card.md", key="th_card_md", where=d2
)
with st.expander("Preview the card"):
    st.markdown(card_markdown(card))

report.link()
