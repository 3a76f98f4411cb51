"""Widgets and rendering for the Projection page: settings, the map, selection and neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer import config, plots
from explorer.analysis.clustering import cluster
from explorer.analysis.metrics import INDEX_METRICS
from explorer.analysis.neighbors import build_index
from explorer.analysis.projection import KnnGraph, default_epochs, knn_graph, project_pca, project_umap
from explorer.analysis.quality import centre_distances
from explorer.config import EXACT_SEARCH_UP_TO
from explorer.data.order import natural
from explorer.data.search import find
from explorer.plots.atlas import build_atlas
from explorer.plots.maps import Colours
from explorer.plots.regions import selected_region
from explorer.ui.clusters import latest
from explorer.ui.downloads import download
from explorer.ui.grid import image_grid
from explorer.ui.hover import hover_preview
from explorer.ui.memo import memo, memo_get
from explorer.ui.pairs import Usable
from explorer.ui.safe import plain, plain_all
from explorer.workspace import Workspace

COLOURS = ("label", "cluster", "nearest neighbour has another label", "distance to class centre")
PREVIEW_EPOCHS = 30


def settings() -> dict:
    c1, c2, c3, c4, c5 = st.columns([2, 1, 2, 2, 2])
    method = c1.radio("Map", ["UMAP", "PCA"], key="pj_method", horizontal=True)
    dims = c2.radio("Dimensions", [2, 3], key="pj_dims", horizontal=True)
    metric = c3.selectbox("Distance", INDEX_METRICS, key="pj_metric")
    colour = c4.selectbox("Colour by", COLOURS, key="pj_colour")
    seed = c5.number_input("random_state", 0, 2**31 - 1, 0, key="pj_seed", help="The same value gives the same map")
    opts = {"method": method, "dims": int(dims), "metric": metric, "colour": colour, "seed": int(seed)}
    if method == "UMAP":
        d1, d2 = st.columns(2)
        opts["n_neighbors"] = d1.slider("n_neighbors", 2, 100, 15, key="pj_nn")
        opts["min_dist"] = d2.slider("min_dist", 0.0, 0.99, 0.1, step=0.01, key="pj_md")
    return opts


def graph(ws: Workspace, u: Usable, opts: dict) -> KnnGraph:
    """Each item's nearest neighbours (k = n_neighbors, at least 11), computed once per workspace."""
    metric, k = opts["metric"], min(max(opts.get("n_neighbors", 15), 11), len(u.rows))

    def compute():
        how = "exactly" if len(u.rows) <= EXACT_SEARCH_UP_TO else "by NN-descent"
        with st.spinner(f"Finding every item's {k - 1} nearest neighbours ({how}) ..."):
            return knn_graph(u.vectors, k=k, metric=metric)

    return memo(ws, "knn_graph", (metric, k), compute)


def colour_values(ws: Workspace, u: Usable, how: str, g, metric: str) -> tuple[np.ndarray, str]:
    """Values to colour by; ``g()`` gives the neighbour graph (only asked for where needed)."""
    labels = u.labels.astype(str)
    if how == "label":
        return labels, "category"
    if how == "cluster":
        res = latest(ws)  # the clustering chosen on the Clusters page, else k-means with k = classes
        if res is None:
            k = max(2, min(len(set(labels)), len(labels) - 1))
            res = memo(ws, "pj_cluster", (k,), lambda: cluster(u.vectors, n_clusters=k))
            st.caption(f"Clusters: k-means with k = {k} (set others on the Clusters page).")
        else:
            st.caption(f"Clusters from the Clusters page: {res.method}, k = {res.n_clusters}.")
        return np.array([f"cluster {c}" for c in res.labels]), "category"
    if how.startswith("nearest"):
        other = labels[g().indices[:, 1]] != labels
        return np.where(other, "another label", "same label"), "category"
    d = memo(ws, "centre_distances", (metric,), lambda: centre_distances(u.vectors, labels, metric=metric))
    return d, "continuous"


def coordinates(ws: Workspace, u: Usable, opts: dict, g, draw) -> np.ndarray:
    """PCA at once; for UMAP, the neighbour graph (``g()``), a short preview run, then the full
    layout (each drawn as it comes)."""
    dims, seed = opts["dims"], opts["seed"]
    pca = memo(ws, "pca", (dims, seed), lambda: project_pca(u.vectors, n_components=dims, random_state=seed))
    if opts["method"] == "PCA":
        return pca
    key = (dims, seed, opts["metric"], opts["n_neighbors"], opts["min_dist"])
    done = memo_get(ws, "umap", key)
    if done is not None:
        return done
    total = max(default_epochs(len(u.vectors)), PREVIEW_EPOCHS + 1)
    # the bar before the PCA map: a browser busy drawing its first map then shows both together
    bar = st.progress(0.0, text="UMAP: each item's neighbours, then a first layout ...")
    draw(pca, "PCA while UMAP runs ...")
    g = g()
    common = dict(
        n_components=dims,
        n_neighbors=opts["n_neighbors"],
        min_dist=opts["min_dist"],
        metric=opts["metric"],
        random_state=seed,
        graph=g,
    )
    preview = project_umap(
        u.vectors,
        n_epochs=PREVIEW_EPOCHS,
        init=pca,
        **common,
        progress=lambda f: bar.progress(f * PREVIEW_EPOCHS / total, text="UMAP: a first layout ..."),
    )
    draw(preview, "UMAP preview: refining ...")
    rest = total - PREVIEW_EPOCHS  # the preview's epochs count

    def refine():
        return project_umap(
            u.vectors,
            init=preview,
            n_epochs=rest,
            **common,
            progress=lambda f: bar.progress(
                (PREVIEW_EPOCHS + f * rest) / total,
                text=f"UMAP: refining ({PREVIEW_EPOCHS + round(f * rest)} / {total} epochs) ...",
            ),
        )

    coords = memo(ws, "umap", key, refine)
    bar.empty()
    return coords


