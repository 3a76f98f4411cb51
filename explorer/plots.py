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


def pair_histogram(edges: np.ndarray, genuine: np.ndarray, impostor: np.ndarray, *, metric: str,
                   density: bool = False, log_y: bool = False, mark: float | None = None,
                   max_bars: int = 200) -> go.Figure:
    """Overlaid genuine / impostor distance histograms (fine bins merged by powers of two)."""
    factor = 1  # merge neighbouring fine bins in powers of two, so the edges stay exact
    while len(genuine) // factor > max_bars and len(genuine) % (2 * factor) == 0:
        factor *= 2
    g = np.asarray(genuine, np.float64).reshape(-1, factor).sum(1)
    i = np.asarray(impostor, np.float64).reshape(-1, factor).sum(1)
    e = np.asarray(edges)[::factor]
    width = np.diff(e)
    if density:
        g = g / max(g.sum(), 1) / width
        i = i / max(i.sum(), 1) / width
    centers = (e[:-1] + e[1:]) / 2
    fig = go.Figure()
    fig.add_bar(x=centers, y=g, width=width, name="genuine (same label)", marker_color="#54a24b", opacity=0.6)
    fig.add_bar(x=centers, y=i, width=width, name="impostor (different label)", marker_color="#e45756", opacity=0.6)
    if mark is not None:
        fig.add_vline(x=mark, line_dash="dash", annotation_text=f"{mark:g}")
    fig.update_layout(barmode="overlay", xaxis_title=f"{metric} distance", yaxis_title="density" if density else "pairs",
                      yaxis_type="log" if log_y else "linear", height=380, margin=dict(l=40, r=10, t=30, b=40),
                      legend=dict(orientation="h", y=1.1))
    return fig
