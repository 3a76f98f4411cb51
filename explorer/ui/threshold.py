"""Widgets and rendering for the Threshold page (the page itself stays a thin script)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from explorer import config, plots
from explorer.analysis.galleries import Pair, false_accepts, false_rejects
from explorer.analysis.headline import Headline, tar_rows
from explorer.analysis.rates import scores_subject_intervals
from explorer.analysis.scores import PairScores
from explorer.analysis.thresholds import PICK_BY, ThresholdResult, kfold_accuracy, pick_threshold
from explorer.analysis.verification import RocCurve
from explorer.data.protocol import PairProtocol, parse_lfw_pairs, parse_pairs_csv
from explorer.errors import InputError
from explorer.report import CardExtras, acquisition_of
from explorer.ui import state
from explorer.ui.memo import memo
from explorer.ui.safe import plain, plain_all
from explorer.workspace import Workspace, card_entry

MANUAL = "slider (manual)"
SLIDER = "th_slider"
PROTOCOL = "th_protocol_parsed"


# the page's choices and their first values; widgets read them from the session, not a default
KEPT = {
    "th_by": "EER",
    "th_far": 1e-3,
    "th_tar": 0.95,
    "th_cfa": 10.0,
    "th_cfr": 1.0,
    "th_ci": "wilson",
    "th_log": False,
}


def keep_choices() -> None:
    """Keep the page's choices while their widgets are not drawn (e.g. before a pairs file is
    uploaded): Streamlit drops the state of widgets that a run does not draw."""
    for key, first in KEPT.items():
        st.session_state[key] = st.session_state.get(key, first)
    for key in (SLIDER, "th_prior"):  # first values that depend on the data
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


RULE = "th_rule_now"  # (by, options) of the pick in this run


def rule(threshold: float) -> tuple[tuple, Callable[[RocCurve], float]]:
    """The pick's rule as a key, and as what picks a threshold on any curve (one set by hand: itself)."""
    by, opts = st.session_state.get(RULE, (MANUAL, ()))
    if by == MANUAL:
        return (MANUAL, float(threshold)), lambda curve: float(threshold)
    return (by, opts), lambda curve: pick_threshold(curve, by, **dict(opts))


def pick(curve: RocCurve) -> tuple[float, str]:
    """Pick-by choice and the slider, linked: a pick moves the slider; 'slider' lets you move it."""
    lo, hi = float(curve.thresholds[1]), float(curve.thresholds[-1])
    c1, c2, c3 = st.columns([2, 2, 3])
    by = c1.selectbox("Pick the threshold by", [MANUAL, *PICK_BY], key="th_by")
    opts: dict = {}
    how = "set by hand"
    if by == "target FAR":
        opts["target"] = c2.number_input("Target FAR", 1e-7, 1.0, format="%.1e", key="th_far")
    elif by == "target TAR":
        opts["target"] = c2.number_input("Target TAR", 0.0, 1.0, format="%.4f", key="th_tar")
    elif by == "min cost":
        opts["cost_fa"] = c2.number_input("Cost of a false accept", 0.0, 1e6, key="th_cfa")
        opts["cost_fr"] = c2.number_input("Cost of a false reject", 0.0, 1e6, key="th_cfr")
        share = curve.n_genuine / (curve.n_genuine + curve.n_impostor)
        st.session_state.setdefault("th_prior", float(round(share, 6)))
        opts["prior_genuine"] = c3.number_input(
            "Prior of genuine pairs",
            0.0,
            1.0,
            format="%.6f",
            key="th_prior",
            help="How often a real attempt is genuine; defaults to the share here",
        )
    st.session_state[RULE] = (by, tuple(opts.items()))
    if by != MANUAL:
        try:
            t = pick_threshold(curve, by, **opts)
        except ValueError as exc:
            st.error(str(exc))
            t = st.session_state.get(SLIDER, lo)
        # a target FAR is the card's FMR target, named there once; a target TAR reads "target TAR 0.95"
        how = by + (f" {opts['target']:g}" if by == "target TAR" else "")
        how += "".join(f", {k.replace('_', ' ')} {v:g}" for k, v in opts.items() if k != "target")
        if by == "target FAR" and opts["target"] * curve.n_impostor < 1:
            st.warning(
                f"With {curve.n_impostor:,} impostor pairs a FAR of {opts['target']:g} cannot be measured (it "
                "would allow less than one false accept): the threshold shown accepts no impostor pair; see "
                "the FAR interval for what that proves."
            )
        st.session_state[SLIDER] = min(max(t, lo), hi)
    elif not lo <= st.session_state.get(SLIDER, lo) <= hi:
        st.session_state[SLIDER] = min(max(st.session_state[SLIDER], lo), hi)
    if SLIDER not in st.session_state:
        st.session_state[SLIDER] = (lo + hi) / 2
    slid = st.slider(
        "Threshold: accept as the same identity when distance <= threshold",
        lo,
        hi,
        key=SLIDER,
        step=(hi - lo) / 2000,
        format="%.5f",
        disabled=by != MANUAL,
        help="Choose 'slider (manual)' above to move it by hand",
    )
    # a pick below every distance (accept nothing) is kept as it is; the slider can only show its end
    return (slid if by == MANUAL else t), how


