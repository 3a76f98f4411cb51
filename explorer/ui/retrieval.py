"""Computing and showing retrieval metrics and data-quality flags (the Retrieval page)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from explorer import config
from explorer.analysis.neighbors import build_index
from explorer.analysis.quality import exact_duplicates, label_suspects, near_duplicates, neighbours, outliers
from explorer.analysis.retrieval import RetrievalResult, query_sample, retrieval_metrics
from explorer.ui.downloads import download
from explorer.ui.grid import page_of
from explorer.ui.memo import memo, memo_get
from explorer.ui.pairs import Usable
from explorer.ui.safe import plain_all
from explorer.ui.tables import table
from explorer.workspace import Workspace


@dataclass(frozen=True)
class Findings:
    result: RetrievalResult
    nearest: tuple[np.ndarray, np.ndarray]  # each item's 10 nearest others: (distances, indices)
    # an approximate index: (its MAP@R, exact MAP@R) on the same sampled queries, or None
    approx: tuple[float, float, int] | None = None

    @property
    def nn_median(self) -> float:
        """Median distance to the nearest other item (the scale for the duplicate radius)."""
        return float(np.median(self.nearest[0][:, 0]))


def search_kind(n: int, where) -> str:
    """Exact search, or beyond the exact-search size also the HNSW index (only there is it faster:
    benchmarks/README.md)."""
    if n <= config.EXACT_SEARCH_UP_TO:
        where.caption(f"Exact search over all {n:,} items (an approximate index is no faster at this size).")
        return "exact"
    return where.radio(
        "Neighbour search",
        ["hnsw", "exact"],
        key="rt_kind",
        horizontal=True,
        format_func=lambda k: "exact" if k == "exact" else "HNSW (approximate, faster)",
        help="At 100,000 x 128 the HNSW index (build included) took about half the time of exact search and "
        "read MAP@R 0.0004 higher; below the figures, the page measures the difference on this data. Choose "
        "exact for figures to publish.",
    )


def findings(ws: Workspace, u: Usable, metric: str, kind: str) -> Findings:
    """Index + retrieval metrics of the usable items, memoised per (metric, index kind)."""

    def compute():
        bar = st.progress(0.0, text="Building the neighbour index ...")
        try:
            index = build_index(u.vectors, metric=metric, kind=kind)
            res = retrieval_metrics(
                u.vectors, u.labels, metric=metric, index=index, progress=lambda f, m: bar.progress(min(f, 1.0), text=m)
            )
            nearest = neighbours(u.vectors, index)
            approx = None
            if kind != "exact" and (exact := first_look(ws, u, metric)) is not None:  # how approximate, measured
                bar.progress(1.0, text="Checking the index against exact search on the sampled queries ...")
                q = query_sample(u.labels, SAMPLE_QUERIES)
                mine = retrieval_metrics(u.vectors, u.labels, metric=metric, index=index, queries=q)
                approx = (mine.map_at_r, exact.map_at_r, len(q))
        finally:
            bar.empty()
        return Findings(res, nearest, approx)

    return memo(ws, "retrieval", (metric, kind), compute)


SAMPLE_QUERIES = 5000  # a first answer on a large set: this many sampled queries, exact


def first_look(ws: Workspace, u: Usable, metric: str) -> RetrievalResult | None:
    """Beyond the exact-search size: the figures of a seeded sample of queries (each exact against
    every item, a second or two), shown while the full figures are computed."""
    if len(u.rows) <= config.EXACT_SEARCH_UP_TO:  # read here: tests stand in a smaller size
        return None

    def compute():
        with st.spinner(f"A first answer from {SAMPLE_QUERIES:,} sampled queries ..."):
            q = query_sample(u.labels, SAMPLE_QUERIES)
            return retrieval_metrics(u.vectors, u.labels, metric=metric, queries=q)

    return memo(ws, "retrieval_sample", (metric,), compute)


def done(ws: Workspace, metric: str, kind: str) -> bool:
    return memo_get(ws, "retrieval", (metric, kind)) is not None


def approximation(f: Findings) -> None:
    """What the approximate index costs in accuracy, measured on this data."""
    if f.approx is None:
        return
    mine, exact, n = f.approx
    st.caption(
        f"How approximate: on the same {n:,} sampled queries the HNSW index reads MAP@R {mine:.4f}, exact search "
        f"{exact:.4f} ({mine - exact:+.4f}: negatives the index misses flatter a query, positives it misses "
        "hurt it). Choose exact for figures to publish."
    )


def headline(res: RetrievalResult) -> None:
    hw = res.half_width or {}

    def value(name: str, v: float) -> str:
        return f"{v:.4f} ± {hw[name]:.4f}" if name in hw else f"{v:.4f}"

    m = st.columns(3)
    m[0].metric(
        "Precision@1", value("precision_at_1", res.precision_at_1), help="The nearest other item shares the label"
    )
    m[1].metric(
        "R-Precision",
        value("r_precision", res.r_precision),
        help="Share of the R nearest with the label, R = class size - 1",
    )
    m[2].metric("MAP@R", value("map_at_r", res.map_at_r), help="Mean average precision over the first R ranks")
    if res.sampled:
        st.caption(
            f"A first answer: {res.queries:,} of {res.items:,} items queried (a seeded sample, each against every "
            "item, exact); ± is its 95 % interval. The figures over every query follow below when computed."
        )


def per_class(ws: Workspace, res: RetrievalResult) -> None:
    frame = res.per_class.sort_values("map_at_r", na_position="last", ignore_index=True)
    table(frame)
    download("Download per-class metrics (CSV)", frame, f"{ws.file_stem}_retrieval_per_class.csv", key="rt_dl_class")


def flagged(
    ws: Workspace,
    u: Usable,
    frame: pd.DataFrame,
    item_cols: list[str],
    caption,
    *,
    key: str,
    empty: str,
    limit: int = 12,
) -> None:
    """A flag's table (workspace ids added) with thumbnails of its first rows, and a download."""
    if frame.empty:
        st.caption(empty)
        return
    ds = ws.dataset
    shown = frame.copy()
    for col in item_cols:  # usable-row indices -> workspace ids
        shown[col] = ds.ids[u.rows[frame[col].to_numpy()]]
    if ds.kind == "image" and ds.thumbnails:
        lo, hi = page_of(len(frame), limit, key=f"rt_page_{key}", what="rows")
        head = frame.iloc[lo:hi]
        images, captions = [], []
        for _, row in head.iterrows():
            for col in item_cols:
                images.append(ds.thumbnails[u.rows[int(row[col])]])
                captions.append(caption(row, col))
        st.image(images, caption=plain_all(captions), width=88)
    table(shown)
    download("Download (CSV)", shown, f"{ws.file_stem}_{key}.csv", key=f"rt_dl_{key}")


