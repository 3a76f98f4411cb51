"""Identify's 1:N view of the workspace: the open-set figures at FRTE's operating points, the CMC
and the investigation mode, FNIR against the gallery size, templates of several images."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import plots
from explorer.analysis.identification import OpenSetResult, fnir_at_fpir
from explorer.analysis.one_to_many import CANDIDATES, OPERATING_FPIR, cmc, fnir_by_gallery_size, template_comparison
from explorer.ui.memo import memo
from explorer.ui.safe import plain
from explorer.workspace import Workspace

METRIC = "euclidean"  # the face descriptor's own distance


def one_to_many(ws: Workspace, r: OpenSetResult, enrolled: np.ndarray, probes: np.ndarray, t: float) -> None:
    m = st.columns(5)
    m[0].metric("Rank-1", f"{100 * r.rank1:.1f}%", help="known probes whose closest enrolled person is them")
    m[1].metric("Gallery size N", f"{r.gallery_size:,}", help="FPIR grows with N: compare at the same N")
    for k, target in enumerate(OPERATING_FPIR):
        got = fnir_at_fpir(r, target)
        m[2 + k].metric(f"FNIR at FPIR {target:g}", "n/a" if got is None else f"{100 * got[0]:.1f}%")
    emb, labels = ws.embeddings, ws.dataset.labels
    curve = memo(ws, "cmc", (), lambda: cmc(emb.vectors, labels, enrolled, probes, metric=METRIC))
    miss = 1.0 - curve[-1]
    m[4].metric(
        "Investigation FNIR",
        f"{100 * miss:.1f}%",
        help=f"a candidate list of {len(curve)} (FRTE's {CANDIDATES}, or N if fewer), no threshold: the share of "
        "known probes whose mate is not on the list",
    )
    at = np.searchsorted(r.thresholds, t, side="right") - 1
    st.caption(
        f"First item of each identity enrolled; {r.mated:,} known probes; {len(r.unknown_identities)} identities "
        f"held back as {r.non_mated:,} unknown probes. At this page's threshold {t:.3g}: FNIR "
        f"{100 * r.fnir[at]:.1f}%, FPIR {100 * r.fpir[at]:.1f}%."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(plots.identification_det(r.fpir, r.fnir, gallery_size=r.gallery_size), key="id_det")
    c2.plotly_chart(plots.cmc_curve({"one image enrolled": curve}), key="id_cmc")
    gallery_size(ws)
    template_sizes(ws)


def gallery_size(ws: Workspace) -> None:
    st.markdown("**The miss rate as the gallery grows**")
    c1, c2 = st.columns([2, 1])
    to = int(c2.number_input("Extrapolate to N", 10, 10**9, 10_000, key="id_n_to"))
    if not c1.button("Measure FNIR against the gallery size", key="id_n_curve"):
        got = st.session_state.get("id_n_curve_done")
        if got is None or got[0] != ws.key:
            return
    emb, labels = ws.embeddings, ws.dataset.labels
    try:
        with st.spinner("Searching galleries of growing size ..."):
            curve = memo(ws, "n_curve", (), lambda: fnir_by_gallery_size(emb.vectors, labels, metric=METRIC))
    except ValueError as exc:
        st.warning(f"Not possible here: {plain(exc)}.")
        return
    st.session_state["id_n_curve_done"] = (ws.key,)
    st.plotly_chart(plots.size_curve(curve.sizes, curve.fnir, curve.spread, curve.fit, to), key="id_n_plot")
    if curve.fit is None:
        st.caption("No miss at any measured size: nothing to fit (the misses begin beyond these galleries).")
        return
    a, b = curve.fit
    st.caption(
        f"The same probes searched against galleries of {curve.sizes.min():,} to {curve.sizes.max():,} identities "
        f"(distractors added), 5 draws each. Fit FNIR = {a:.3g} N^{b:.2f}: at N = {to:,}, "
        f"**{100 * curve.extrapolate(to):.1f}%** (extrapolated, not measured: far beyond the data it is a guess)."
    )


def template_sizes(ws: Workspace) -> None:
    st.markdown("**Templates: several images enrolled per person**")
    k = int(st.number_input("Images averaged into each template", 2, 20, 3, key="id_template_k"))
    emb, labels = ws.embeddings, ws.dataset.labels
    try:
        rows = memo(ws, "templates", (k,), lambda: template_comparison(emb.vectors, labels, (1, k), metric=METRIC))
    except ValueError as exc:
        st.caption(f"Templates of {k} images: not possible here ({plain(exc)}).")
        return
    one, many = rows
    st.plotly_chart(plots.cmc_curve({"one image": one.cmc, f"mean of {k} images": many.cmc}), key="id_template_cmc")
    st.caption(
        f"{one.identities:,} people with more than {k} images, probed by the same {one.probes:,} images (those after "
        f"the first {k}): rank-1 {100 * one.rank1:.1f}% with one image enrolled, {100 * many.rank1:.1f}% with the "
        f"mean of {k}."
    )
