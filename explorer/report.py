"""Threshold cards: what a product team ships with a verification threshold (JSON and Markdown)."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass

import numpy as np

from explorer.analysis.deployment import deployment_of
from explorer.analysis.headline import Headline
from explorer.analysis.rates import RULE_OF_30, SubjectIntervals, max_min_ratio
from explorer.analysis.scores import PairScores
from explorer.analysis.thresholds import ThresholdResult
from explorer.analysis.verification import FAR_TARGETS, RocCurve
from explorer.card_sections import beyond_the_counts
from explorer.data.scorefile import Direction
from explorer.markdown import plain

INTENDED_USE = (
    "1:1 verification (is this the claimed identity?) at the threshold above, on data like the data evaluated: "
    "the same capture conditions, image quality and population."
)
NOT_COVERED = (
    "presentation attacks (photos, screens, masks, replays: ISO/IEC 30107 presentation attack detection)",
    "1:N identification (false positive rates grow with the gallery size)",
    "groups, capture conditions and image quality absent from the data evaluated",
)


NO_SPREAD = "no spread: every replicate gave one value"  # a zero-width bootstrap interval, not a certainty


@dataclass(frozen=True)
class CardExtras:
    """What the card says beyond the comparison counts, where it is known.

    fmr_target: the FMR the threshold was picked for; score: the score's name and direction when
    the pairs came scored (the threshold is then in the score's units); subject_intervals: FMR /
    FNMR intervals over subjects; acquisition: {"attempts", "failures", "what"} failures to
    acquire (the face pipeline); enrolment: {"attempts", "failures"}; groups: (column, rows of
    :func:`explorer.analysis.rates.group_rates`); evaluated: {"identities", "seen_in_training",
    "which"} for a model trained here.
    """

    fmr_target: float | None = None
    score: tuple[str, Direction] | None = None
    subject_intervals: SubjectIntervals | None = None
    subject_note: str | None = None
    acquisition: dict | None = None
    enrolment: dict | None = None
    groups: tuple[str, list[dict]] | None = None
    evaluated: dict | None = None
    dev_eval: dict | None = None  # DevEval.as_dict(): the threshold's rule proven on held-out people
    group_pairs: dict | None = None  # GroupPairs.as_dict(): false matches between groups


def acquisition_of(dataset) -> dict | None:
    """Failures to acquire of face chips cut from photos (None for other data: not counted)."""
    if getattr(dataset, "faces", None) is None:
        return None
    failed = sum(1 for f in dataset.failures if f.reason.startswith("failure to acquire"))
    return {"attempts": len(dataset) + failed, "failures": failed, "what": "no face found in the photo"}


def threshold_card(
    result: ThresholdResult,
    head: Headline,
    scores: PairScores,
    *,
    how: str,
    provenance: dict,
    pairs_from: str,
    extras: CardExtras = CardExtras(),
) -> dict:
    """Everything needed to ship and later audit the threshold, in ISO/IEC 19795-1 terms, as
    plain JSON-able values. FMR / FNMR are the comparison algorithm's (pairs compared); FAR / FRR
    appear only where failures to acquire were counted (then FAR = FMR (1 - FTA) and
    FRR = FTA + FNMR (1 - FTA), single attempt)."""
    sampling = None
    if scores.sampled:
        sampling = {
            "non_mated_pairs_sampled": scores.n_impostor,
            "non_mated_pairs_total": scores.n_impostor_total,
            "note": "FMR and its interval are estimated from the uniform sample",
        }
    fmr, fnmr = result.far, 1.0 - result.tar
    finite = bool(np.isfinite(result.threshold))
    shown = result.threshold
    if extras.score is not None and finite:
        name, direction = extras.score
        shown = direction.shown(result.threshold)
        decision = f"same identity when {name} {direction.accept} threshold ({direction.name})"
    else:
        decision = f"same identity when {scores.metric} distance <= threshold"
    lo_g, hi_g = result.tar_ci
    card = {
        "card": "verification threshold, ISO/IEC 19795-1 terms",
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "decision": decision if finite else "accept no pair (no threshold meets the target)",
        "metric": scores.metric,
        "threshold": shown if finite else None,
        "how_chosen": how,
        "fmr_target": extras.fmr_target,
        "comparison": {
            "fmr": fmr,
            "fmr_interval": list(result.far_ci),
            "fnmr": fnmr,
            "fnmr_interval": [1.0 - hi_g, 1.0 - lo_g],
            "interval": f"95% {'Clopper-Pearson' if result.ci_method == 'exact' else 'Wilson'} over pairs "
            "(assumes independent pairs; pairs that reuse images or subjects make it too narrow)",
            "subject_bootstrap": _subject_part(extras),
            "false_matches": result.fp,
            "false_non_matches": result.fn,
            "rule_of_30": {
                "fmr_rests_on_fewer_than_30_errors": result.fp < RULE_OF_30,
                "fnmr_rests_on_fewer_than_30_errors": result.fn < RULE_OF_30,
                "note": "with fewer than 30 errors a rate is not known to within +-30% at 90% confidence",
            },
        },
        "counts": {
            "mated_accepted": result.tp,
            "mated_rejected": result.fn,
            "non_mated_accepted": result.fp,
            "non_mated_rejected": result.tn,
        },
        "pairs": {
            "mated": scores.n_genuine,
            "non_mated": scores.n_impostor,
            "from": pairs_from,
            "sampling": sampling,
        },
        "fnmr_at_fmr": {
            f"{f:g}": {
                "fnmr": None if head.tar_at_far[f] is None else 1.0 - head.tar_at_far[f],
                "counted": None if head.tar_at_far[f] is None else "exactly" if head.tar_exact[f] else "bin grid",
                "fnmr_bounds": None
                if head.tar_exact[f] or head.tar_bounds[f] is None
                else [1.0 - head.tar_bounds[f][1], 1.0 - head.tar_bounds[f][0]],
            }
            for f in FAR_TARGETS[1:]
        },
        "curve": {
            "auc": head.auc,
            "auc_max_binning_error": head.auc_bound,
            "eer": head.eer,
            "eer_threshold": extras.score[1].shown(head.eer_threshold) if extras.score else head.eer_threshold,
        },
        "beyond_counting": _beyond(scores, result.threshold, extras),
        "held_out_people": extras.dev_eval,
        "between_groups": extras.group_pairs,
        "acquisition": _acquisition(extras, fmr, fnmr),
        "groups": _groups(extras),
        "evaluated": extras.evaluated,
        "intended_use": INTENDED_USE,
        "not_covered": list(NOT_COVERED),
        "scores_file": provenance.get("scores_file"),
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
    return card


def _beyond(scores: PairScores, threshold: float, extras: CardExtras) -> dict:
    """The EER's interval, the named points, modelled rates and calibration (see
    :mod:`explorer.analysis.deployment`), thresholds in the score's units where the pairs came scored."""
    shown = (lambda t: float(extras.score[1].shown(t))) if extras.score is not None else float
    try:
        return deployment_of(scores).as_dict(threshold, shown)
    except ValueError as exc:  # e.g. every pair at one distance: no tail to fit, nothing to calibrate
        return {"note": f"not computed: {exc}"}


