"""Widgets of the Report page: the threshold to report at, and the report built once per choice."""

from __future__ import annotations

import streamlit as st

from explorer.analysis.metrics import METRICS
from explorer.evaluation import Evaluation, ThresholdChoice, evaluate
from explorer.models.encoder import DEFAULT_DISTANCE
from explorer.report import CardExtras, acquisition_of
from explorer.ui import state
from explorer.ui.memo import memo, memo_get
from explorer.ui.threshold import picked
from explorer.workspace import Workspace, card_entry

AS_PICKED, AT_EER, AT_FAR = "As picked on the Threshold page", "At the EER", "At a target FAR"


def distance() -> str:
    """The distance: the Threshold page's (its pick's, or its choice) until one is chosen here."""
    mine = picked()
    ws = state.get_workspace()
    own = ws.encoder.distance if ws is not None and ws.encoder is not None else DEFAULT_DISTANCE
    first = mine["metric"] if mine else st.session_state.get("th_metric", own)
    return st.selectbox("Distance", METRICS, index=METRICS.index(first), key="rp_metric")


def threshold_choice(ws: Workspace, metric: str) -> ThresholdChoice:
    """The Threshold page's threshold where it was picked for this model and distance on all
    pairs; else the EER, or a target FAR."""
    mine = picked()
    usable = (
        mine is not None
        and mine["checkpoint"] == ws.embeddings.provenance["checkpoint_hash"]
        and mine["metric"] == metric
        and mine["data"] == ws.dataset.name
        and not mine["pairs"].startswith("protocol")
    )
    options = [AS_PICKED, AT_EER, AT_FAR] if usable else [AT_EER, AT_FAR]
    c1, c2 = st.columns([3, 2])
    how = c1.radio(
        "Threshold",
        options,
        key="rp_how",
        horizontal=True,
        format_func=lambda o: f"{o} ({mine['threshold']:.5g}, {mine['how']})" if o == AS_PICKED else o,
        help="The report's threshold card, errors and rates are counted at this threshold",
    )
    if how == AS_PICKED:
        return ThresholdChoice(value=mine["threshold"], how=mine["how"])
    if how == AT_FAR:
        far = c2.number_input("Target FAR", 1e-7, 1.0, 1e-3, format="%.1e", key="rp_far")
        return ThresholdChoice("target FAR", float(far))
    return ThresholdChoice("EER")


def held_out() -> int:
    """How many random splits of the identities prove the threshold on held-out people (0: none)."""
    return int(
        st.number_input(
            "Prove the threshold on held-out people: random splits (0 = no)",
            0,
            10,
            0,
            key="rp_held_out",
            help="Each split picks the threshold by the same rule on half the identities and counts it on the "
            "other half, both ways; it costs about half an all-pairs pass",
        )
    )


def built(ws: Workspace, metric: str, choice: ThresholdChoice, held_out: int = 0, groups=None) -> Evaluation | None:
    return memo_get(ws, "report", (metric, choice, held_out, groups and groups[0]))


def build(ws: Workspace, metric: str, choice: ThresholdChoice, held_out: int = 0, groups=None) -> Evaluation:
    """groups: (the upload's id, {identity: group}) or None."""

    def compute():
        whole = state.get_workspace()
        extras = CardExtras(
            acquisition=acquisition_of(ws.dataset), evaluated=card_entry(whole, ws) if whole is not None else None
        )
        bar = st.progress(0.0, text="genuine and impostor pairs: their distances ...")
        try:
            return evaluate(
                ws.embeddings,
                metric=metric,
                choice=choice,
                extras=extras,
                progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
                held_out=held_out,
                groups=groups and groups[1],
            )
        finally:
            bar.empty()

    return memo(ws, "report", (metric, choice, held_out, groups and groups[0]), compute)


def link() -> None:
    """The way from an analysis page to the report of all of them."""
    st.page_link(
        "app_pages/report.py",
        label="Everything here and on the other pages, in one report",
        icon=":material/summarize:",
    )
