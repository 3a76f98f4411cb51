"""Figures of a dataset summary: items per class, embedding norms."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.plots.base import layout


def class_counts_bar(counts: dict[str, int], *, max_classes: int = 100) -> go.Figure:
    """Items per class in the order given (the first ``max_classes``)."""
    items = list(counts.items())[:max_classes]
    fig = go.Figure(go.Bar(x=[k for k, _ in items], y=[v for _, v in items], marker_color="#4c78a8"))
    layout(fig, "Items per class", x="class", y="items", height=300, xaxis_type="category")
    return fig


def norms_histogram(norms: np.ndarray, *, bins: int = 50) -> go.Figure:
    """Histogram of embedding L2 norms (all 1.0 for L2-normalised models)."""
    norms = np.round(np.asarray(norms, dtype=np.float64), 4)  # float noise around 1.0 is not a spread
    fig = go.Figure(go.Histogram(x=norms, nbinsx=bins, marker_color="#f58518"))
    if len(norms) and np.ptp(norms) < 1e-3:
        fig.update_xaxes(range=[float(norms.min()) - 0.05, float(norms.max()) + 0.05])
    layout(fig, "Embedding norms (L2)", x="norm", y="items", height=300)
    return fig