def _subject_part(extras: CardExtras) -> dict | None:
    s = extras.subject_intervals
    if s is None:
        return {"note": extras.subject_note} if extras.subject_note else None
    return {
        "fmr_interval": list(s.fmr),
        "fnmr_interval": list(s.fnmr),
        "subjects": s.subjects,
        "replicates": s.replicates,
        "note": "95% percentile interval, subjects drawn with replacement",
    }


def _acquisition(extras: CardExtras, fmr: float, fnmr: float) -> dict:
    out: dict = {"fta": None, "fte": None, "far": None, "frr": None}
    a, e = extras.acquisition, extras.enrolment
    if e:
        out["fte"] = {"failures": e["failures"], "attempts": e["attempts"], "rate": e["failures"] / e["attempts"]}
    if not a or not a["attempts"]:
        out["note"] = "failures to acquire were not counted: FMR / FNMR only (no FAR / FRR)"
        return out
    fta = a["failures"] / a["attempts"]
    out["fta"] = {"failures": a["failures"], "attempts": a["attempts"], "rate": fta, "what": a.get("what")}
    out["far"], out["frr"] = fmr * (1 - fta), fta + fnmr * (1 - fta)
    out["note"] = "FAR = FMR (1 - FTA), FRR = FTA + FNMR (1 - FTA): one attempt per transaction"
    return out


