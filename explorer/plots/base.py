"""The house look of every chart: layout and the threshold marker."""

from __future__ import annotations

import plotly.graph_objects as go


def layout(fig: go.Figure, title: str, *, x: str | None = None, y: str | None = None, height: int, **more) -> None:
    """The house layout of a chart: title, axis titles, height and margins (and anything ``more``)."""
    axes = {k: v for k, v in (("xaxis_title", x), ("yaxis_title", y)) if v is not None}
    fig.update_layout(title=title, height=height, margin=dict(l=40, r=10, t=40, b=40), **axes, **more)


THRESHOLD_MARK = dict(size=11, color="#e45756", symbol="x")


def mark_threshold(fig: go.Figure, point: tuple[float, float]) -> None:
    """The chosen threshold's operating point on a curve."""
    fig.add_scatter(x=[point[0]], y=[point[1]], mode="markers", name="threshold", marker=THRESHOLD_MARK)
