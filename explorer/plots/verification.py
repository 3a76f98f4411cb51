"""Verification figures: pair-distance histograms, ROC and DET (one system or several
overlaid), score histograms, and the identification DET."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from explorer.plots.base import THRESHOLD_MARK, layout, mark_threshold
from explorer.plots.maps import PALETTE


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
    if threshold is not None:  # its label above the bars, on the side of the line with room for it
        lo, hi = (float(e[0]), top) if len(used) else (float(e[0]), float(e[-1]))
        right = hi <= lo or (threshold - lo) / (hi - lo) < 0.7
        fig.add_vline(x=threshold, line_color="#333")
        fig.add_annotation(
            x=threshold,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            xanchor="left" if right else "right",
            text=f"threshold {threshold:.4g}",
            showarrow=False,
            bgcolor="rgba(255,255,255,0.8)",
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


def roc_overlay(curves: dict[str, tuple[np.ndarray, np.ndarray]], points: dict | None = None) -> go.Figure:
    """Several systems' ROC (name -> (FAR, TAR)) on one pair of axes, log FAR; a marker per
    system at its threshold (points: name -> (FAR, TAR))."""
    fig = go.Figure()
    for k, (name, (far, tar)) in enumerate(curves.items()):
        idx = curve_points(far, tar)
        f, t = far[idx], tar[idx]
        colour = PALETTE[k % len(PALETTE)]
        fig.add_scatter(x=f[f > 0], y=t[f > 0], mode="lines", name=html.escape(str(name)), line=dict(color=colour))
        if points and name in points and points[name][0] > 0:
            fig.add_scatter(
                x=[points[name][0]], y=[points[name][1]], mode="markers", showlegend=False,
                marker=dict(THRESHOLD_MARK, color=colour),
            )  # fmt: skip
    layout(fig, "ROC", x="FAR (FMR: impostor pairs accepted)", y="TAR (1 - FRR)", height=380, xaxis_type="log")
    return fig


def det_overlay(curves: dict[str, tuple[np.ndarray, np.ndarray]], points: dict | None = None) -> go.Figure:
    """Several systems' DET (name -> (FMR, FNMR)), both axes log; a marker per system."""
    fig = go.Figure()
    for k, (name, (far, frr)) in enumerate(curves.items()):
        idx = curve_points(far, 1 - frr)
        f, r = far[idx], frr[idx]
        ok = (f > 0) & (r > 0)
        colour = PALETTE[k % len(PALETTE)]
        fig.add_scatter(x=f[ok], y=r[ok], mode="lines", name=html.escape(str(name)), line=dict(color=colour))
        if points and name in points and min(points[name]) > 0:
            fig.add_scatter(
                x=[points[name][0]], y=[points[name][1]], mode="markers", showlegend=False,
                marker=dict(THRESHOLD_MARK, color=colour),
            )  # fmt: skip
    layout(
        fig, "DET", x="FAR (FMR: impostor pairs accepted)", y="FRR (FNMR: genuine pairs rejected)", height=380,
        xaxis_type="log", yaxis_type="log",
    )  # fmt: skip
    return fig


def score_histograms(
    scores: dict[str, tuple[np.ndarray, np.ndarray]], *, unit: str, thresholds: dict[str, float] | None = None
) -> go.Figure:
    """Genuine (mated) / impostor (non-mated) score histograms of each system (name -> (mated,
    non-mated) in the score's own units), one row each, densities; a line at each system's
    threshold. Any number of rows (the figure grows, a fixed gap between rows) and any finite
    scores, up to +-1.8e308."""
    from plotly.subplots import make_subplots

    rows, row_px, gap_px = len(scores), 220, 90  # the gap holds a row's tick labels and the next title
    height = max(260, row_px * rows)
    spacing = gap_px / height if rows > 1 else 0.0  # in the figure's height: fixed pixels between rows
    titles = [html.escape(str(n)) for n in scores]  # plotly reads a subset of HTML in its text
    fig = make_subplots(rows=rows, cols=1, subplot_titles=titles, vertical_spacing=spacing)
    for k, (name, (mated, non_mated)) in enumerate(scores.items(), 1):
        centres, widths, hists = _shared_bins(np.r_[mated, non_mated], [mated, non_mated])
        for part, h, colour in zip(
            ("genuine (mated)", "impostor (non-mated)"), hists, ("#54a24b", "#e45756"), strict=True
        ):
            fig.add_bar(
                x=centres, y=h, width=widths, name=part, marker_color=colour, opacity=0.55, showlegend=k == 1,
                row=k, col=1,
            )  # fmt: skip
        if thresholds and name in thresholds and np.isfinite(thresholds[name]):
            fig.add_vline(x=thresholds[name], line=dict(color="#333", dash="dash"), row=k, col=1)
    layout(fig, "Scores", height=height, barmode="overlay")
    fig.update_xaxes(title_text=unit, row=rows, col=1)
    return fig


def _shared_bins(values: np.ndarray, parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Bin centres, widths and each part's density on bins shared by all of ``values``. The bins
    are laid on values divided by their largest magnitude: the span of scores near +-1e308
    overflows to inf, and numpy's own edges then fail ("Too many bins")."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    scale = float(np.abs(v).max()) if len(v) else 1.0
    scale = scale if scale > 0 else 1.0
    edges = np.histogram_bin_edges(v / scale, bins=min(80, max(10, len(v) // 10)))
    if edges[-1] == edges[0]:  # one value: a bin of unit width around it
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    width = np.diff(edges)
    hists = []
    for p in parts:
        p = np.asarray(p, np.float64)
        h, _ = np.histogram(p[np.isfinite(p)] / scale, edges)
        # density in the score's units; widths in scaled units keep the product finite
        hists.append(h / max(h.sum(), 1) / width / scale)
    return (edges[1:] / 2 + edges[:-1] / 2) * scale, width * scale, hists
