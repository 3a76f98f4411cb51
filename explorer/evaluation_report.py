"""The evaluation report of an :class:`explorer.evaluation.Evaluation`: one self-contained HTML file
(plotly.js and the thumbnails inside it, so it opens offline), with Markdown and JSON twins."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from PIL import Image
from plotly.offline import get_plotlyjs

from explorer import plots
from explorer.analysis.galleries import Pair
from explorer.analysis.headline import tar_rows
from explorer.evaluation import Evaluation
from explorer.markdown import plain
from explorer.report import NO_SPREAD, card_markdown, json_safe

RETRIEVAL = (("precision_at_1", "Precision@1"), ("r_precision", "R-Precision"), ("map_at_r", "MAP@R"))
PAIR_TEXT = ("a", "label_a", "b", "label_b")
WORST_CLASSES = 20  # classes listed in the Markdown / HTML tables (the JSON holds them all)


def figures(ev: Evaluation) -> dict[str, go.Figure]:
    """The report's figures by name, as the pages draw them."""
    v = ev.verification
    r, curve, s = v.result, v.curve, v.scores
    out = {
        "distances": plots.pair_histogram(
            s.edges, s.genuine_hist, s.impostor_hist, metric=s.metric, density=True, threshold=r.threshold
        ),
        "roc": plots.roc_figure(curve.far, curve.tar, point=(r.far, r.tar)),
        "det": plots.det_figure(curve.far, 1.0 - curve.tar, point=(r.far, 1 - r.tar)),
    }
    if ev.retrieval is not None:
        out["retrieval"] = plots.per_class_bar(ev.retrieval.per_class)
    if ev.clusters is not None:
        out["clusters"] = plots.contingency_heatmap(ev.clusters.table)
    return out


def _pairs(ev: Evaluation, pairs: list[Pair]) -> list[dict]:
    return [
        {
            "a": str(ev.ids[p.a]),
            "label_a": str(ev.labels[p.a]),
            "b": str(ev.ids[p.b]),
            "label_b": str(ev.labels[p.b]),
            "distance": p.distance,
        }
        for p in pairs
    ]


def report_dict(ev: Evaluation) -> dict:
    """Every figure of the report as plain JSON-able values."""
    v, h = ev.verification, ev.verification.head
    ret = None
    if ev.retrieval is not None:
        ret = {
            **{k: getattr(ev.retrieval, k) for k, _ in RETRIEVAL},
            "queries": ev.retrieval.queries,
            "items": ev.retrieval.items,
            "half_width_95": ev.retrieval.half_width,
            "per_class": ev.retrieval.per_class.to_dict(orient="records"),
        }
    clusters = None
    if ev.clusters is not None:
        c = ev.clusters
        clusters = {"method": "k-means", "k": c.k, "metric": c.metric, **c.figures, "silhouette": c.silhouette}
    return json_safe(
        {
            "report": "embedding evaluation",
            "created": _now(),
            "provenance": {k: str(x) for k, x in ev.provenance.items()},
            "data": {"items": ev.items, "identities": ev.identities, "dimension": ev.dimension, "left_out": ev.dropped},
            "metric": ev.metric,
            "pairs": {"from": ev.pairs_from, "genuine": v.scores.n_genuine, "impostor": v.scores.n_impostor},
            "verification": {
                "auc": h.auc,
                "auc_bound": h.auc_bound,
                "eer": h.eer,
                "eer_threshold": h.eer_threshold,
                "tar_at_far": tar_rows(h),
            },
            "threshold_card": v.card,
            "retrieval": ret,
            "clusters": clusters,
            "errors": {"false_accepts": _pairs(ev, v.false_accepts), "false_rejects": _pairs(ev, v.false_rejects)},
            "notes": ev.notes,
        }
    )


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _plain(v):
    return int(v) if isinstance(v, np.integer) else float(v)


def report_json(ev: Evaluation) -> bytes:
    return json.dumps(report_dict(ev), indent=2, allow_nan=False, default=_plain).encode()


def markdown_table(rows: list[dict], text: tuple[str, ...] = ()) -> str:
    """Rows as a Markdown table; the ``text`` columns (ids, labels: the data's own words) escaped
    so that they read as written."""
    if not rows:
        return ""
    keys = list(rows[0])
    cell = lambda k, x: plain(x) if k in text else str(x).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
    return "\n".join(lines + ["| " + " | ".join(cell(k, r[k]) for k in keys) + " |" for r in rows])


