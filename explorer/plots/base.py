"""The house look of every chart: layout and the threshold marker."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def layout(fig: go.Figure, title: str, *, x: str | None = None, y: str | None = None, height: int, **more) -> None:
    """The house layout of a chart: title, axis titles, height and margins (and anything ``more``);
    log axes read as powers of ten ("1e-4", never "100μ")."""
    axes = {k: v for k, v in (("xaxis_title", x), ("yaxis_title", y)) if v is not None}
    # the title sits in the middle of the top margin's lower part: the toolbar (top right, shown on
    # hover or tap) keeps the upper part, so on a phone it does not cover the title, and a
    # threshold's label fits between the title and the plot
    fig.update_layout(
        title=dict(text=title, yref="paper", y=1, yanchor="bottom", pad=dict(b=22)),
        height=height + 24,
        margin=dict(l=40, r=10, t=72, b=40),
        **axes,
        **more,
    )
    log_axes(fig)


def log_axes(fig: go.Figure) -> None:
    """Every log axis: e-notation labels; one label a decade where the data span two or more
    decades (no crowded 2 / 5 labels between them)."""
    for name in ("x", "y"):
        axis = getattr(fig.layout, f"{name}axis")
        if axis.type != "log":
            continue
        parts = [
            np.asarray(getattr(t, name), np.float64).ravel() for t in fig.data if getattr(t, name, None) is not None
        ]
        values = np.concatenate([v[v > 0] for v in parts] + [np.empty(0)])
        wide = bool(values.size) and np.log10(values.max()) - np.log10(values.min()) >= 2
        axis.update(exponentformat="e", showexponent="all", **({"dtick": 1} if wide else {}))


THRESHOLD_MARK = dict(size=11, color="#e45756", symbol="x")


def mark_threshold(fig: go.Figure, point: tuple[float, float]) -> None:
    """The chosen threshold's operating point on a curve."""
    fig.add_scatter(x=[point[0]], y=[point[1]], mode="markers", name="threshold", marker=THRESHOLD_MARK)