def _groups(extras: CardExtras) -> dict | None:
    if extras.groups is None:
        return None
    column, rows = extras.groups
    return {
        "column": column,
        "rows": rows,
        "fmr_max_min_ratio": max_min_ratio([r["fmr"] for r in rows]),
        "fnmr_max_min_ratio": max_min_ratio([r["fnmr"] for r in rows]),
        "note": "at the one threshold above; a ratio is null when fewer than two groups are measured or one "
        "group has no error (unbounded)",
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


def json_safe(v):
    """JSON has no infinity or NaN: such values become null."""
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_safe(x) for x in v]
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    return v


def card_json(card: dict) -> bytes:
    return json.dumps(json_safe(card), indent=2, allow_nan=False, default=float).encode()


def _num(v: float | None) -> str:
    return "none" if v is None else f"{v:.6g}"


def _pct(v: float) -> str:
    return f"{100 * v:.4g}%"


def _interval(v) -> str:
    if v is None:
        return ""
    # a bootstrap whose every replicate agrees has no spread to show: that is not certainty
    return NO_SPREAD if v[0] == v[1] else f"{_pct(v[0])} to {_pct(v[1])}"


def card_markdown(card: dict) -> str:
    c, p, cnt = card["comparison"], card["pairs"], card["counts"]
    sb = c["subject_bootstrap"] or {}
    flag = lambda key: " (fewer than 30 errors)" if c["rule_of_30"][key] else ""  # noqa: E731
    rows = "\n".join(
        f"| {k} | {'not measurable' if v['fnmr'] is None else format(v['fnmr'], '.6f')} | {v['counted'] or ''} |"
        for k, v in card["fnmr_at_fmr"].items()
    )
    sampling = (
        f"\n\n{p['sampling']['non_mated_pairs_sampled']:,} of {p['sampling']['non_mated_pairs_total']:,} non-mated "
        f"pairs, sampled uniformly; {p['sampling']['note']}."
        if p["sampling"]
        else ""
    )
    acq = card["acquisition"]
    acquisition = acq["note"]
    if acq["fta"]:
        f = acq["fta"]
        acquisition = (
            f"FTA {_pct(f['rate'])} ({f['failures']:,} of {f['attempts']:,}: {f['what']}); "
            f"FAR {_pct(acq['far'])}, FRR {_pct(acq['frr'])}. {acq['note']}."
        )
    if acq["fte"]:
        acquisition += f" FTE {_pct(acq['fte']['rate'])} ({acq['fte']['failures']:,} of {acq['fte']['attempts']:,})."
    groups = ""
    if card["groups"]:
        g = card["groups"]
        ratio = lambda v: "unbounded or not measurable" if v is None else f"{v:.3g}"  # noqa: E731
        lines = "\n".join(
            f"| {plain(r['group'])} | {r['mated']:,} | {r['non_mated']:,} | "
            f"{'' if r['fmr'] is None else _pct(r['fmr'])} | {'' if r['fnmr'] is None else _pct(r['fnmr'])} |"
            for r in g["rows"]
        )
        groups = (
            f"\n\n## Per group ({plain(g['column'])}), at this threshold\n\n| group | mated | non-mated | FMR | FNMR |\n"
            f"| --- | --- | --- | --- | --- |\n{lines}\n\nmax / min: FMR {ratio(g['fmr_max_min_ratio'])}, "
            f"FNMR {ratio(g['fnmr_max_min_ratio'])}."
        )
    ev = card["evaluated"]
    evaluated = ""
    if ev:
        evaluated = (
            f"\n- Evaluated on {plain(ev['which'])}: {ev['identities']:,} identities, {ev['seen_in_training']:,} of them "
            "seen in training"
        )
    # the pick's rule, and its target once (a "target FAR" rule is the FMR target)
    chosen = [] if card["how_chosen"] == "target FAR" and card["fmr_target"] is not None else [card["how_chosen"]]
    chosen += [] if card["fmr_target"] is None else [f"target FMR {card['fmr_target']:g}"]
    chosen = [plain(x) for x in chosen]
    not_covered = "\n".join(f"- {x}" for x in card["not_covered"])
    return f"""# Verification threshold card (ISO/IEC 19795-1 terms)

**Decision:** {plain(card["decision"])}, threshold **{_num(card["threshold"])}** ({", ".join(chosen)}).

| comparison figure | value | {c["interval"].split(" (")[0]} | over subjects |
| --- | --- | --- | --- |
| FMR (false match rate; FAR on the pages) | {_pct(c["fmr"])}{flag("fmr_rests_on_fewer_than_30_errors")} | {_interval(c["fmr_interval"])} | {_interval(sb.get("fmr_interval"))} |
| FNMR (false non-match rate; FRR on the pages) | {_pct(c["fnmr"])}{flag("fnmr_rests_on_fewer_than_30_errors")} | {_interval(c["fnmr_interval"])} | {_interval(sb.get("fnmr_interval"))} |

Intervals: {c["interval"]}. {("Over subjects: " + plain(sb["note"]) + ".") if sb.get("note") else ""}

Counts: {cnt["mated_accepted"]:,} mated accepted, {cnt["mated_rejected"]:,} mated rejected (false non-matches),
{cnt["non_mated_accepted"]:,} non-mated accepted (false matches), {cnt["non_mated_rejected"]:,} non-mated rejected,
over {p["mated"]:,} mated and {p["non_mated"]:,} non-mated pairs ({plain(p["from"])}).{sampling}

Acquisition: {acquisition}

Whole curve: AUC {card["curve"]["auc"]:.6f}, EER {_pct(card["curve"]["eer"])} at {card["curve"]["eer_threshold"]:.6g}.

| FMR | FNMR | counted |
| --- | --- | --- |
{rows}{groups}{beyond_the_counts(card)}

## Intended use

{card["intended_use"]}

Not covered:

{not_covered}

## Provenance

{_provenance(card)}{evaluated}
- Created {card["created"]} with Embedding Explorer.
"""