def results(r: ThresholdResult, scores: PairScores) -> None:
    pct = lambda v: f"{100 * v:.4g}%"  # noqa: E731
    m = st.columns(6)
    m[0].metric(
        "Threshold",
        f"{r.threshold:.5g}" if np.isfinite(r.threshold) else "accept none",
        help="The nearest exact point at or below the slider",
    )
    m[1].metric("FAR", pct(r.far), help="Impostor pairs accepted / impostor pairs")
    m[2].metric("TAR", pct(r.tar), help="Genuine pairs accepted / genuine pairs")
    m[3].metric("FRR", pct(1 - r.tar))
    m[4].metric("Accuracy", pct(r.accuracy))
    m[5].metric("Precision", pct(r.precision))
    name = "Clopper-Pearson" if r.ci_method == "exact" else "Wilson"
    st.caption(
        f"95% {name} intervals: FAR {pct(r.far_ci[0])} to {pct(r.far_ci[1])}, TAR {pct(r.tar_ci[0])} to "
        f"{pct(r.tar_ci[1])}. Recall = TAR."
    )
    if scores.sampled:
        st.caption(
            f"FAR is estimated from {scores.n_impostor:,} impostor pairs sampled uniformly out of "
            f"{scores.n_impostor_total:,}; its interval is the sample's."
        )
    st.dataframe(
        pd.DataFrame(
            {"accepted (same)": [r.tp, r.fp], "rejected (different)": [r.fn, r.tn]},
            index=["genuine pairs", "impostor pairs"],
        ),
        key="th_confusion",
    )


def figures(curve: RocCurve, scores: PairScores, r: ThresholdResult, log_y: bool) -> None:
    far, frr = curve.far, 1.0 - curve.tar
    a, b, c = st.columns(3)
    a.plotly_chart(plots.roc_figure(far, curve.tar, point=(r.far, r.tar)), key="th_roc")
    b.plotly_chart(plots.det_figure(far, frr, point=(r.far, 1 - r.tar)), key="th_det")
    c.plotly_chart(
        plots.pair_histogram(
            scores.edges,
            scores.genuine_hist,
            scores.impostor_hist,
            metric=scores.metric,
            density=True,
            log_y=log_y,
            threshold=r.threshold,
        ),
        key="th_hist",
    )


def tar_table(head: Headline, curve: RocCurve) -> None:
    rows = tar_rows(head)
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="th_tar_table")
    if not all(head.tar_exact.values()):
        st.caption(
            "On the bin grid: the impostor pair that decides this FAR lies beyond the exact tail, inside a "
            "bin; the TAR lies between the two values shown (the grid points either side)."
        )
    if any(v is None for v in head.tar_at_far.values()):
        st.caption(
            f"Not measurable: with {curve.n_impostor:,} impostor pairs, that FAR would allow less than one "
            "false accept."
        )


def gallery(ws: Workspace, scores: PairScores, threshold: float) -> None:
    fa, fr = false_accepts(scores, threshold), false_rejects(scores, threshold)
    left, right = st.columns(2)
    with left:
        st.markdown("**False accepts**: the closest impostor pairs (different identities, accepted)")
        _pairs(ws, fa, "No impostor pair is accepted at this threshold.")
    with right:
        st.markdown("**False rejects**: the farthest genuine pairs (same identity, rejected)")
        _pairs(ws, fr, "No genuine pair is rejected at this threshold.")


def _pairs(ws: Workspace, pairs: list[Pair], empty: str) -> None:
    if not pairs:
        st.caption(empty)
        return
    ds = ws.dataset
    if ds.kind == "image" and ds.thumbnails:
        for p in pairs[:6]:
            st.image(
                [ds.thumbnails[p.a], ds.thumbnails[p.b]],
                width=88,
                caption=plain_all([f"{ds.ids[p.a]} ({ds.labels[p.a]})", f"{ds.ids[p.b]} ({ds.labels[p.b]})"]),
            )
            st.caption(f"distance {p.distance:.5g}")
    st.dataframe(
        pd.DataFrame(
            {
                "item a": ds.ids[[p.a for p in pairs]],
                "label a": ds.labels[[p.a for p in pairs]],
                "item b": ds.ids[[p.b for p in pairs]],
                "label b": ds.labels[[p.b for p in pairs]],
                "distance": [p.distance for p in pairs],
            }
        ),
        hide_index=True,
    )