def _retrieval_rows(ev: Evaluation) -> list[dict]:
    hw = ev.retrieval.half_width or {}
    return [
        {"figure": name, "value": f"{getattr(ev.retrieval, k):.4f}" + (f" ± {hw[k]:.4f}" if k in hw else "")}
        for k, name in RETRIEVAL
    ]


def _worst_rows(ev: Evaluation) -> list[dict]:
    t = ev.retrieval.per_class.dropna(subset=["map_at_r"]).sort_values("map_at_r", kind="stable").head(WORST_CLASSES)
    return [
        {
            "class": r["class"],
            "items": int(r["items"]),
            "Precision@1": f"{r['precision_at_1']:.4f}",
            "MAP@R": f"{r['map_at_r']:.4f}",
        }
        for _, r in t.iterrows()
    ]


def _cluster_rows(ev: Evaluation) -> list[dict]:
    c = ev.clusters
    return [{"figure": k, "value": f"{x:.4f}"} for k, x in {**c.figures, "silhouette": c.silhouette}.items()]


def _error_rows(ev: Evaluation, pairs: list[Pair]) -> list[dict]:
    return [{**p, "distance": f"{p['distance']:.5g}"} for p in _pairs(ev, pairs)]


def _headline_rows(ev: Evaluation) -> list[dict]:
    h, s = ev.verification.head, ev.verification.scores
    return [
        {"figure": "pairs", "value": f"{s.n_genuine:,} genuine, {s.n_impostor:,} impostor ({ev.pairs_from})"},
        {"figure": "ROC AUC", "value": f"{h.auc:.6f}"},
        {"figure": "EER", "value": f"{100 * h.eer:.3f}% at {h.eer_threshold:.5g}"},
    ]


def _title(ev: Evaluation) -> str:
    card = ev.verification.card
    model = card["model"]["name"] or "vectors as given"
    return f"Evaluation of {model} on {card['data']['name'] or 'unnamed data'}"


def report_markdown(ev: Evaluation) -> str:
    v = ev.verification
    parts = [
        f"# {plain(_title(ev))}",
        f"{ev.items:,} items, {ev.identities:,} identities, {ev.dimension} dimensions; {ev.metric} distance.",
        "## Verification",
        markdown_table(_headline_rows(ev), ("value",)),  # the pairs' source: a file's name
        "### TAR at FAR",
        markdown_table(tar_rows(v.head)),
    ]
    if ev.retrieval is not None:
        parts += [
            "## Retrieval",
            markdown_table(_retrieval_rows(ev)),
            "### Worst classes",
            markdown_table(_worst_rows(ev), ("class",)),
        ]
    if ev.clusters is not None:
        parts += [
            f"## Clusters (k-means, k = {ev.clusters.k}, {ev.clusters.metric})",
            markdown_table(_cluster_rows(ev)),
        ]
    parts += ["## Errors at the threshold", "### False accepts (closest impostor pairs accepted)"]
    parts.append(markdown_table(_error_rows(ev, v.false_accepts), PAIR_TEXT) or "None.")
    parts.append("### False rejects (farthest genuine pairs rejected)")
    parts.append(markdown_table(_error_rows(ev, v.false_rejects), PAIR_TEXT) or "None.")
    if ev.notes:
        parts += ["## Notes", "\n".join(f"- {n}" for n in ev.notes)]
    parts.append("#" + card_markdown(v.card).replace("\n## ", "\n### "))  # the card, a section of the report
    return "\n\n".join(parts) + "\n"


def _png_url(img: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(img, np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _html_table(rows: list[dict]) -> str:
    if not rows:
        return "<p>None.</p>"
    keys = list(rows[0])
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[k]))}</td>" for k in keys) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _gallery(ev: Evaluation, pairs: list[Pair], thumbnails) -> str:
    if thumbnails is None or not pairs:
        return _html_table(_error_rows(ev, pairs))
    cells = []
    for p in pairs:
        imgs = "".join(
            f'<figure><img src="{_png_url(thumbnails[i])}" alt="{html.escape(str(ev.ids[i]))}">'
            f"<figcaption>{html.escape(str(ev.ids[i]))} ({html.escape(str(ev.labels[i]))})</figcaption></figure>"
            for i in (p.a, p.b)
        )
        cells.append(f'<div class="pair">{imgs}<div>distance {p.distance:.5g}</div></div>')
    return f'<div class="gallery">{"".join(cells)}</div>'


