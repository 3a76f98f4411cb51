"""The projection map: a 2D (WebGL) / 3D scatter coloured by category or value, with matches
highlighted, and at most a bounded number of points drawn."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import plotly.graph_objects as go
from natsort import natsorted, ns
from plotly.colors import qualitative

# 48 distinct colours (plotly's Dark24 then Light24): 40 identities get 40 different ones
PALETTE = list(qualitative.Dark24) + list(qualitative.Light24)
OTHER = "#c7c7c7"


@dataclass(frozen=True)
class Colours:
    """Which categories get a colour of their own (natural order) and which share the grey."""

    coloured: list
    grey: list

    @cached_property
    def _by_category(self) -> dict:
        return dict(zip(self.coloured, PALETTE, strict=False))

    def colour_of(self, category) -> str:
        return self._by_category.get(category, OTHER)


def category_colours(values: np.ndarray, chosen: list | None = None, *, limit: int = len(PALETTE)) -> Colours:
    """Every category coloured when they fit the palette; else ``chosen`` (up to ``limit``), or
    the ``limit`` largest, and the rest grey."""
    cats, counts = np.unique(values, return_counts=True)
    everything = natsorted(cats.tolist(), key=str, alg=ns.IGNORECASE)  # s2 before s10, as explorer.data.order
    if chosen:
        keep = set(list(dict.fromkeys(chosen))[:limit])
    elif len(cats) <= limit:
        keep = set(everything)
    else:  # the largest, ties in natural order
        size = dict(zip(cats.tolist(), counts.tolist(), strict=True))
        keep = set(sorted(everything, key=lambda c: -size[c])[:limit])
    return Colours([c for c in everything if c in keep], [c for c in everything if c not in keep])


def drawn_rows(n: int, limit: int, *, keep: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """The rows to draw: all of them up to ``limit``; beyond, the ``keep`` rows (matches) and a
    seeded random sample of the rest, ``limit`` in all, sorted."""
    if n <= limit:
        return np.arange(n)
    must = np.flatnonzero(keep)[:limit] if keep is not None else np.empty(0, np.int64)
    rest = np.setdiff1d(np.arange(n), must, assume_unique=True)
    extra = np.random.default_rng(seed).choice(rest, limit - len(must), replace=False)
    return np.sort(np.r_[must, extra]).astype(np.int64)


def scatter_map(
    coords: np.ndarray,
    values: np.ndarray,
    *,
    kind: str,
    name: str,
    hover: np.ndarray,
    rows: np.ndarray | None = None,
    colours: Colours | None = None,
    matches: np.ndarray | None = None,
) -> go.Figure:
    """A 2D (WebGL) or 3D scatter of ``coords[rows]`` coloured by ``values``.

    kind "category": one trace per coloured category in natural order (``colours``, default
    ``category_colours``) and one grey trace for the rest; "continuous": a colour scale. matches:
    a boolean mask over every item; those drawn are outlined on top, the rest faded. Each point's
    customdata is its row in ``coords``, so a click maps back to the item.
    """
    coords = np.asarray(coords, np.float32)
    rows = np.arange(len(coords)) if rows is None else np.asarray(rows, np.int64)
    three = coords.shape[1] == 3
    faded = matches is not None and bool(np.any(matches))
    marker = dict(size=3 if three else 5, opacity=0.2 if faded else 0.8)

    def trace(sub: np.ndarray, **kw):
        common = dict(
            x=coords[sub, 0],
            y=coords[sub, 1],
            mode="markers",
            customdata=sub,
            text=hover[sub],
            hovertemplate="%{text}<extra></extra>",
            **kw,
        )
        return go.Scatter3d(z=coords[sub, 2], **common) if three else go.Scattergl(**common)

    fig = go.Figure()
    if kind == "category":
        colours = colours or category_colours(values)
        shown = values[rows]
        for c in colours.coloured:
            sub = rows[shown == c]
            fig.add_trace(trace(sub, name=str(c), legendgroup=str(c), marker=dict(marker, color=colours.colour_of(c))))
        if colours.grey:
            sub = rows[np.isin(shown, colours.grey)]
            label = f"{len(colours.grey):,} other labels"
            fig.add_trace(trace(sub, name=label, marker=dict(marker, color=OTHER)))
    else:
        fig.add_trace(
            trace(
                rows,
                name=name,
                showlegend=False,
                marker=dict(
                    marker, color=np.asarray(values, np.float64)[rows], colorscale="Viridis", colorbar=dict(title=name)
                ),
            )
        )
    if faded:
        sub = rows[np.asarray(matches, bool)[rows]]
        fill = [colours.colour_of(v) for v in values[sub]] if kind == "category" else "#e45756"
        outline = dict(color="#111111", width=1.5)
        fig.add_trace(
            trace(
                sub,
                name=f"matches ({int(np.sum(matches)):,})",
                marker=dict(size=6 if three else 10, color=fill, line=outline),
            )
        )
    fig.update_layout(
        height=620,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(itemsizing="constant"),
        title=f"coloured by {name}",
    )
    if three:
        fig.update_layout(dragmode="orbit")
    # 2D: no dragmode of ours, so Streamlit starts in pan mode where a click selects a point (in
    # box or lasso mode, chosen on the toolbar, it ignores clicks)
    return fig
