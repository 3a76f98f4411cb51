"""Which items lie inside a box or lasso drawn on a 2D map: computed over every item's
coordinates, so a selection is exact even where the map drew only a sample."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def inside_polygon(points: np.ndarray, xs: Sequence[float], ys: Sequence[float]) -> np.ndarray:
    """Even-odd rule, vectorised over the points (one pass per polygon edge). Hand-written: the
    libraries that do this (matplotlib's Path, shapely) are not otherwise needed here."""
    p = np.asarray(points, np.float64)
    x, y = p[:, 0], p[:, 1]
    vx, vy = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    inside = np.zeros(len(p), bool)
    for i in range(len(vx)):
        x1, y1, x2, y2 = vx[i - 1], vy[i - 1], vx[i], vy[i]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < at)
    return inside


def inside_box(points: np.ndarray, xr: Sequence[float], yr: Sequence[float]) -> np.ndarray:
    p = np.asarray(points, np.float64)
    (x0, x1), (y0, y1) = sorted(xr[:2]), sorted(yr[:2])
    return (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)


def selected_region(points: np.ndarray, selection: Mapping) -> np.ndarray | None:
    """Rows inside the boxes and lassos of a plotly selection (``{"box": [{"x": [x0, x1], "y":
    [y0, y1]}], "lasso": [{"x": [...], "y": [...]}]}``), or None when it holds no region."""
    shapes = [("box", s) for s in selection.get("box") or []] + [("lasso", s) for s in selection.get("lasso") or []]
    shapes = [(k, s) for k, s in shapes if len(s.get("x") or []) >= 2 and len(s.get("y") or []) >= 2]
    if not shapes:
        return None
    hit = np.zeros(len(points), bool)
    for kind, s in shapes:
        hit |= inside_box(points, s["x"], s["y"]) if kind == "box" else inside_polygon(points, s["x"], s["y"])
    return np.flatnonzero(hit)
