"""Retrieval figures: MAP@R per class, worst first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from explorer.plots.base import layout


def per_class_bar(
    per_class: pd.DataFrame, *, column: str = "map_at_r", name: str = "MAP@R", most: int = 60
) -> go.Figure:
    """One bar per class (the ``most`` worst where there are more), worst at the top."""
    t = per_class.dropna(subset=[column]).sort_values(column, kind="stable").head(most)
    fig = go.Figure(
        go.Bar(
            x=t[column].to_numpy(np.float64),
            y=t["class"].astype(str).to_numpy(),
            orientation="h",
            marker_color="#4c78a8",
            customdata=t["items"].to_numpy(),
            hovertemplate="%{y}: " + name + " %{x:.4f} (%{customdata} items)<extra></extra>",
        )
    )
    shown = (
        f"the {len(t)} worst of {per_class[column].notna().sum()} classes"
        if len(t) < per_class[column].notna().sum()
        else "per class"
    )
    layout(
        fig,
        f"{name}, {shown}",
        x=name,
        height=max(300, 18 * len(t) + 100),
        xaxis_range=[0, 1],
        yaxis_type="category",
        yaxis_autorange="reversed",
    )
    return fig
