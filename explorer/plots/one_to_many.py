"""1:N figures beyond the DET: the CMC, and FNIR against the gallery size with its fit."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.plots.base import layout


def cmc_curve(curves: dict[str, np.ndarray]) -> go.Figure:
    """Identification rate at rank r (r = 1 .. len), one line per name (e.g. per template size)."""
    fig = go.Figure(
        [
            go.Scatter(x=np.arange(1, len(c) + 1), y=c, mode="lines+markers", name=name, marker=dict(size=4))
            for name, c in curves.items()
        ]
    )
    layout(
        fig,
        "CMC: the mate among the first r candidates",
        x="rank r",
        y="identification rate",
        height=320,
        legend=dict(orientation="h", yanchor="top", y=-0.25),  # below the plot: a phone keeps its width
    )
    return fig


def size_curve(sizes: np.ndarray, fnir: np.ndarray, spread: np.ndarray, fit, to: int | None) -> go.Figure:
    """Measured rank-1 FNIR at each gallery size (with its spread) and the fitted a N^b out to ``to``."""
    fig = go.Figure(
        go.Scatter(
            x=sizes,
            y=fnir,
            error_y=dict(type="data", array=spread),
            mode="markers",
            name="measured",
            marker=dict(size=7),
        )
    )
    if fit is not None:
        a, b = fit
        n = np.geomspace(sizes.min(), max(int(sizes.max()), to or 0), 60)
        fig.add_trace(
            go.Scatter(
                x=n, y=np.minimum(a * n**b, 1.0), mode="lines", name=f"fit {a:.3g} N^{b:.2f}", line=dict(dash="dot")
            )
        )
    layout(
        fig,
        "Rank-1 misses as the gallery grows",
        x="gallery size N (identities enrolled)",
        y="FNIR (rank 1)",
        height=320,
    )
    fig.update_xaxes(type="log")
    fig.update_yaxes(range=[0, max(0.05, 1.2 * float(np.max(fnir + spread)))])
    return fig
