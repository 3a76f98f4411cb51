"""A Markdown image, HTML and a link as model, data, group, score-column and file names: every
card (JSON, Markdown, the page's preview), report (HTML, Markdown) and the Compare page show
them as written, and no browser would fetch the image."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import open_page, raw_markup

from explorer.analysis.headline import headline
from explorer.analysis.rates import group_rates
from explorer.analysis.scores import from_distances
from explorer.analysis.thresholds import at_threshold
from explorer.analysis.verification import scores_curve
from explorer.data.scorefile import DISTANCE
from explorer.markdown import plain
from explorer.report import CardExtras, card_json, card_markdown, threshold_card

HOSTILE = "![t](http://elsewhere.example/t.png)<img src=x onerror=alert(1)>[link](http://elsewhere.example/)"


def _card(provenance: dict, **extras):
    rng = np.random.default_rng(0)
    g, i = rng.normal(0.5, 0.2, 200), rng.normal(1.2, 0.25, 800)
    scores = from_distances(g, i, metric="euclidean")
    curve = scores_curve(scores)
    r = at_threshold(curve, 0.8)
    return threshold_card(
        r, headline(curve), scores, how="EER", provenance=provenance, pairs_from=HOSTILE, extras=CardExtras(**extras)
    )


@pytest.mark.parametrize(
    "provenance",
    [
        {"model_name": HOSTILE, "model_format": HOSTILE, "preprocessing": HOSTILE, "data_name": HOSTILE,
         "model_trained_on": HOSTILE, "checkpoint_hash": "c" * 64, "data_hash": "d" * 64, "n": 10},
        {"scores_file": {"name": HOSTILE + ".csv", "sha256": "e" * 64, "rows": 1000, "rows_with_a_truth": 1000,
         "pairs_used": 1000, "score_columns": [HOSTILE, "b"], "score_column": HOSTILE, "direction": "distance",
         "direction_from": "detected from the truth", "truth_column": HOSTILE}},
    ],
)  # fmt: skip
def test_a_card_shows_every_name_as_written(provenance):
    rng = np.random.default_rng(1)
    d, y = rng.random(400), rng.random(400) < 0.3
    groups = np.where(rng.random(400) < 0.5, HOSTILE, "<b>other</b>")
    card = _card(
        provenance,
        score=(HOSTILE, DISTANCE),
        groups=(HOSTILE, group_rates(d, y, groups, 0.5)),
        evaluated={"which": HOSTILE, "identities": 3, "seen_in_training": 0},
        subject_note=f"not computed: {HOSTILE}",
    )
    md = card_markdown(card)
    assert not raw_markup(md), raw_markup(md)
    assert plain(HOSTILE) in md
    back = json.loads(card_json(card))  # JSON is data: the names verbatim, for a program to read
    assert back["pairs"]["from"] == HOSTILE and back["groups"]["column"] == HOSTILE


def test_a_report_shows_every_name_as_written():
    from explorer.evaluation import ThresholdChoice, evaluate
    from explorer.evaluation_report import report_html, report_markdown
    from explorer.models.embedding import Embeddings

    rng = np.random.default_rng(2)
    labels = np.repeat([HOSTILE, "b", "c", "<i>d</i>"], 15).astype(object)
    vectors = (rng.normal(size=(60, 4)) + np.repeat(np.eye(4), 15, 0) * 2).astype(np.float32)
    ids = np.array([f"{HOSTILE}{k}" for k in range(60)], dtype=object)
    prov = {"model_name": HOSTILE, "data_name": HOSTILE, "preprocessing": HOSTILE, "checkpoint_hash": "c"}
    ev = evaluate(Embeddings(vectors, labels, ids, prov), choice=ThresholdChoice("EER"))
    md = report_markdown(ev)
    assert not raw_markup(md), raw_markup(md)
    page = report_html(ev, thumbnails=[np.zeros((8, 8), np.uint8)] * 60)
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_the_compare_page_shows_a_hostile_file_column_and_group_as_written():
    rng = np.random.default_rng(3)
    n = 200
    same = np.arange(n) % 2 == 0
    frame = pd.DataFrame(
        {
            "same": same.astype(int),
            HOSTILE: np.where(same, 0.2, 0.8) + rng.normal(0, 0.3, n),
            "other": np.where(same, 0.3, 0.7) + rng.normal(0, 0.3, n),
            "group": np.where(np.arange(n) % 4 < 2, HOSTILE, "plain"),
        }
    )
    at = open_page("app_pages/compare.py")
    at.file_uploader(key="cmp_file").upload(HOSTILE + ".csv", frame.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="cmp_card_for").set_value(HOSTILE).run()
    md = next(e for e in at.expander if e.label == "Preview the card").markdown[0].value
    assert plain(HOSTILE) in md and "Per group" in md
    shown = [e.value for kind in ("markdown", "caption", "warning", "info", "success", "error") for e in at.get(kind)]
    shown += [w.label for kind in ("selectbox", "multiselect", "number_input") for w in at.get(kind)]
    bad = [r for text in shown for r in raw_markup(str(text))]
    assert not bad, bad
