"""Plotly figure builders: arrays in, figures out (no Streamlit)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def layout(fig: go.Figure, title: str, *, x: str | None = None, y: str | None = None, height: int, **more) -> None:
    """The house layout of a chart: title, axis titles, height and margins (and anything ``more``)."""
    axes = {k: v for k, v in (("xaxis_title", x), ("yaxis_title", y)) if v is not None}
    fig.update_layout(title=title, height=height, margin=dict(l=40, r=10, t=40, b=40), **axes, **more)


THRESHOLD_MARK = dict(size=11, color="#e45756", symbol="x")


def mark_threshold(fig: go.Figure, point: tuple[float, float]) -> None:
    """The chosen threshold's operating point on a curve."""
    fig.add_scatter(x=[point[0]], y=[point[1]], mode="markers", name="threshold", marker=THRESHOLD_MARK)


def class_counts_bar(counts: dict[str, int], *, max_classes: int = 100) -> go.Figure:
    """Items per class in the order given (the first ``max_classes``)."""
    items = list(counts.items())[:max_classes]
    fig = go.Figure(go.Bar(x=[k for k, _ in items], y=[v for _, v in items], marker_color="#4c78a8"))
    layout(fig, "Items per class", x="class", y="items", height=300, xaxis_type="category")
    return fig


def norms_histogram(norms: np.ndarray, *, bins: int = 50) -> go.Figure:
    """Histogram of embedding L2 norms (all 1.0 for L2-normalised models)."""
    norms = np.round(np.asarray(norms, dtype=np.float64), 4)  # float noise around 1.0 is not a spread
    fig = go.Figure(go.Histogram(x=norms, nbinsx=bins, marker_color="#f58518"))
    if len(norms) and np.ptp(norms) < 1e-3:
        fig.update_xaxes(range=[float(norms.min()) - 0.05, float(norms.max()) + 0.05])
    layout(fig, "Embedding norms (L2)", x="norm", y="items", height=300)
    return fig


