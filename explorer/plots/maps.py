"""The projection map: a 2D / 3D scatter coloured by category or value."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

PALETTE = [
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#bab0ac",
    "#1f77b4",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
]


def scatter_map(
    coords: np.ndarray, values: np.ndarray, *, kind: str, name: str, hover: np.ndarray, max_categories: int = 40
) -> go.Figure:
    """A 2D (WebGL) or 3D scatter of ``coords`` coloured by ``values``.

    kind "category": one trace per value (a legend; beyond ``max_categories`` values one trace
    coloured by code); "continuous": a colour scale. Each point's customdata is its row, so a
    selection maps back to items.
    """
    coords = np.asarray(coords, np.float32)
    three = coords.shape[1] == 3
    rows = np.arange(len(coords))
    marker = dict(size=3 if three else 5, opacity=0.8)

    def trace(mask, **kw):
        axes = dict(x=coords[mask, 0], y=coords[mask, 1])
        if three:
            return go.Scatter3d(
                **axes,
                z=coords[mask, 2],
                mode="markers",
                customdata=rows[mask],
                text=hover[mask],
                hovertemplate="%{text}<extra></extra>",
                **kw,
            )
        return go.Scattergl(
            **axes,
            mode="markers",
            customdata=rows[mask],
            text=hover[mask],
            hovertemplate="%{text}<extra></extra>",
            **kw,
        )

    fig = go.Figure()
    cats = np.unique(values) if kind == "category" else []
    if kind == "category" and len(cats) <= max_categories:
        for j, c in enumerate(cats):
            fig.add_trace(trace(values == c, name=str(c), marker=dict(marker, color=PALETTE[j % len(PALETTE)])))
    else:
        code = np.unique(values, return_inverse=True)[1] if kind == "category" else np.asarray(values, np.float64)
        fig.add_trace(
            trace(
                np.ones(len(coords), bool),
                name=name,
                showlegend=False,
                marker=dict(
                    marker,
                    color=code,
                    colorscale="Viridis" if kind != "category" else "Turbo",
                    showscale=kind != "category",
                    colorbar=dict(title=name),
                ),
            )
        )
    fig.update_layout(
        height=620,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(itemsizing="constant"),
        dragmode="select" if not three else "orbit",
        title=f"coloured by {name}",
    )
    return fig
