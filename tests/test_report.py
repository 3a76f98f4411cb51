"""Threshold cards and error galleries against hand computations."""

import json

import numpy as np
import pytest

from explorer.analysis.galleries import false_accepts, false_rejects
from explorer.analysis.headline import headline
from explorer.analysis.rates import group_rates
from explorer.analysis.scores import from_distances
from explorer.analysis.thresholds import at_threshold
from explorer.analysis.verification import roc_curve, scores_curve
from explorer.report import CardExtras, card_json, card_markdown, threshold_card

RNG = np.random.default_rng(5)
gen_d, imp_d = RNG.normal(0.5, 0.2, 300), RNG.normal(1.2, 0.25, 2000)
PG = RNG.integers(0, 100, (300, 2))
PI = RNG.integers(0, 100, (2000, 2))
PROV = {
    "model_name": "m.safetensors",
    "model_format": "safetensors",
    "checkpoint_hash": "c" * 64,
    "preprocessing": "grey 8x8",
    "data_name": "digits",
    "data_hash": "d" * 64,
    "n": 100,
    "dim": 32,
    "model_trained_on": "digits: 1,437 items of 8 identities",
}


@pytest.fixture(scope="module")
def scores():
    return from_distances(gen_d, imp_d, metric="sqeuclidean", pairs_genuine=PG, pairs_impostor=PI)


def test_galleries_are_the_extreme_errors(scores):
    t = 0.8
    fa = false_accepts(scores, t, limit=5)
    order = np.argsort(imp_d)
    assert [p.distance for p in fa] == pytest.approx(list(imp_d[order][:5]))
    assert [(p.a, p.b) for p in fa] == [tuple(PI[k]) for k in order[:5]]
    assert all(p.distance <= t for p in fa)
    fr = false_rejects(scores, t, limit=5)
    assert [p.distance for p in fr] == pytest.approx(list(np.sort(gen_d)[::-1][:5]))
    assert all(p.distance > t for p in fr)
    assert false_accepts(scores, -1.0) == [] and false_rejects(scores, 99.0) == []


def test_card_holds_what_a_team_ships(scores):
    curve = scores_curve(scores)
    r = at_threshold(curve, 0.8, ci_method="exact")
    head = headline(curve)
    card = threshold_card(
        r,
        head,
        scores,
        how="target FAR, target 0.01",
        provenance=PROV,
        pairs_from="protocol file, 2,300 pairs",
        extras=CardExtras(fmr_target=0.01),
    )
    back = json.loads(card_json(card))
    assert back["metric"] == "sqeuclidean" and back["threshold"] == r.threshold and back["fmr_target"] == 0.01
    t = r.threshold
    c = back["comparison"]
    assert c["fmr"] == np.mean(imp_d <= t) and c["fnmr"] == pytest.approx(np.mean(gen_d > t), abs=1e-15)
    assert c["fmr_interval"][0] <= c["fmr"] <= c["fmr_interval"][1]
    assert c["fnmr_interval"][0] <= c["fnmr"] <= c["fnmr_interval"][1]
    assert c["interval"].startswith("95% Clopper-Pearson over pairs")
    assert c["false_matches"] == (imp_d <= t).sum() and c["false_non_matches"] == (gen_d > t).sum()
    assert c["rule_of_30"]["fmr_rests_on_fewer_than_30_errors"] == ((imp_d <= t).sum() < 30)
    assert back["pairs"] == {"mated": 300, "non_mated": 2000, "from": "protocol file, 2,300 pairs", "sampling": None}
    ref = roc_curve(gen_d, imp_d)
    assert list(back["fnmr_at_fmr"]) == ["0.01", "0.001", "0.0001", "1e-05", "1e-06"]
    assert back["fnmr_at_fmr"]["0.01"]["fnmr"] == pytest.approx(1 - ref.tar[ref.far <= 0.01].max(), abs=1e-15)
    assert back["fnmr_at_fmr"]["0.0001"]["fnmr"] is None  # 2,000 non-mated pairs cannot measure 1e-4
    assert back["acquisition"]["fta"] is None and back["acquisition"]["far"] is None  # FMR / FNMR only
    assert "presentation attacks" in back["not_covered"][0] and back["intended_use"]
    assert back["model"]["sha256"] == "c" * 64 and back["data"]["sha256"] == "d" * 64
    assert back["how_chosen"].startswith("target FAR") and back["created"]
    assert back["curve"]["auc"] == pytest.approx(roc_auc(gen_d, imp_d))
    md = card_markdown(card)
    assert f"{card['threshold']:.6g}" in md and "c" * 64 in md and "Clopper-Pearson" in md
    assert f"{100 * c['fmr']:.4g}%" in md and "target FMR 0.01" in md and "Presentation attack" not in md
    assert back["model"]["trained_on"] == "digits: 1,437 items of 8 identities"
    assert "trained on digits: 1,437 items of 8 identities" in md