def _provenance(card: dict) -> str:
    """The card's provenance lines: the scores file the pairs came scored in, else model and data."""
    f = card.get("scores_file")
    if f:
        return (
            f"- Scores file: {plain(f['name'])}, sha256 `{f['sha256']}`, {f['rows']:,} rows "
            f"({f['rows_with_a_truth']:,} with a readable truth, {f['pairs_used']:,} scored in this column)\n"
            f"- Score: column {plain(f['score_column'])}, read as a {f['direction']} ({f['direction_from']}); "
            f"score columns evaluated: {', '.join(plain(c) for c in f['score_columns'])}; truth column "
            f"{plain(f['truth_column'])}"
        )
    m, d = card["model"], card["data"]
    said = lambda v: "not recorded" if v is None else plain(v)  # noqa: E731
    items = "items not recorded" if d["items"] is None else f"{d['items']} items"
    return (
        f"- Model: {said(m['name'])} ({said(m['format'])}), sha256 `{m['sha256'] or 'not recorded'}`, "
        f"preprocessing {said(m['preprocessing'])}{trained_on(m)}\n"
        f"- Data: {said(d['name'])}, {items}, sha256 `{d['sha256'] or 'not recorded'}`"
    )


def trained_on(model: dict) -> str:
    return f"; trained on {plain(model['trained_on'])}" if model.get("trained_on") else ""
