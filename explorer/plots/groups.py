"""False matches between groups: the FMR of every pair of groups as a heatmap (log colour)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.plots.base import layout


def group_fmr_heatmap(groups: list[str], fmr: np.ndarray) -> go.Figure:
    """Cells coloured by log10 FMR (not measurable: blank), each cell's FMR written on it."""
    with np.errstate(divide="ignore"):
        z = np.where(fmr > 0, np.log10(np.where(fmr > 0, fmr, 1)), np.nan)
    finite = z[np.isfinite(z)]
    floor = (finite.min() - 0.5) if finite.size else -6.0
    z = np.where(np.isnan(fmr), np.nan, np.where(fmr > 0, z, floor))  # an FMR of 0 at the scale's foot
    text = [["not measurable" if np.isnan(v) else f"{v:.2e}" for v in row] for row in fmr]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=groups,
            y=groups,
            text=text,
            texttemplate="%{text}",
            colorscale="Reds",
            colorbar=dict(title="log10 FMR"),
            hovertemplate="%{y} with %{x}: FMR %{text}<extra></extra>",
        )
    )
    layout(fig, "FMR between groups at this threshold", x="group", y="group", height=120 + 40 * len(groups))
    fig.update_yaxes(autorange="reversed")
    return fig
