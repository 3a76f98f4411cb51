"""A threshold proven on held-out people: every row's rates counted by hand on the pairs within
its halves; every pair of a set through the all-pairs pass equal to the same pairs listed."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.dev_eval import _halves, dev_eval_all_pairs, dev_eval_listed
from explorer.analysis.pairs import all_pairs
from explorer.analysis.thresholds import pick_threshold


def blobs(n=600, people=40, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, people, n)
    centres = rng.normal(size=(people, 8))
    return centres[y] + 0.6 * rng.normal(size=(n, 8)), np.array([f"p{k}" for k in y])


def listed(x, labels):
    iu = np.triu_indices(len(x), 1)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))[iu]
    return d, labels[iu[0]] == labels[iu[1]], (labels[iu[0]], labels[iu[1]])


def eer_pick(curve):
    return pick_threshold(curve, "EER")


def test_each_rate_is_counted_on_the_pairs_within_its_half():
    x, labels = blobs()
    d, same, (sa, sb) = listed(x, labels)
    got = dev_eval_listed(d, same, (sa, sb), eer_pick, partitions=2)
    names = np.unique(labels)
    assert got.identities == 40 and len(got.rows) == 4 and not got.skipped
    for row in got.rows:
        half = _halves(names, 2, 0)[row.split]
        members = {"A": set(names[half]), "B": set(names[~half])}
        ev, dv = (
            np.array([a in members[side] and b in members[side] for a, b in zip(sa, sb, strict=True)])
            for side in ("B" if row.dev == "A" else "A", row.dev)
        )
        assert row.eval_fmr == pytest.approx((d[ev & ~same] <= row.threshold).mean())
        assert row.eval_fnmr == pytest.approx((d[ev & same] > row.threshold).mean())
        assert row.dev_fmr == pytest.approx((d[dv & ~same] <= row.threshold).mean())
        assert row.eval_mated == (ev & same).sum() and row.eval_non_mated == (ev & ~same).sum()
        # the EER picked on dev: its FMR and FNMR close to each other there
        assert abs(row.dev_fmr - row.dev_fnmr) < 0.02


def test_every_pair_of_a_set_equals_the_same_pairs_listed():
    x, labels = blobs(seed=1)
    d, same, subjects = listed(x, labels)
    want = dev_eval_listed(d, same, subjects, eer_pick)
    every = lambda v, lab: all_pairs(v, lab, metric="euclidean", k_tail=10**6)  # noqa: E731  (tails whole: exact)
    got = dev_eval_all_pairs(x, labels, every, eer_pick)
    assert len(got.rows) == len(want.rows) == 6
    for g, w in zip(got.rows, want.rows, strict=True):
        assert g.threshold == pytest.approx(w.threshold, rel=1e-6)
        assert (g.eval_fmr, g.eval_fnmr) == pytest.approx((w.eval_fmr, w.eval_fnmr))


def test_a_target_far_meets_new_people_near_its_target():
    x, labels = blobs(n=1500, people=150, seed=2)
    d, same, subjects = listed(x, labels)
    got = dev_eval_listed(d, same, subjects, lambda c: pick_threshold(c, "target FAR", target=0.01), partitions=5)
    spread = got.as_dict()["eval_fmr"]
    assert 0.003 < spread["mean"] < 0.03 and spread["sd"] > 0
    assert all(r.dev_fmr <= 0.01 for r in got.rows)


def test_too_few_identities_say_why():
    d, same = np.array([0.1, 0.9, 0.8]), np.array([True, False, False])
    with pytest.raises(ValueError, match="no split"):
        dev_eval_listed(d, same, (np.array(["a", "a", "b"]), np.array(["a", "b", "c"])), eer_pick)


def test_the_calibration_is_fitted_on_dev_and_measured_on_eval():
    from explorer.analysis.calibration import Logistic, Pairs, cllr, min_cllr

    x, labels = blobs(seed=3)
    d, same, (sa, sb) = listed(x, labels)
    row = dev_eval_listed(d, same, (sa, sb), eer_pick, partitions=1).rows[0]
    names = np.unique(labels)
    half = _halves(names, 1, 0)[0]
    a = np.isin(sa, names[half]) & np.isin(sb, names[half])
    b = np.isin(sa, names[~half]) & np.isin(sb, names[~half])
    dev, ev = Pairs.of(d[a & same], d[a & ~same]), Pairs.of(d[b & same], d[b & ~same])
    assert row.dev == "A"
    assert row.eval_cllr == pytest.approx(cllr(Logistic().fit(dev).llr(ev.d), ev))
    assert row.eval_min_cllr == pytest.approx(min_cllr(ev)) and row.eval_min_cllr <= row.eval_cllr