def test_card_counts_failures_to_acquire_and_groups(scores):
    curve = scores_curve(scores)
    r = at_threshold(curve, 0.8)
    rows = group_rates(np.r_[gen_d, imp_d], np.r_[np.ones(300, bool), np.zeros(2000, bool)], GROUPS, r.threshold)
    extras = CardExtras(
        acquisition={"attempts": 410, "failures": 10, "what": "no face found"},
        groups=("region", rows),
        evaluated={"which": "held-out identities", "identities": 12, "seen_in_training": 0},
        subject_note="no subjects known",
    )
    card = json.loads(
        card_json(threshold_card(r, headline(curve), scores, how="h", provenance=PROV, pairs_from="t", extras=extras))
    )
    a = card["acquisition"]
    fta, fmr, fnmr = 10 / 410, card["comparison"]["fmr"], card["comparison"]["fnmr"]
    assert a["fta"]["rate"] == pytest.approx(fta)
    assert a["far"] == pytest.approx(fmr * (1 - fta)) and a["frr"] == pytest.approx(fta + fnmr * (1 - fta))
    by = {row["group"]: row for row in card["groups"]["rows"]}
    d, mated = np.r_[gen_d, imp_d], np.r_[np.ones(300, bool), np.zeros(2000, bool)]
    for name, row in by.items():
        m = name == GROUPS
        assert row["fmr"] == pytest.approx(np.mean(d[m & ~mated] <= r.threshold))
        assert row["fnmr"] == pytest.approx(np.mean(d[m & mated] > r.threshold))
    fmrs = [row["fmr"] for row in by.values()]
    assert card["groups"]["fmr_max_min_ratio"] == pytest.approx(max(fmrs) / min(fmrs))
    assert card["evaluated"]["which"] == "held-out identities"
    assert card["comparison"]["subject_bootstrap"] == {"note": "no subjects known"}
    md = card_markdown(
        threshold_card(r, headline(curve), scores, how="h", provenance=PROV, pairs_from="t", extras=extras)
    )
    assert "FTA 2.439%" in md and "Per group (region)" in md and "12 identities, 0 of them seen in training" in md


GROUPS = np.array(["north", "south", "east"])[np.random.default_rng(2).integers(0, 3, 2300)]


def roc_auc(g, i):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(np.r_[np.ones(len(g)), np.zeros(len(i))], -np.r_[g, i])


def test_headline_of_a_complete_curve_is_exact(scores):
    h = headline(scores_curve(scores))
    assert h.exact and h.auc_bound == 0 and h.auc == pytest.approx(roc_auc(gen_d, imp_d), abs=1e-12)
    ref = roc_curve(gen_d, imp_d)
    assert h.tar_at_far[0.01] == ref.tar[ref.far <= 0.01].max()


def test_curve_csv_rows_are_the_curve(scores):
    import io

    import pandas as pd

    from explorer.report import curve_csv

    curve = scores_curve(scores)
    frame = pd.read_csv(io.BytesIO(curve_csv(curve)))
    assert len(frame) == len(curve.thresholds) - 1
    k = len(frame) // 2
    t = frame["threshold"][k]
    assert frame["impostor_accepted"][k] == (imp_d <= t).sum() and frame["genuine_accepted"][k] == (gen_d <= t).sum()


def test_card_when_nothing_may_be_accepted():
    s = from_distances(np.array([0.5, 0.7]), np.array([0.0, 1.0, 2.0]), metric="euclidean")
    curve = scores_curve(s)
    from explorer.analysis.thresholds import pick_threshold

    t = pick_threshold(curve, "target FAR", target=0.1)  # the closest pair is an impostor at 0
    r = at_threshold(curve, t)
    assert t == -np.inf and r.fp == 0 and r.tp == 0
    card = threshold_card(r, headline(curve), s, how="target FAR", provenance=PROV, pairs_from="test")
    assert card["threshold"] is None and "accept no pair" in card["decision"]
    json.loads(card_json(card))  # valid JSON: no -Infinity
    assert "threshold **none**" in card_markdown(card)
