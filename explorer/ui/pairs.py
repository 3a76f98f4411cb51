"""Pair statistics of the workspace for the Distances and Threshold pages (per session, memoised)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer import config
from explorer.analysis.listed_pairs import protocol_pairs
from explorer.analysis.pairs import configured_pairs
from explorer.analysis.scores import PairScores
from explorer.data.protocol import PairProtocol
from explorer.ui.memo import memo, memo_get
from explorer.workspace import Workspace


@dataclass(frozen=True)
class Usable:
    """The rows that pair statistics can use: finite vectors. ``rows`` maps back to the workspace."""

    vectors: np.ndarray
    labels: np.ndarray
    rows: np.ndarray
    dropped_ids: list[str]


def usable(ws: Workspace) -> Usable:
    def compute():
        emb = ws.embeddings
        ok = np.isfinite(emb.vectors).all(axis=1)
        rows = np.flatnonzero(ok)
        return Usable(emb.vectors[rows], emb.labels[rows], rows, [str(i) for i in emb.ids[~ok]])

    return memo(ws, "usable", (), compute)


def explain_dropped(u: Usable) -> None:
    if u.dropped_ids:
        st.warning(
            f"{len(u.dropped_ids):,} items have NaN or infinite embedding values and are left out of every "
            "pair: " + ", ".join(u.dropped_ids[:10]) + (" ..." if len(u.dropped_ids) > 10 else "")
        )


def workspace_scores(ws: Workspace, metric: str) -> PairScores:
    """All pairs of the workspace's usable items under ``metric``; raises ValueError when impossible."""
    u = usable(ws)

    def compute():
        if len(u.rows) < 2:
            raise ValueError("fewer than two items with finite embeddings: there are no pairs")
        bar = st.progress(0.0, text="Counting pairs ...")
        try:
            s = configured_pairs(
                u.vectors, u.labels, metric=metric, progress=lambda f, m: bar.progress(min(f, 1.0), text=m)
            )
        finally:
            bar.empty()
        return s.on_rows(u.rows)

    cfg = config.settings()
    return memo(ws, "pairs", (metric, cfg.max_pairs, cfg.impostor_sample), compute)


PREVIEW_IMPOSTORS = 1_000_000  # a first look on a large workspace, before the full impostor sample


def preview_scores(ws: Workspace, metric: str) -> PairScores | None:
    """Where the impostor pairs are sampled (a large workspace) and the full sample is not
    computed yet: the same pass on 1,000,000 sampled impostor pairs, seconds sooner (None otherwise)."""
    u = usable(ws)
    cfg = config.settings()
    n = len(u.rows)
    done = memo_get(ws, "pairs", (metric, cfg.max_pairs, cfg.impostor_sample)) is not None
    if n * (n - 1) // 2 <= cfg.max_pairs or done:
        return None
    if cfg.impostor_sample <= PREVIEW_IMPOSTORS:
        return None

    def compute():
        with st.spinner(f"A first look from {PREVIEW_IMPOSTORS:,} sampled impostor pairs ..."):
            s = configured_pairs(u.vectors, u.labels, metric=metric, sample_size=PREVIEW_IMPOSTORS)
        return s.on_rows(u.rows)

    return memo(ws, "pairs_preview", (metric, cfg.max_pairs), compute)


def protocol_scores(ws: Workspace, metric: str, protocol: PairProtocol, key: str) -> tuple[PairScores, np.ndarray]:
    """Scores of a protocol's pairs and each pair's distance (NaN where an item is unusable)."""
    return memo(
        ws,
        "protocol",
        (metric, key),
        lambda: protocol_pairs(ws.embeddings.vectors, protocol.index_a, protocol.index_b, protocol.same, metric=metric),
    )


def require_usable(ws: Workspace, *, min_items: int = 2, what: str = "This page") -> Usable:
    """The usable items, with dropped ones named; ends the page's run (saying why) when there are
    fewer than ``min_items`` or every item has the same embedding."""
    u = usable(ws)
    explain_dropped(u)
    if len(u.rows) < min_items:
        st.warning(f"{what} needs at least {min_items} items with finite embeddings.")
        st.stop()
    if float(np.ptp(u.vectors, axis=0).max()) == 0.0:
        st.warning("Every item has the same embedding: nothing can be told apart. Check the model.")
        st.stop()
    return u
