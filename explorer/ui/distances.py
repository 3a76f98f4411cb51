"""The Distances page's separation view: pair counts, d-prime, overlap and the histograms."""

from __future__ import annotations

import streamlit as st

from explorer import plots
from explorer.analysis.scores import PairScores, separation


def separation_view(
    h: PairScores, *, metric: str, density: bool, log_y: bool, mark: float | None, final: bool = True
) -> None:
    """``final`` False: a first look (from fewer sampled impostor pairs), said so, drawn unkeyed."""
    sep = separation(h)
    if not final:
        st.info(f"A first look from {h.n_impostor:,} sampled impostor pairs; the full sample is being computed ...")
    m = st.columns(6)
    m[0].metric("Genuine pairs", f"{h.n_genuine:,}")
    m[1].metric("Impostor pairs", f"{h.n_impostor:,}")
    m[2].metric(
        "d-prime",
        "n/a" if sep.d_prime is None else f"{sep.d_prime:.3f}",
        help="|mean impostor - mean genuine| / sqrt((var genuine + var impostor) / 2), from sums over every pair",
    )
    m[3].metric(
        "Overlap",
        "n/a" if sep.overlap is None else f"{sep.overlap:.4f}",
        help="The share of the two distributions no single threshold separates (the least FAR + FRR): "
        "0 = some threshold separates every pair, 1 = identical",
    )
    m[4].metric("Mean genuine", f"{sep.mean_genuine:.3f}")
    m[5].metric("Mean impostor", f"{sep.mean_impostor:.3f}")
    if not h.n_impostor:
        st.warning("Only one identity: there are no impostor pairs, so separation cannot be measured.")
    if not h.n_genuine:
        st.warning("Every identity has a single item: there are no genuine pairs, so separation cannot be measured.")
    if h.all_equal:
        st.warning("Every pair has the same distance: the embedding separates nothing. Check the model.")
    if h.sampled:
        st.caption(h.source + f" (of {h.n_impostor_total:,}): the impostor histogram is the sample's.")
    st.plotly_chart(
        plots.pair_histogram(
            h.edges, h.genuine_hist, h.impostor_hist, metric=metric, density=density, log_y=log_y, mark=mark
        ),
        key="ds_hist" if final else None,
    )
