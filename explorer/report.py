"""Threshold cards: what a product team ships with a verification threshold (JSON and Markdown)."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass

import numpy as np

from explorer.analysis.scores import PairScores
from explorer.analysis.thresholds import ThresholdResult
from explorer.analysis.verification import FAR_TARGETS, RocCurve, curve_auc, eer, tar_at_far, tar_thresholds


@dataclass(frozen=True)
class Headline:
    """Figures of a whole curve: AUC (with its largest binning error), EER and TAR@FAR.

    tar_exact[f]: whether TAR@FAR f is counted exactly; where not (its deciding pairs sit in a
    bin), tar_bounds[f] = (lo, hi) holds it, and tar_at_far[f] is lo.
    """

    auc: float
    auc_bound: float
    eer: float
    eer_threshold: float
    tar_at_far: dict[float, float | None]
    exact: bool
    far_thresholds: dict[float, float | None]  # the threshold of each TAR@FAR on the curve
    tar_exact: dict[float, bool]
    tar_bounds: dict[float, tuple[float, float] | None]


def headline(curve: RocCurve, scores: PairScores | None = None) -> Headline:
    """From the curve, or from exact figures of the raw distances where the scores carry them."""
    ths, exact, bounds = {}, {}, {}
    deciding = tar_thresholds(scores.impostor, scores.n_impostor) if scores is not None else {}
    for f in FAR_TARGETS:
        if f * curve.n_impostor < 1:
            ths[f], exact[f], bounds[f] = None, True, None
            continue
        j = int(np.flatnonzero(curve.far <= f).max())
        ths[f] = float(curve.thresholds[j])
        below_v = np.nextafter(deciding[f], -np.inf) if f in deciding else None
        exact[f] = bool(
            curve.exact_all
            or (scores is not None and scores.figures is not None)
            or (below_v is not None and (scores.genuine.cover <= below_v or np.isin(below_v, curve.thresholds)))
        )
        hi = curve.tar[min(j + 1, len(curve.tar) - 1)]
        bounds[f] = (float(curve.tar[j]), float(curve.tar[j] if exact[f] else hi))
    figures = scores.figures if scores is not None else None
    if figures is not None:
        return Headline(
            figures.auc,
            figures.auc_bound,
            figures.eer,
            figures.eer_threshold,
            figures.tar_at_far,
            figures.auc_bound == 0,
            ths,
            exact,
            {f: None if v is None else (v, v) for f, v in figures.tar_at_far.items()},
        )
    a, bound = curve_auc(curve)
    e, t = eer(curve)
    tars = {f: tar_at_far(curve, f) for f in FAR_TARGETS}
    return Headline(a, bound, e, t, tars, curve.exact_all, ths, exact, bounds)


@dataclass(frozen=True)
class Pair:
    """One pair for a gallery: item indices, distance, and whether it shares a label."""

    a: int
    b: int
    distance: float


def false_accepts(scores: PairScores, threshold: float, limit: int = 12) -> list[Pair]:
    """The closest impostor pairs accepted at ``threshold`` (closest first), from the exact tail."""
    t = scores.impostor
    k = int(np.searchsorted(t.values, threshold, side="right"))
    return [Pair(int(t.a[j]), int(t.b[j]), float(t.values[j])) for j in range(min(k, limit)) if t.a[j] >= 0]


def false_rejects(scores: PairScores, threshold: float, limit: int = 12) -> list[Pair]:
    """The farthest genuine pairs rejected at ``threshold`` (farthest first), from the exact tail."""
    t = scores.genuine
    k = int(np.searchsorted(t.values, threshold, side="right"))
    idx = range(len(t.values) - 1, max(k, len(t.values) - limit) - 1, -1)
    return [Pair(int(t.a[j]), int(t.b[j]), float(t.values[j])) for j in idx if t.a[j] >= 0]


def threshold_card(
    result: ThresholdResult, head: Headline, scores: PairScores, *, how: str, provenance: dict, pairs_from: str
) -> dict:
    """Everything needed to ship and later audit the threshold, as plain JSON-able values."""
    sampling = None
    if scores.sampled:
        sampling = {
            "impostor_pairs_sampled": scores.n_impostor,
            "impostor_pairs_total": scores.n_impostor_total,
            "note": "FAR and its interval are estimated from the uniform sample",
        }
    return {
        "card": "verification threshold",
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "decision": f"same identity when {scores.metric} distance <= threshold"
        if np.isfinite(result.threshold)
        else "accept no pair (no threshold meets the target)",
        "metric": scores.metric,
        "threshold": result.threshold if np.isfinite(result.threshold) else None,
        "how_chosen": how,
        "far": result.far,
        "far_interval": list(result.far_ci),
        "tar": result.tar,
        "tar_interval": list(result.tar_ci),
        "interval": f"95% {'Clopper-Pearson' if result.ci_method == 'exact' else 'Wilson'}",
        "counts": {
            "true_accepts": result.tp,
            "false_rejects": result.fn,
            "false_accepts": result.fp,
            "true_rejects": result.tn,
        },
        "pairs": {"genuine": scores.n_genuine, "impostor": scores.n_impostor, "from": pairs_from, "sampling": sampling},
        "accuracy": result.accuracy,
        "precision": result.precision,
        "curve": {
            "auc": head.auc,
            "auc_max_binning_error": head.auc_bound,
            "eer": head.eer,
            "eer_threshold": head.eer_threshold,
            "tar_at_far": {f"{k:g}": v for k, v in head.tar_at_far.items()},
        },
        "model": {
            "name": provenance.get("model_name"),
            "format": provenance.get("model_format"),
            "sha256": provenance.get("checkpoint_hash"),
            "preprocessing": provenance.get("preprocessing"),
            "trained_on": provenance.get("model_trained_on"),
        },
        "data": {
            "name": provenance.get("data_name"),
            "sha256": provenance.get("data_hash"),
            "items": provenance.get("n"),
            "dim": provenance.get("dim"),
        },
    }


def curve_csv(curve: RocCurve) -> bytes:
    """Every exact point of the curve: threshold, accepted genuine / impostor pairs, TAR, FAR."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "threshold": curve.thresholds[1:],
            "genuine_accepted": curve.tp[1:],
            "impostor_accepted": curve.fp[1:],
            "tar": curve.tar[1:],
            "far": curve.far[1:],
        }
    )
    return frame.to_csv(index=False).encode()


