"""The card's figures beyond the counts: each equal to its own module's figure, modelled rates
marked as modelled, thresholds in the score's units, computed once per set of pair scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.analysis.calibration import Pairs, min_cllr
from explorer.analysis.deployment import deployment_of
from explorer.analysis.headline import headline
from explorer.analysis.operating_points import named_points
from explorer.analysis.scores import from_distances
from explorer.analysis.tail_model import fit_tail
from explorer.analysis.thresholds import at_threshold
from explorer.analysis.verification import eer, scores_curve
from explorer.data.scorefile import SIMILARITY
from explorer.report import CardExtras, card_json, card_markdown, threshold_card


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    return from_distances(rng.normal(0, 1, 3_000) + 5, rng.normal(3, 1, 120_000) + 5, metric="euclidean")


def card_at(scores, t: float, extras: CardExtras | None = None) -> dict:
    extras = extras or CardExtras()
    curve = scores_curve(scores)
    return threshold_card(
        at_threshold(curve, t), headline(curve, scores), scores, how="x", provenance={}, pairs_from="t", extras=extras
    )


def test_the_card_carries_each_figure_of_its_module(scores):
    card = json.loads(card_json(card_at(scores, 5.5)))
    b = card["beyond_counting"]
    curve = scores_curve(scores)
    assert b["eer"]["value"] == pytest.approx(eer(curve)[0])
    assert b["eer"]["interval"][0] < b["eer"]["value"] < b["eer"]["interval"][1]
    assert b["named_points"]["FMR1000"] == pytest.approx(named_points(curve).fmr1000)
    tail = fit_tail(scores.impostor, scores.n_impostor, floor=0.0)  # a metric: distances end at 0
    assert b["modelled"]["fmr_at_threshold"]["fmr"] == pytest.approx(tail.fmr(card["threshold"]))  # the snapped one
    assert set(b["modelled"]["threshold_for_fmr"]) == {"1e-06", "1e-07", "1e-08"}  # 120k pairs count 1e-5
    assert b["modelled"]["threshold_for_fmr"]["1e-06"]["threshold"] == pytest.approx(tail.threshold_at(1e-6))
    assert b["calibration"]["min_cllr_bits"] == pytest.approx(min_cllr(Pairs.binned(scores)))
    md = card_markdown(card_at(scores, 5.5))
    assert "**Modelled, not counted**" in md and "Modelled FMR at this threshold" in md
    assert "FMR100" in md and "min Cllr" in md


def test_a_threshold_beyond_the_tail_is_counted_not_modelled(scores):
    tail = fit_tail(scores.impostor, scores.n_impostor, floor=0.0)  # a metric: distances end at 0
    b = card_at(scores, tail.u + 0.5)["beyond_counting"]
    assert b["modelled"]["fmr_at_threshold"] is None


def test_computed_once_per_scores_and_in_the_scores_units(scores):
    assert deployment_of(scores) is deployment_of(scores)
    extras = CardExtras(score=("similarity", SIMILARITY))
    b = card_at(scores, 5.5, extras)["beyond_counting"]
    plain = card_at(scores, 5.5)["beyond_counting"]
    got, want = b["modelled"]["threshold_for_fmr"]["1e-06"], plain["modelled"]["threshold_for_fmr"]["1e-06"]
    assert got["threshold"] == pytest.approx(SIMILARITY.shown(want["threshold"]))
    assert got["threshold_interval"][0] <= got["threshold"] <= got["threshold_interval"][1]


def test_too_few_impostors_for_a_model_say_so():
    s = from_distances(np.array([0.1, 0.2, 0.3]), np.linspace(1, 2, 400), metric="euclidean")
    md = card_markdown(card_at(s, 0.5))
    assert "Modelled rates: none" in md and "fewer than 50" in md
