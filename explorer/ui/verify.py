"""The Identify page's Verify section: two photos, one decision at the threshold, and the
probability of the same person at a stated prior where this face model's distances are calibrated."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.analysis.calibration import probability_same
from explorer.faces.gallery import verify
from explorer.ui.identify import calibration, largest_face, photo_input


def verify_pair(t: float) -> None:
    c1, c2 = st.columns(2)
    with c1:
        a = photo_input("First photo", "id_va")
    with c2:
        b = photo_input("Second photo", "id_vb")
    if not (a and b):
        return
    fa, fb = largest_face(a[-1]), largest_face(b[-1])
    if fa and fb:
        d, same = verify(fa[1], fb[1], threshold=t)
        st.image([fa[0].chip, fb[0].chip], width=120)
        verdict = "the same person" if same else "different people"
        (st.success if same else st.warning)(f"Distance {d:.3f}: **{verdict}** at the threshold {t:.3g}.")
        probability(d)


def probability(d: float) -> None:
    """P(same person) for the pair at a prior the visitor states."""
    cal = calibration()
    if cal is None:
        st.caption(
            "A probability of the same person needs this model's distances calibrated: embed face photos of "
            "known people with it on the Data & model page (the workspace's pairs are the calibration)."
        )
        return
    fitted, where = cal
    prior = st.number_input(
        "Prior: how likely the two are one person before looking",
        0.001,
        0.999,
        0.5,
        format="%.3f",
        key="id_prior",
        help="At the door of a building most people claim to be who they are (a high prior); comparing "
        "two strangers' photos, a low one",
    )
    llr = float(fitted.llr(d))
    p = float(probability_same(llr, prior))
    odds = np.exp(llr) * prior / (1 - prior)  # the posterior odds: informative where p rounds to 0% or 100%
    st.markdown(
        f"Probability of the same person: **{100 * p:.4g}%**, odds {odds:.3g} to 1, at a prior of {prior:g} "
        f"({where}; logistic)."
    )