def _figure(name: str, fig: go.Figure) -> str:
    # each figure is drawn as the page is read, at its box's width then: a grid with fixed tracks
    # (auto-fill, not a flex row) gives the first of a row its final width before the next arrives
    body = pio.to_html(fig, full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    return f'<div class="figure" data-figure="{name}">{body}</div>'


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f4f4f4}td{overflow-wrap:anywhere}
.row{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1em}.row .figure{min-width:0}
.gallery{display:flex;flex-wrap:wrap;gap:1em}.pair{border:1px solid #ddd;padding:.4em}
.pair figure{display:inline-block;margin:0 .3em;text-align:center}.pair img{width:88px;image-rendering:pixelated}
figcaption{font-size:.8em}.note{color:#555}pre{white-space:pre-wrap;overflow-wrap:anywhere}
"""


def _card_html(card: dict) -> str:
    """The card's decision, rates with their intervals, counts and intended use; the whole card as
    JSON beneath (what the Threshold page downloads)."""
    c, cnt, sb = card["comparison"], card["counts"], card["comparison"]["subject_bootstrap"] or {}
    span = lambda v: "" if v is None else f"{100 * v[0]:.4g}% to {100 * v[1]:.4g}%" if v[0] != v[1] else NO_SPREAD  # noqa: E731
    threshold = "none" if card["threshold"] is None else f"{card['threshold']:.6g}"
    rows = [
        {
            "figure": name,
            "value": f"{100 * c[k]:.4g}%",
            c["interval"].split(" (")[0]: span(c[f"{k}_interval"]),
            "over subjects": span(sb.get(f"{k}_interval")),
        }
        for k, name in (("fmr", "FMR (false match rate; FAR)"), ("fnmr", "FNMR (false non-match rate; FRR)"))
    ]
    body = json.dumps(json_safe(card), indent=2, default=_plain)
    return "".join(
        [
            f"<p><b>Decision:</b> {html.escape(card['decision'])}, threshold <b>{threshold}</b> "
            f"({html.escape(card['how_chosen'])}).</p>",
            _html_table(rows),
            f"<p>{cnt['mated_accepted']:,} mated accepted, {cnt['mated_rejected']:,} mated rejected, "
            f"{cnt['non_mated_accepted']:,} non-mated accepted, {cnt['non_mated_rejected']:,} non-mated rejected "
            f"({html.escape(card['pairs']['from'])}).</p>",
            f"<p><b>Intended use:</b> {html.escape(card['intended_use'])}</p><p>Not covered:</p><ul>",
            *(f"<li>{html.escape(x)}</li>" for x in card["not_covered"]),
            f"</ul><details><summary>The whole card (JSON)</summary><pre>{html.escape(body)}</pre></details>",
        ]
    )


def report_html(ev: Evaluation, *, thumbnails=None) -> str:
    """The report as one HTML page; ``thumbnails``: small uint8 images by row, for the error gallery."""
    v, figs = ev.verification, figures(ev)
    prov = [{"": k, "value": str(x)} for k, x in ev.provenance.items()]
    out = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(_title(ev))}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(_title(ev))}</h1>",
        f"<p>{ev.items:,} items, {ev.identities:,} identities, {ev.dimension} dimensions; {ev.metric} distance.</p>",
        "<h2>Provenance</h2>",
        _html_table(prov),
        "<h2>Verification</h2>",
        _html_table(_headline_rows(ev)),
        '<div class="row">',
        *(_figure(n, figs[n]) for n in ("roc", "det", "distances")),
        "</div><h3>TAR at FAR</h3>",
        _html_table(tar_rows(v.head)),
        "<h3>Threshold card</h3>",
        _card_html(v.card),
    ]
    if ev.retrieval is not None:
        out += ["<h2>Retrieval</h2>", _html_table(_retrieval_rows(ev)), _figure("retrieval", figs["retrieval"])]
    if ev.clusters is not None:
        c = ev.clusters
        out += [f"<h2>Clusters (k-means, k = {c.k}, {c.metric})</h2>", _html_table(_cluster_rows(ev))]
        out.append(_figure("clusters", figs["clusters"]))
    out += [
        "<h2>Errors at the threshold</h2>",
        "<h3>False accepts: the closest impostor pairs accepted</h3>",
        _gallery(ev, v.false_accepts, thumbnails),
        "<h3>False rejects: the farthest genuine pairs rejected</h3>",
        _gallery(ev, v.false_rejects, thumbnails),
    ]
    if ev.notes:
        out += ["<h2>Notes</h2><ul>", *(f'<li class="note">{html.escape(n)}</li>' for n in ev.notes), "</ul>"]
    out.append(f'<p class="note">Written {_now()} by Embedding Explorer.</p>')
    return "\n".join(out + ["</body></html>"])
