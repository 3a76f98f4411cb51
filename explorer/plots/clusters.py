"""Clustering figures: the clusters x labels heatmap and the silhouette sweep."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from natsort import natsorted, ns

from explorer.plots.base import layout


def contingency_heatmap(table, *, max_rows: int = 60, max_cols: int = 60) -> go.Figure:
    """Items per (cluster, label) as a heatmap (the first max_rows x max_cols of a large table)."""
    t = table[natsorted(table.columns, key=str, alg=ns.IGNORECASE)]  # s2 before s10, as the map's legend
    t = t.iloc[:max_rows, :max_cols]
    t = t.iloc[np.argsort(t.to_numpy().argmax(axis=1), kind="stable")]  # clusters in the order of their main label
    fig = go.Figure(
        go.Heatmap(
            z=t.to_numpy(),
            x=[str(c) for c in t.columns],
            y=[f"cluster {r}" for r in t.index],
            colorscale="Blues",
            hovertemplate="%{y}, label %{x}: %{z} items<extra></extra>",
        )
    )
    layout(
        fig,
        "Clusters x labels",
        x="label",
        height=max(300, 22 * len(t) + 120),
        xaxis_type="category",
        yaxis_type="category",
    )
    return fig


def silhouette_sweep(ks, scores, *, suggested: int | None = None) -> go.Figure:
    fig = go.Figure(go.Scatter(x=list(ks), y=list(scores), mode="lines+markers", line=dict(color="#4c78a8")))
    if suggested is not None:
        fig.add_vline(x=suggested, line_dash="dash", annotation_text=f"k = {suggested}")
    layout(fig, "Silhouette by number of clusters", x="k", y="silhouette", height=320)
    return fig