def quality(ws: Workspace, u: Usable, f: Findings, metric: str, kind: str) -> None:
    labels = u.labels.astype(str)

    def radius() -> float:
        default = float(f"{0.05 * f.nn_median:.3g}") if f.nn_median > 0 else 1e-6
        return st.number_input(
            f"Radius ({metric} distance; the median distance to the nearest other item is {f.nn_median:.4g})",
            min_value=0.0,
            value=default,
            format="%.4g",
            key="rt_radius",
        )

    # (title, the flagged rows, their item columns, a caption per item, key, what to say when none)
    flags = (
        ("**Exact duplicates**: byte-identical embeddings",
         lambda: memo(ws, "dups", (), lambda: exact_duplicates(u.vectors)),
         ["item"], lambda r, c: f"group {int(r['group'])} ({labels[int(r['item'])]})",
         "duplicates", "No two items have identical embeddings."),
        # not memoised: a filter over each item's nearest (milliseconds), keyed by a number anyone can type
        ("**Near duplicates**: pairs closer than a radius",
         lambda: near_duplicates(f.nearest, radius=radius()),
         ["a", "b"], lambda r, c: f"{labels[int(r[c])]} d={r['distance']:.3g}",
         "near_duplicates", "No pair is that close."),
        ("**Likely label errors**: most of the 10 nearest neighbours carry another label",
         lambda: memo(ws, "suspects", (metric, kind), lambda: label_suspects(u.labels, f.nearest)),
         ["item"], lambda r, c: f"{r['label']} -> {r['neighbour_label']} ({100 * r['support']:.0f}%)",
         "label_suspects", "No item sits among neighbours of another label."),
        ("**Outliers**: far from their class centre (robust z above 3.5)",
         lambda: memo(ws, "outliers", (metric,), lambda: outliers(u.vectors, u.labels, metric=metric)),
         ["item"], lambda r, c: f"{r['label']} z={r['robust_z']:.1f}",
         "outliers", "No item is that far from its class centre."),
    )  # fmt: skip
    for title, rows, cols, caption, key, empty in flags:
        st.markdown(title)
        flagged(ws, u, rows(), cols, caption, key=key, empty=empty)
