"""Compare: your own pair scores evaluated as they are, or two models on the same pairs (A / B)."""

import streamlit as st

from explorer.ui import compare as ui
from explorer.ui import groups, models_ab, scores, state

OWN, MODELS = "Your scores (a pairs file)", "Two models on this workspace"

st.title("Compare")
st.write(
    "Evaluate the scores your own verifier gave a set of pairs, as they are, or put two models side by side on "
    "the same pairs: curves on one set of axes, figures with intervals over subjects, the pairs whose decision "
    "flips, and a threshold card. FAR (false accept rate, ISO's FMR) is the share of impostor (non-mated) pairs "
    "accepted, FRR (FNMR) the share of genuine (mated) pairs rejected, TAR = 1 - FRR."
)
part = st.segmented_control("What to compare", [OWN, MODELS], key="cmp_part", default=OWN) or OWN
ws = state.get_workspace()
systems = models_ab.systems(ws) if part == MODELS else scores.systems(ws)
if systems is None:
    st.stop()
with st.spinner(f"Reading the ROC of {len(systems.distances):,} score column(s) ..."):
    cs = ui.curves(systems)
if not cs:
    st.warning("No score has both genuine (same) and impostor (different) pairs: there is no curve to draw.")
    st.stop()
rule, target = ui.pick_rule()
thresholds = {name: ui.threshold_of(c, rule, target) for name, c in cs.items()}
names = list(cs)
shown = ui.drawn(names)
if shown:
    ui.overview(systems, {n: cs[n] for n in shown}, thresholds)

st.subheader("Figures")
a = b = (shown or names)[0]
if len(shown) >= 2:
    c1, c2 = st.columns(2)
    a = c1.selectbox("A", shown, key="cmp_a")
    b = c2.selectbox("B", [n for n in shown if n != a], key="cmp_b")
ui.figures_table(ui.comparison(systems.ordered(a, b) if a != b else systems), systems.columns)
ui.kfold(systems)
if a != b:
    st.subheader("Pairs whose decision flips")
    ui.flips(systems, ws, a, b, thresholds)

st.subheader("Threshold card")
name = st.selectbox("Card for", names, key="cmp_card_for")
with st.expander("Groups: false matches between groups on the card"):
    mapping = groups.group_map("cmp")
    if mapping and systems.subjects is None:
        st.warning("The pairs carry no subjects: a group cannot be given to either side of a pair.")
ui.card_downloads(ui.card(systems, name, thresholds[name], rule, target, mapping and mapping[1]), name)
