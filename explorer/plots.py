"""Plotly figure builders: arrays in, figures out (no Streamlit)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def class_counts_bar(counts: dict[str, int], *, max_classes: int = 100) -> go.Figure:
    """Items per class in the order given (the first ``max_classes``)."""
    items = list(counts.items())[:max_classes]
    fig = go.Figure(go.Bar(x=[k for k, _ in items], y=[v for _, v in items], marker_color="#4c78a8"))
    fig.update_layout(title="Items per class", xaxis_title="class", yaxis_title="items",
                      xaxis_type="category", height=300, margin=dict(l=40, r=10, t=40, b=40))
    return fig


def norms_histogram(norms: np.ndarray, *, bins: int = 50) -> go.Figure:
    """Histogram of embedding L2 norms (all 1.0 for L2-normalised models)."""
    norms = np.round(np.asarray(norms, dtype=np.float64), 4)  # float noise around 1.0 is not a spread
    fig = go.Figure(go.Histogram(x=norms, nbinsx=bins, marker_color="#f58518"))
    if len(norms) and np.ptp(norms) < 1e-3:
        fig.update_xaxes(range=[float(norms.min()) - 0.05, float(norms.max()) + 0.05])
    fig.update_layout(title="Embedding norms (L2)", xaxis_title="norm", yaxis_title="items",
                      height=300, margin=dict(l=40, r=10, t=40, b=40))
    return fig
