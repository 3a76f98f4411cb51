"""Tables shown with headers in plain words: the library's column names (``mean_distance``,
``map_at_r``) stay in the data and its downloads; the page shows what they mean."""

from __future__ import annotations

import pandas as pd
import streamlit as st

HEADERS = {
    "mean_distance": "mean distance",
    "centroid_distance": "distance between centroids",
    "class_a": "class",
    "class_b": "closest class",
    "precision_at_1": "Precision@1",
    "r_precision": "R-Precision",
    "map_at_r": "MAP@R",
    "robust_z": "robust z",
    "neighbour_label": "neighbours' label",
    "support": "neighbours agreeing",
    "items": "items",
    "queries": "items queried",
}


def table(frame: pd.DataFrame, *, where=st, **kw) -> None:
    """``st.dataframe`` with readable headers for the columns the library names."""
    config = {c: st.column_config.Column(HEADERS[c]) for c in frame.columns if c in HEADERS}
    where.dataframe(frame, hide_index=True, column_config=config, **kw)
