"""The tail fit's diagnostic: a QQ plot of the impostor tail's excesses against the fitted GPD."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.plots.base import layout


def tail_qq(model: np.ndarray, seen: np.ndarray, *, log: bool = False) -> go.Figure:
    """Observed excesses against the fitted quantiles: on the diagonal where the model holds; at
    most 2,000 points, evenly spread in rank."""
    keep = np.unique(np.linspace(0, len(seen) - 1, min(len(seen), 2000)).astype(int))
    top = float(max(model[keep].max(), seen[keep].max())) if len(keep) else 1.0
    fig = go.Figure(
        [
            go.Scatter(x=[0, top], y=[0, top], mode="lines", line=dict(color="#999", dash="dot"), name="model = data"),
            go.Scatter(x=model[keep], y=seen[keep], mode="markers", marker=dict(size=5), name="impostor tail"),
        ]
    )
    layout(
        fig,
        "Tail fit: QQ plot of the excesses",
        x=f"fitted GPD quantile ({'log distance' if log else 'distance'})",
        y=f"observed ({'log distance' if log else 'distance'})",
        height=340,
        showlegend=False,
    )
    return fig
