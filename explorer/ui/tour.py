"""The landing page's short tour: what each page answers."""

from __future__ import annotations

import streamlit as st

TOUR = """
- **Distances**: do same-label (genuine) pairs land closer than different-label (impostor) pairs? Histograms
  of every pair's distance and how far the two overlap.
- **Threshold**: where to set the verification threshold: ROC and DET curves, TAR at a target FAR, the errors
  at that threshold, and a threshold card to ship.
- **Compare**: your own scores file, or two models on this data: which is better, with intervals.
- **Projection**: a 2D / 3D map (UMAP or PCA); find an item, click it for its nearest neighbours.
- **Retrieval**: how much of its own class each item finds first (Precision@1, MAP@R), and the items that look
  wrong (label suspects, duplicates, outliers).
- **Clusters**: the groups the model makes by itself, against the labels.
- **Report**: all of the above in one file to keep or share: HTML that opens offline, Markdown, JSON.
- **Train**: train a model live with triplet loss and hard negatives from an HNSW index.
- **Identify**: enroll faces from photos or the camera and watch one-shot identification.
"""


def ws_tour_open() -> bool:
    """Open on a visitor's first page view, folded afterwards."""
    first = not st.session_state.get("tour_seen")
    st.session_state["tour_seen"] = True
    return first
