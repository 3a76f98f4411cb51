"""The Threshold page's proof on held-out people: the threshold's rule run on half the identities
and counted on the other half (explorer/analysis/dev_eval.py), on demand: it costs about half an
all-pairs pass a split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer.analysis.dev_eval import PARTITIONS, DevEval, Pick, dev_eval_all_pairs, dev_eval_listed
from explorer.analysis.pairs import configured_pairs
from explorer.analysis.thresholds import ThresholdResult
from explorer.ui.memo import memo, memo_get
from explorer.ui.pairs import usable
from explorer.ui.safe import plain
from explorer.workspace import Workspace


def held_out(
    ws: Workspace, metric: str, rule: tuple, pick: Pick, r: ThresholdResult, listed: tuple | None
) -> DevEval | None:
    """``rule``: what picks the threshold (a memo key); ``listed``: (protocol, distances) or None
    (every pair of the workspace)."""
    c1, c2 = st.columns([3, 1])
    partitions = int(c2.number_input("Random splits", 1, 10, PARTITIONS, key="th_splits"))
    key = (metric, rule, partitions, None if listed is None else listed[2])
    got = memo_get(ws, "dev_eval", key)
    if got is None:
        c1.caption(
            "Is this threshold as good on people it was not picked on? Split the identities in halves, pick "
            "the threshold by the same rule on one half and count its rates on the other."
        )
        if not c1.button("Prove the threshold on held-out people", key="th_dev_eval"):
            return None
        bar = st.progress(0.0, text="held-out people: splitting the identities ...")
        try:
            got = memo(ws, "dev_eval", key, lambda: _compute(ws, metric, pick, partitions, listed, bar))
        except ValueError as exc:
            st.warning(f"Not possible here: {plain(exc)}.")
            return None
        finally:
            bar.empty()
    show(got, r)
    return got


def _compute(ws: Workspace, metric: str, pick: Pick, partitions: int, listed, bar) -> DevEval:
    if listed is None:
        u = usable(ws)
        return dev_eval_all_pairs(
            u.vectors,
            u.labels,
            lambda v, lab: configured_pairs(v, lab, metric=metric),
            pick,
            partitions=partitions,
            progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
        )
    proto, d, _ = listed
    labels = ws.embeddings.labels
    return dev_eval_listed(d, proto.same, (labels[proto.index_a], labels[proto.index_b]), pick, partitions=partitions)


def show(got: DevEval, r: ThresholdResult) -> None:
    s = got.as_dict()
    m = st.columns(3)
    fmr, fnmr = s["eval_fmr"], s["eval_fnmr"]
    m[0].metric(
        "FMR on held-out people", f"{100 * fmr['mean']:.4g}%", help=f"sd {100 * fmr['sd']:.3g}% over the estimates"
    )
    m[1].metric("FNMR on held-out people", f"{100 * fnmr['mean']:.4g}%", help=f"sd {100 * fnmr['sd']:.3g}%")
    m[2].metric("Cllr on held-out people", f"{s['eval_cllr_bits']['mean']:.4f} bits", help="logistic fitted on dev")
    st.caption(
        f"Mean of {s['estimates']} estimates ({got.identities:,} identities, halves drawn at random); in-sample "
        f"(picked and counted on every pair): FMR {100 * r.far:.4g}%, FNMR {100 * (1 - r.tar):.4g}%."
        + (f" Skipped: {plain('; '.join(got.skipped))}." if got.skipped else "")
    )
    st.dataframe(
        pd.DataFrame(
            {
                "split": [x.split + 1 for x in got.rows],
                "picked on": [x.dev for x in got.rows],
                "threshold": [f"{x.threshold:.5g}" for x in got.rows],
                "FMR dev": [x.dev_fmr for x in got.rows],
                "FMR eval": [x.eval_fmr for x in got.rows],
                "FNMR dev": [x.dev_fnmr for x in got.rows],
                "FNMR eval": [x.eval_fnmr for x in got.rows],
                "eval pairs": [f"{x.eval_mated:,} mated, {x.eval_non_mated:,} non-mated" for x in got.rows],
                "Cllr eval": np.round([x.eval_cllr for x in got.rows], 4),
            }
        ),
        hide_index=True,
        key="th_dev_eval_table",
    )