def protocol_upload(ws: Workspace) -> tuple[PairProtocol | None, str]:
    """Upload and parse a pairs file once per upload; unknown ids and bad lines are listed."""
    up = st.file_uploader(
        "Pairs file: LFW pairs.txt, or a CSV with two item columns and a truth column (id_a, id_b, same; "
        "file_x, file_y, decision; optionally fold)",
        type=["txt", "csv"],
        key="th_pairs_file",
    )
    if up is None:
        st.session_state.pop(PROTOCOL, None)  # a file the widget no longer holds is let go
        st.info("Upload a pairs file to evaluate on a protocol instead of all pairs.")
        return None, ""
    cached = st.session_state.get(PROTOCOL)
    if cached is None or cached[0] != (up.file_id, ws.key):
        try:
            ids = ws.embeddings.ids
            proto = (
                parse_pairs_csv(up.getvalue(), ids)
                if up.name.lower().endswith(".csv")
                else parse_lfw_pairs(up.getvalue().decode("utf-8", errors="replace"), ids)
            )
        except InputError as exc:
            st.error(f"Cannot read {plain(up.name)}: {plain(exc)}")
            return None, ""
        cached = ((up.file_id, ws.key), proto)
        st.session_state[PROTOCOL] = cached
    proto = cached[1]
    if proto.score_columns:
        st.info(
            f"This file also holds scores of its own ({', '.join(plain_all(proto.score_columns))}): here its pairs are scored "
            "by the workspace model. The Compare page evaluates the file's scores as they are."
        )
    if proto.skipped:
        with st.expander(
            proto.skipped_text(),
            expanded=not len(proto.same),
        ):
            if proto.unknown_ids:
                st.write("Not in the workspace: " + ", ".join(plain_all(proto.unknown_ids[:50])))
            if proto.malformed:
                st.write("Malformed: " + "; ".join(plain_all(proto.malformed[:50])))
    if not len(proto.same):
        st.error("No pair of this file names two items of the workspace: nothing to evaluate.")
        return None, ""
    return proto, up.file_id


def kfold(proto: PairProtocol, distances: np.ndarray) -> None:
    ok = np.isfinite(distances)
    fold = proto.fold[ok]
    note = ""
    if len(np.unique(fold)) < 2:
        fold = np.random.default_rng(0).permutation(np.arange(ok.sum()) % 10)
        note = " (the file has no folds: pairs were split into 10 at random, seed 0)"
    try:
        res = kfold_accuracy(distances[ok], proto.same[ok], fold)
    except ValueError as exc:
        st.caption(f"k-fold accuracy: not possible, {plain(exc)}.")
        return
    st.markdown(
        f"**{res['folds']}-fold accuracy** (threshold of best accuracy on the other folds){note}: "
        f"{100 * res['accuracy_mean']:.2f}% +- {100 * res['accuracy_std']:.2f}%, threshold "
        f"{res['threshold_mean']:.5g} +- {res['threshold_std']:.2g}"
    )


PICKED = "th_picked"


def remember_pick(ws: Workspace, metric: str, r: ThresholdResult, how: str, pairs_from: str) -> None:
    """The threshold in force on this page, for the Identify page (the same model's descriptors)."""
    st.session_state[PICKED] = {
        "checkpoint": ws.embeddings.provenance["checkpoint_hash"],
        "metric": metric,
        "threshold": float(r.threshold),
        "far": float(r.far),
        "tar": float(r.tar),
        "how": how,
        "data": ws.dataset.name,
        "pairs": pairs_from,
    }


def picked() -> dict | None:
    return st.session_state.get(PICKED)


def protocol_shortfall(proto: PairProtocol, scores: PairScores) -> str:
    """Why a protocol file's pairs cannot make a curve: how many matched the workspace, of which kind."""
    missing = "impostor (different identity)" if not scores.n_impostor else "genuine (same identity)"
    return (
        f"{len(proto.same):,} of the file's pairs matched items of this workspace ({proto.skipped_text()}), "
        f"{scores.n_genuine:,} genuine and {scores.n_impostor:,} impostor: with no {missing} "
        "pair there is nothing to put a threshold between. Check that the file names this workspace's items."
    )


def card_extras(
    ws: Workspace,
    scores: PairScores,
    r: ThresholdResult,
    proto: PairProtocol | None,
    file_key: str,
    held_out=None,
    between=None,
) -> CardExtras:
    """What the card adds to the counts: the FMR target, intervals over subjects, failures to
    acquire (face chips) and which identities were evaluated."""
    by = st.session_state.get("th_by")
    listed = None if proto is None else (proto.index_a, proto.index_b)
    subj, why = memo(
        ws,
        "subject_intervals",
        (scores.metric, float(r.threshold), file_key),
        lambda: scores_subject_intervals(
            scores, ws.embeddings.labels, r.threshold, listed=listed, replicates=config.settings().bootstrap
        ),
    )
    whole = state.get_workspace()
    return CardExtras(
        fmr_target=float(st.session_state["th_far"]) if by == "target FAR" else None,
        subject_intervals=subj,
        subject_note=why,
        acquisition=acquisition_of(ws.dataset),
        evaluated=card_entry(whole, ws) if whole is not None else None,
        dev_eval=None if held_out is None else held_out.as_dict(),
        group_pairs=None if between is None else between.as_dict(),
    )
