"""The Threshold page's rates between groups: a file gives each identity its group; the FMR of
every pair of groups and each group's FNMR at the threshold (explorer/analysis/group_pairs.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer import config, plots
from explorer.analysis.group_pairs import GroupPairs, group_pairs_of_scores
from explorer.analysis.scores import PairScores
from explorer.card_sections import ratio_text
from explorer.data.group_map import read_group_map
from explorer.errors import InputError
from explorer.ui.memo import memo
from explorer.ui.safe import plain
from explorer.workspace import Workspace


def group_map(page: str = "th") -> tuple[str, dict[str, str]] | None:
    """(the upload's id, {identity: group}) of the groups file uploaded on this page (key prefix), or None."""
    kept = f"{page}_group_map"
    up = st.file_uploader(
        "Groups: a table with an identity column and a group column (CSV, TSV or Parquet)",
        type=["csv", "tsv", "txt", "parquet"],
        key=f"{page}_groups_file",
        help="e.g. identity,group: s1,A; s2,B. Identities the file does not name form the group '(no group)'.",
    )
    if up is None:
        st.session_state.pop(kept, None)
        return None
    cached = st.session_state.get(kept)
    if cached is None or cached[0] != up.file_id:
        try:
            cached = (up.file_id, read_group_map(up.getvalue(), up.name, max_rows=config.settings().max_score_rows))
        except InputError as exc:
            st.error(f"Cannot read {plain(up.name)}: {plain(exc)}")
            return None
        st.session_state[kept] = cached
    return cached


def between_groups(ws: Workspace, scores: PairScores, threshold: float, listed, key: str) -> GroupPairs | None:
    """listed: the (a, b) items of a protocol's pairs, else None (every pair); key: the pairs' memo key."""
    got_map = group_map()
    if got_map is None:
        st.caption("Upload which group each identity belongs to, to see false matches between groups.")
        return None
    file_id, mapping = got_map
    labels = ws.embeddings.labels
    known = pd.Series(labels).astype(str).isin(mapping).mean()
    got = memo(
        ws,
        "group_pairs",
        (scores.metric, float(threshold), file_id, key),
        lambda: group_pairs_of_scores(scores, labels, mapping, threshold, listed=listed),
    )
    if isinstance(got, str):
        st.info(f"Rates between groups: not counted ({plain(got)}).")
        return None
    if known < 1:
        st.caption(f"{100 * (1 - known):.1f}% of the items' identities are not in the file: they form '(no group)'.")
    st.plotly_chart(plots.group_fmr_heatmap(got.groups, got.fmr), key="th_group_heatmap")
    d = got.as_dict()
    st.markdown(
        f"max / min across groups (own impostors): FMR **{ratio_text(d['fmr_max_min_ratio'])}**; FNMR "
        f"**{ratio_text(d['fnmr_max_min_ratio'])}** (95% intervals over subjects)."
    )
    rate = lambda v: "not measurable" if v is None else f"{100 * v:.4g}%"  # noqa: E731
    span = lambda v: "" if v is None else f"{100 * v[0]:.3g}% to {100 * v[1]:.3g}%"  # noqa: E731
    st.dataframe(
        pd.DataFrame(
            {
                "groups": [f"{c['a']} with {c['b']}" for c in d["cells"]],
                "impostor pairs": [c["non_mated"] for c in d["cells"]],
                "false matches": [c["false_matches"] for c in d["cells"]],
                "FMR": [rate(c["fmr"]) for c in d["cells"]],
                "95% over subjects": [span(c["fmr_interval"]) for c in d["cells"]],
            }
        ),
        hide_index=True,
        key="th_group_cells",
    )
    st.dataframe(
        pd.DataFrame(
            {
                "group": [g["group"] for g in d["fnmr"]],
                "genuine pairs": [g["mated"] for g in d["fnmr"]],
                "false non-matches": [g["false_non_matches"] for g in d["fnmr"]],
                "FNMR": [rate(g["fnmr"]) for g in d["fnmr"]],
                "95% over subjects": [span(g["fnmr_interval"]) for g in d["fnmr"]],
            }
        ),
        hide_index=True,
        key="th_group_fnmr",
    )
    st.caption(d["note"][0].upper() + d["note"][1:] + ".")
    return got
