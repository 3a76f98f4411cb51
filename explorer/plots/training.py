"""Live training figures: smoothed loss curves and validation curves."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

CURVE_POINTS = 1000  # points per training curve: the live view redraws every second


def smoothed_curve(
    step: np.ndarray, value: np.ndarray, *, window: int = 10, points: int = CURVE_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """A moving average of ``value`` over ``window`` steps (wider on a long run, so that no step is
    skipped unseen) read at most ``points`` times: (steps, values)."""
    n = len(value)
    if n == 0:
        return step[:0], value[:0].astype(np.float64)
    stride = -(-n // points)  # ceil
    k = min(max(window, stride), n)
    v = np.convolve(np.nan_to_num(np.asarray(value, np.float64)), np.ones(k) / k, mode="valid")
    x = np.asarray(step)[k - 1 :]
    keep = np.arange(len(v) - 1, -1, -stride)[::-1]  # the last step always shown
    return x[keep], v[keep]


# two charts side by side with titles: the top margin leaves a row above the subplot titles for
# plotly's toolbar, which otherwise covers the right-hand title whenever the pointer is on the figure
CURVES_LAYOUT = dict(height=340, margin=dict(l=10, r=10, t=56, b=10), legend=dict(orientation="h", y=-0.3))


def training_curves(steps: list[dict], *, refreshes: list[int] | None = None) -> go.Figure:
    """Loss and active-triplet fraction per step (moving averages, at most ``CURVE_POINTS`` each),
    index rebuilds as dotted lines on the loss chart (one trace: plotly's add_vline per rebuild
    took seconds per redraw once there were tens of them)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "active triplets / hardest positive vs negative"))
    loss = None
    if steps:
        s = np.array([r["step"] for r in steps])
        for key, col, name in (
            ("loss", 1, "loss"),
            ("active", 2, "active fraction"),
            ("d_ap", 2, "anchor-positive"),
            ("d_an", 2, "anchor-negative"),
        ):
            x, v = smoothed_curve(s, np.array([r.get(key, np.nan) for r in steps], np.float64))
            fig.add_trace(go.Scatter(x=x, y=v, mode="lines", name=name), row=1, col=col)
            if key == "loss":
                loss = v
    if refreshes and loss is not None and len(loss):
        lo, hi = float(np.min(loss)), float(np.max(loss))
        xs = np.repeat(np.asarray(refreshes, np.float64), 3)
        ys = np.tile([lo, hi, np.nan], len(refreshes))
        xs[2::3] = np.nan
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="index rebuilt",
                connectgaps=False,
                line=dict(color="#bbb", dash="dot", width=1),
            ),
            row=1,
            col=1,
        )
    fig.update_layout(**CURVES_LAYOUT)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="loss (moving average)", row=1, col=1)
    fig.update_yaxes(title_text="fraction / distance", row=1, col=2)
    return fig


def validation_curves(rows: list[dict]) -> go.Figure:
    """Open-set validation per step: P@1, MAP@R, ROC AUC, 1 - EER; genuine and impostor distance."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("held-out identities", "mean distance"))
    s = [r["step"] for r in rows]
    for key, name in (("p_at_1", "P@1"), ("map_at_r", "MAP@R"), ("auc", "ROC AUC"), ("accuracy", "10-fold accuracy")):
        fig.add_trace(go.Scatter(x=s, y=[r[key] for r in rows], mode="lines+markers", name=name), row=1, col=1)
    for key, name in (("genuine", "genuine"), ("impostor", "impostor"), ("gap", "gap")):
        fig.add_trace(go.Scatter(x=s, y=[r[key] for r in rows], mode="lines+markers", name=name), row=1, col=2)
    fig.update_layout(**CURVES_LAYOUT)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="score (1 = perfect)", row=1, col=1)
    fig.update_yaxes(title_text="mean distance", row=1, col=2)
    return fig