def colours(values: np.ndarray, kind: str) -> Colours | None:
    """Distinct colours for up to 48 labels; beyond, the chosen ones (default: the largest), the rest grey."""
    if kind != "category":
        return None
    cats = natural(values.tolist())
    if len(cats) <= len(plots.PALETTE):
        return plots.category_colours(values)
    chosen = st.multiselect(
        f"Colour these labels (up to {len(plots.PALETTE)})",
        cats,
        key="pj_colour_these",
        max_selections=len(plots.PALETTE),
        help="The others are drawn grey. Left empty: the largest labels.",
    )
    got = plots.category_colours(values, chosen)
    st.caption(
        f"{len(got.coloured)} of {len(cats):,} labels coloured"
        + ("" if chosen else " (the largest)")
        + "; the rest are grey."
    )
    return got


def search(ws: Workspace, u: Usable) -> np.ndarray | None:
    """The search box: a mask of the items found (None when empty)."""
    query = st.text_input(
        "Find label or id",
        key="pj_find",
        placeholder="e.g. s12, or part of a file name; commas for several",
        help="A label finds its items (s1 is not s10); other text finds ids and labels containing it.",
    )
    if not query.strip():
        return None
    hit = find(ws.dataset.ids[u.rows], u.labels, query)
    if hit.any():
        st.caption(f"{int(hit.sum()):,} items found: outlined on the map and listed below.")
    else:
        st.warning(f"Nothing found for {plain(query)!s}.")
    return hit


def hover_images(ws: Workspace, u: Usable, captions: np.ndarray) -> None:
    """The hovered item's image and its caption (the map's hover text) in a panel beside the
    pointer (image data up to EXPLORER_HOVER_IMAGES items)."""
    ds = ws.dataset
    if ds.kind != "image" or not ds.thumbnails or len(u.rows) > config.settings().hover_images:
        return
    cell = min(32, max(max(ds.thumbnails[i].shape[:2]) for i in u.rows[:50]))  # digits stay 8 x 8
    atlas = memo(ws, "hover_atlas", (cell,), lambda: build_atlas([ds.thumbnails[i] for i in u.rows], cell=cell))
    hover_preview("pj_map", atlas, list(captions))


def selected_rows(event, coords: np.ndarray) -> np.ndarray:
    """Rows (into the usable items) that a box or lasso encloses, over every item (not only the
    points drawn), or the points clicked."""
    if not event or not event.selection:
        return np.empty(0, np.int64)
    if len(coords) and coords.shape[1] == 2:
        region = selected_region(coords, event.selection)
        if region is not None:
            return region
    rows = []
    for p in event.selection.get("points", []):
        c = p.get("customdata")
        if c is not None:
            rows.append(int(c[0] if isinstance(c, list | tuple) else c))
    return np.unique(np.array(rows, np.int64))


def selection(ws: Workspace, u: Usable, rows: np.ndarray) -> None:
    with st.spinner(f"Gathering the {len(rows):,} items selected ..."):
        _selection(ws, u, rows)


def _selection(ws: Workspace, u: Usable, rows: np.ndarray) -> None:
    ds = ws.dataset
    items = u.rows[rows]
    frame = pd.DataFrame({"item": ds.ids[items], "label": ds.labels[items]})
    st.caption(
        f"{len(rows):,} items; labels: "
        + ", ".join(f"{k} ({v})" for k, v in frame["label"].value_counts().head(10).items())
    )
    if ds.kind == "image" and ds.thumbnails:
        image_grid([ds.thumbnails[i] for i in items], [str(ds.labels[i]) for i in items], key="pj_sel_page")
    st.dataframe(frame, hide_index=True)
    download("Download these items (CSV)", frame, f"{ws.file_stem}_map_selection.csv", key="pj_dl_sel")


def neighbours(ws: Workspace, u: Usable, rows: np.ndarray, metric: str, k: int) -> None:
    """One chosen item and its nearest neighbours in the embedding itself (not on the map)."""
    ds = ws.dataset
    if len(rows) == 1:
        pick = int(rows[0])
    else:
        pick = st.selectbox("Item", rows, key="pj_item", format_func=lambda r: f"{ds.ids[u.rows[r]]} ({u.labels[r]})")
    # exact, whatever built the map's graph (NN-descent beyond 20k items): one row costs one pass
    index = memo(ws, "exact_index", (metric,), lambda: build_index(u.vectors, metric=metric, kind="exact"))
    k = min(k, len(u.rows) - 1)
    d, nb = index.query(u.vectors[[pick]], k, exclude=np.array([pick]))
    nb, d = np.r_[pick, nb[0]], np.r_[0.0, d[0]]
    items = u.rows[nb]
    st.markdown(f"**{plain(ds.ids[items[0]])}**, label **{plain(ds.labels[items[0]])}**")
    caps = ["this item"] + [f"{ds.labels[i]} d={v:.3g}" for i, v in zip(items[1:], d[1:], strict=True)]
    if ds.kind == "image" and ds.thumbnails:
        st.image([ds.thumbnails[i] for i in items], caption=plain_all(caps), width=72)
    st.dataframe(
        pd.DataFrame(
            {"rank": np.arange(len(nb)), "item": ds.ids[items], "label": ds.labels[items], f"{metric} distance": d}
        ),
        hide_index=True,
    )