def _finite(v):
    """JSON has no infinity or NaN: such values become null."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    return v


def card_json(card: dict) -> bytes:
    return json.dumps(_finite(card), indent=2, allow_nan=False, default=float).encode()


def _num(v: float | None) -> str:
    return "none" if v is None else f"{v:.6g}"


def _pct(v: float) -> str:
    return f"{100 * v:.4g}%"


def card_markdown(card: dict) -> str:
    lo_f, hi_f = card["far_interval"]
    lo_t, hi_t = card["tar_interval"]
    p, c = card["pairs"], card["counts"]
    rows = "\n".join(
        f"| {k} | {'not measurable' if v is None else f'{v:.4f}'} |" for k, v in card["curve"]["tar_at_far"].items()
    )
    sampling = (
        f"\n\n{p['sampling']['impostor_pairs_sampled']:,} of {p['sampling']['impostor_pairs_total']:,} impostor "
        f"pairs, sampled uniformly; {p['sampling']['note']}."
        if p["sampling"]
        else ""
    )
    trained = f"; trained on {card['model']['trained_on']}" if card["model"].get("trained_on") else ""
    return f"""# Verification threshold card

**Decision:** {card["decision"]}, threshold **{_num(card["threshold"])}** ({card["how_chosen"]}).

| figure | value | {card["interval"]} interval |
| --- | --- | --- |
| FAR (false accept rate) | {_pct(card["far"])} | {_pct(lo_f)} to {_pct(hi_f)} |
| TAR (true accept rate) | {_pct(card["tar"])} | {_pct(lo_t)} to {_pct(hi_t)} |
| accuracy | {_pct(card["accuracy"])} | |
| precision | {_pct(card["precision"])} | |

Counts: {c["true_accepts"]:,} true accepts, {c["false_rejects"]:,} false rejects, {c["false_accepts"]:,} false accepts,
{c["true_rejects"]:,} true rejects, over {p["genuine"]:,} genuine and {p["impostor"]:,} impostor pairs ({p["from"]}).{sampling}

Whole curve: AUC {card["curve"]["auc"]:.6f}, EER {_pct(card["curve"]["eer"])} at {card["curve"]["eer_threshold"]:.6g}.

| FAR target | TAR |
| --- | --- |
{rows}

- Model: {card["model"]["name"]} ({card["model"]["format"]}), sha256 `{card["model"]["sha256"]}`, preprocessing {card["model"]["preprocessing"]}{trained}
- Data: {card["data"]["name"]}, {card["data"]["items"]} items, sha256 `{card["data"]["sha256"]}`
- Created {card["created"]} with Embedding Explorer.
"""
