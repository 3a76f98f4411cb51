"""Plotly figure builders: arrays in, figures out (no Streamlit), one module per kind of figure.
Pages call them as ``plots.<figure>``."""

from explorer.plots.base import THRESHOLD_MARK, layout, mark_threshold
from explorer.plots.clusters import contingency_heatmap, silhouette_sweep
from explorer.plots.data import class_counts_bar, norms_histogram
from explorer.plots.groups import group_fmr_heatmap
from explorer.plots.maps import OTHER, PALETTE, Colours, category_colours, drawn_rows, scatter_map
from explorer.plots.one_to_many import cmc_curve, size_curve
from explorer.plots.retrieval import per_class_bar
from explorer.plots.tail import tail_qq
from explorer.plots.training import CURVE_POINTS, CURVES_LAYOUT, smoothed_curve, training_curves, validation_curves
from explorer.plots.verification import (
    curve_points,
    det_figure,
    det_overlay,
    identification_det,
    pair_histogram,
    roc_figure,
    roc_overlay,
    score_histograms,
)

__all__ = [
    "cmc_curve",
    "size_curve",
    "group_fmr_heatmap",
    "tail_qq",
    "CURVES_LAYOUT",
    "CURVE_POINTS",
    "OTHER",
    "PALETTE",
    "Colours",
    "category_colours",
    "drawn_rows",
    "THRESHOLD_MARK",
    "class_counts_bar",
    "contingency_heatmap",
    "per_class_bar",
    "curve_points",
    "det_figure",
    "det_overlay",
    "identification_det",
    "layout",
    "mark_threshold",
    "norms_histogram",
    "pair_histogram",
    "roc_figure",
    "roc_overlay",
    "scatter_map",
    "score_histograms",
    "silhouette_sweep",
    "smoothed_curve",
    "training_curves",
    "validation_curves",
]