def pair_histogram(
    edges: np.ndarray,
    genuine: np.ndarray,
    impostor: np.ndarray,
    *,
    metric: str,
    density: bool = False,
    log_y: bool = False,
    mark: float | None = None,
    max_bars: int = 200,
    threshold: float | None = None,
) -> go.Figure:
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
    used = np.flatnonzero((g + i) > 0)
    fig = go.Figure()
    if len(used):  # the edges run to a bound on the distance; show up to the last occupied bin
        top = max([float(e[used[-1] + 1])] + [v * 1.02 for v in (mark, threshold) if v is not None and np.isfinite(v)])
        fig.update_xaxes(range=[float(e[0]), top])
    fig.add_bar(x=centers, y=g, width=width, name="genuine (same label)", marker_color="#54a24b", opacity=0.6)
    fig.add_bar(x=centers, y=i, width=width, name="impostor (different label)", marker_color="#e45756", opacity=0.6)
    if mark is not None:
        fig.add_vline(x=mark, line_dash="dash", annotation_text=f"{mark:g}")
    if threshold is not None:
        fig.add_vline(
            x=threshold,
            line_color="#333",
            annotation_text=f"threshold {threshold:.4g}",
            annotation_position="bottom right",
        )
    layout(
        fig,
        "Genuine and impostor distances",
        x=f"{metric} distance",
        y="density" if density else "pairs",
        height=400,
        barmode="overlay",
        yaxis_type="log" if log_y else "linear",
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def curve_points(far: np.ndarray, tar: np.ndarray, *, n: int = 1500) -> np.ndarray:
    """Indices of at most ~2n curve points for drawing: even in index and in log FAR, ends kept."""
    m = len(far)
    if m <= 2 * n:
        return np.arange(m)
    positive = far[far > 0]
    lo = np.log10(positive.min()) if len(positive) else 0.0
    by_far = np.searchsorted(far, np.logspace(lo, 0, n), side="right") - 1
    return np.unique(np.clip(np.r_[np.linspace(0, m - 1, n).astype(int), by_far, 0, m - 1], 0, m - 1))


def roc_figure(
    far: np.ndarray, tar: np.ndarray, *, point: tuple[float, float] | None = None, log_x: bool = True
) -> go.Figure:
    """TAR against FAR; a marker at the chosen threshold. Log FAR leaves out FAR = 0."""
    k = curve_points(far, tar)
    f, t = far[k], tar[k]
    if log_x:
        f, t = f[f > 0], t[f > 0]
    fig = go.Figure(go.Scattergl(x=f, y=t, mode="lines", name="ROC", line=dict(color="#4c78a8")))
    if point is not None and (point[0] > 0 or not log_x):
        mark_threshold(fig, point)
    low = float(t.min()) if len(t) else 0.0
    fig.update_yaxes(range=[max(0.0, low - 0.02), 1.005])
    layout(
        fig,
        "ROC",
        x="FAR (false accept rate)",
        y="TAR (true accept rate)",
        height=360,
        xaxis_type="log" if log_x else "linear",
        showlegend=False,
    )
    return fig


def det_figure(far: np.ndarray, frr: np.ndarray, *, point: tuple[float, float] | None = None) -> go.Figure:
    """DET: FRR against FAR, both on log axes (points where either is 0 cannot be drawn)."""
    k = curve_points(far, 1 - frr)
    f, r = far[k], frr[k]
    ok = (f > 0) & (r > 0)
    fig = go.Figure(go.Scattergl(x=f[ok], y=r[ok], mode="lines", name="DET", line=dict(color="#72b7b2")))
    if point is not None and point[0] > 0 and point[1] > 0:
        mark_threshold(fig, point)
    if not ok.any():
        fig.add_annotation(
            text="no point with both FAR > 0 and FRR > 0:<br>genuine and impostor pairs do not overlap",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
        fig.update_xaxes(range=[-6, 0])
        fig.update_yaxes(range=[-6, 0])
    layout(
        fig,
        "DET",
        x="FAR (false accept rate)",
        y="FRR (false reject rate)",
        height=360,
        xaxis_type="log",
        yaxis_type="log",
        showlegend=False,
    )
    return fig


def identification_det(fpir: np.ndarray, fnir: np.ndarray, *, gallery_size: int) -> go.Figure:
    """The 1:N DET: FNIR against FPIR over thresholds (log FPIR; points at FPIR = 0 are left out)."""
    ok = fpir > 0
    fig = go.Figure(go.Scatter(x=fpir[ok], y=fnir[ok], mode="lines", line=dict(color="#72b7b2", shape="hv")))
    layout(fig, f"1:N DET (N = {gallery_size:,} enrolled)", x="FPIR (unknown probes returned)", y="FNIR", height=340)
    fig.update_xaxes(type="log")
    return fig


def contingency_heatmap(table, *, max_rows: int = 60, max_cols: int = 60) -> go.Figure:
    """Items per (cluster, label) as a heatmap (the first max_rows x max_cols of a large table)."""
    t = table.iloc[:max_rows, :max_cols]
    t = t.iloc[np.argsort(t.to_numpy().argmax(axis=1), kind="stable")]  # clusters in the order of their main label
    fig = go.Figure(
        go.Heatmap(
            z=t.to_numpy(),
            x=[str(c) for c in t.columns],
            y=[f"cluster {r}" for r in t.index],
            colorscale="Blues",
            hovertemplate="%{y}, label %{x}: %{z} items<extra></extra>",
        )
    )
    layout(
        fig,
        "Clusters x labels",
        x="label",
        height=max(300, 22 * len(t) + 120),
        xaxis_type="category",
        yaxis_type="category",
    )
    return fig


def silhouette_sweep(ks, scores, *, suggested: int | None = None) -> go.Figure:
    fig = go.Figure(go.Scatter(x=list(ks), y=list(scores), mode="lines+markers", line=dict(color="#4c78a8")))
    if suggested is not None:
        fig.add_vline(x=suggested, line_dash="dash", annotation_text=f"k = {suggested}")
    layout(fig, "Silhouette by number of clusters", x="k", y="silhouette", height=320)
    return fig


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
CURVES_LAYOUT = dict(height=320, margin=dict(l=10, r=10, t=56, b=10), legend=dict(orientation="h"))


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
    return fig


SYSTEM_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#9d755d", "#bab0ac")


def roc_overlay(curves: dict[str, tuple[np.ndarray, np.ndarray]], points: dict | None = None) -> go.Figure:
    """Several systems' ROC (name -> (FAR, TAR)) on one pair of axes, log FAR; a marker per
    system at its threshold (points: name -> (FAR, TAR))."""
    fig = go.Figure()
    for k, (name, (far, tar)) in enumerate(curves.items()):
        idx = curve_points(far, tar)
        f, t = far[idx], tar[idx]
        colour = SYSTEM_COLOURS[k % len(SYSTEM_COLOURS)]
        fig.add_scatter(x=f[f > 0], y=t[f > 0], mode="lines", name=name, line=dict(color=colour))
        if points and name in points and points[name][0] > 0:
            fig.add_scatter(
                x=[points[name][0]], y=[points[name][1]], mode="markers", showlegend=False,
                marker=dict(THRESHOLD_MARK, color=colour),
            )  # fmt: skip
    layout(fig, "ROC", x="FMR (false match rate)", y="1 - FNMR", height=380, xaxis_type="log")
    return fig


def det_overlay(curves: dict[str, tuple[np.ndarray, np.ndarray]], points: dict | None = None) -> go.Figure:
    """Several systems' DET (name -> (FMR, FNMR)), both axes log; a marker per system."""
    fig = go.Figure()
    for k, (name, (far, frr)) in enumerate(curves.items()):
        idx = curve_points(far, 1 - frr)
        f, r = far[idx], frr[idx]
        ok = (f > 0) & (r > 0)
        colour = SYSTEM_COLOURS[k % len(SYSTEM_COLOURS)]
        fig.add_scatter(x=f[ok], y=r[ok], mode="lines", name=name, line=dict(color=colour))
        if points and name in points and min(points[name]) > 0:
            fig.add_scatter(
                x=[points[name][0]], y=[points[name][1]], mode="markers", showlegend=False,
                marker=dict(THRESHOLD_MARK, color=colour),
            )  # fmt: skip
    layout(
        fig, "DET", x="FMR (false match rate)", y="FNMR (false non-match rate)", height=380,
        xaxis_type="log", yaxis_type="log",
    )  # fmt: skip
    return fig


def score_histograms(
    scores: dict[str, tuple[np.ndarray, np.ndarray]], *, unit: str, thresholds: dict[str, float] | None = None
) -> go.Figure:
    """Mated / non-mated score histograms of each system (name -> (mated, non-mated) in the
    score's own units), one row each, densities; a line at each system's threshold."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=len(scores), cols=1, subplot_titles=list(scores), vertical_spacing=0.12)
    for k, (name, (mated, non_mated)) in enumerate(scores.items(), 1):
        both = np.r_[mated, non_mated]
        edges = np.histogram_bin_edges(both, bins=min(80, max(10, len(both) // 10)))
        for part, values, colour in (("mated", mated, "#54a24b"), ("non-mated", non_mated, "#e45756")):
            h, _ = np.histogram(values, edges, density=True)
            fig.add_bar(
                x=(edges[1:] + edges[:-1]) / 2, y=h, width=np.diff(edges), name=part, marker_color=colour,
                opacity=0.55, showlegend=k == 1, row=k, col=1,
            )  # fmt: skip
        if thresholds and name in thresholds and np.isfinite(thresholds[name]):
            fig.add_vline(x=thresholds[name], line=dict(color="#333", dash="dash"), row=k, col=1)
    layout(fig, "Scores", height=max(260, 220 * len(scores)), barmode="overlay")
    fig.update_xaxes(title_text=unit, row=len(scores), col=1)
    return fig
