"""A / B figures against sklearn and sort-based references; the paired bootstrap against a plain loop."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from explorer.analysis.comparison import compare, flipped, map_at_r_difference, weighted_figures
from explorer.analysis.verification import eer, roc_curve, tar_at_far

RNG = np.random.default_rng(1)


def _pairs(n=600, subjects=25, rounding=2):
    sa = RNG.integers(0, subjects, n)
    same = RNG.random(n) < 0.4
    sb = np.where(same, sa, (sa + RNG.integers(1, subjects, n)) % subjects)
    d_a = np.round(np.where(same, 0.5, 1.0) + RNG.normal(0, 0.3, n), rounding)  # rounded: many ties
    d_b = np.round(np.where(same, 0.4, 1.0) + RNG.normal(0, 0.3, n), rounding)
    return d_a, d_b, same, (sa.astype(str), sb.astype(str))


def test_unweighted_figures_are_sklearn_and_the_sort_based_curve():
    d, _, same, _ = _pairs(3000)
    f = weighted_figures(d, same)
    assert f["AUC"] == pytest.approx(roc_auc_score(same, -d), abs=1e-12)
    curve = roc_curve(d[same], d[~same])
    assert f["EER"] == pytest.approx(eer(curve)[0], abs=1e-12)
    assert f["TAR@FAR 0.01"] == tar_at_far(curve, 0.01) and f["TAR@FAR 0.001"] == tar_at_far(curve, 0.001)


def test_integer_weights_equal_repeated_pairs():
    d, _, same, _ = _pairs(500)
    w = RNG.integers(0, 4, len(d))
    f, ref = weighted_figures(d, same, w), weighted_figures(np.repeat(d, w), np.repeat(same, w))
    for k in f:
        assert f[k] == pytest.approx(ref[k], abs=1e-12, nan_ok=True)


def _loop_bootstrap(d_a, d_b, same, subjects, replicates, seed):
    """Plain loop: draw subjects with replacement, list every pair of the drawn copies, AUC by sklearn."""
    rng = np.random.default_rng(seed)
    names = np.unique(np.r_[subjects[0], subjects[1]])
    diffs = []
    for _ in range(replicates):
        counts = rng.multinomial(len(names), np.full(len(names), 1.0 / len(names)))
        copies = dict(zip(names, counts, strict=True))
        rows = []
        for k in range(len(same)):
            a, b = subjects[0][k], subjects[1][k]
            times = copies[a] if a == b else copies[a] * copies[b]
            rows += [k] * int(times)
        rows = np.array(rows, int)
        diffs.append(roc_auc_score(same[rows], -d_b[rows]) - roc_auc_score(same[rows], -d_a[rows]))
    return np.percentile(diffs, [2.5, 97.5])


def test_paired_bootstrap_over_subjects_against_a_plain_loop():
    d_a, d_b, same, subj = _pairs(300, subjects=12)
    c = compare({"A": d_a, "B": d_b}, same, subjects=subj, replicates=60, seed=4)
    assert c.over == "subjects" and c.replicates == 60
    assert c.point["A"]["AUC"] == pytest.approx(roc_auc_score(same, -d_a), abs=1e-12)
    assert c.difference["AUC"] == pytest.approx(roc_auc_score(same, -d_b) - roc_auc_score(same, -d_a), abs=1e-12)
    lo, hi = _loop_bootstrap(d_a, d_b, same, subj, 60, 4)
    assert c.difference_interval["AUC"] == pytest.approx((lo, hi), abs=1e-12)


def test_without_subjects_the_bootstrap_draws_pairs_and_says_so():
    d_a, d_b, same, _ = _pairs(200)
    c = compare({"A": d_a, "B": d_b}, same, replicates=30)
    assert c.over.startswith("pairs")
    lo, hi = c.interval["A"]["AUC"]
    assert lo <= c.point["A"]["AUC"] <= hi


def test_pairs_missing_in_one_system_are_left_out_of_both():
    d_a, d_b, same, subj = _pairs(200)
    d_b = d_b.copy()
    d_b[:10] = np.nan
    c = compare({"A": d_a, "B": d_b}, same, subjects=subj, replicates=5)
    assert c.point["A"]["AUC"] == pytest.approx(roc_auc_score(same[10:], -d_a[10:]), abs=1e-12)


def test_map_at_r_difference_is_the_item_weighted_mean_and_a_loop_interval():
    ma, mb = RNG.random(30), RNG.random(30)
    n = RNG.integers(2, 9, 30)
    a, b, (lo, hi) = map_at_r_difference(ma, mb, n, replicates=200, seed=3)
    assert a == pytest.approx((ma * n).sum() / n.sum()) and b == pytest.approx((mb * n).sum() / n.sum())
    rng = np.random.default_rng(3)
    diffs = []
    for c in rng.multinomial(30, np.full(30, 1 / 30), size=200):
        w = c * n
        diffs.append((w * mb).sum() / w.sum() - (w * ma).sum() / w.sum())
    assert (lo, hi) == pytest.approx(tuple(np.percentile(diffs, [2.5, 97.5])), abs=1e-12)


def test_flipped_pairs_are_those_decided_differently():
    d_a, d_b, same, _ = _pairs(400)
    idx, b_right = flipped(d_a, 0.75, d_b, 0.7, same)
    ref = np.flatnonzero((d_a <= 0.75) != (d_b <= 0.7))
    assert sorted(idx) == sorted(ref)
    np.testing.assert_array_equal(b_right, (d_b[idx] <= 0.7) == same[idx])
    assert b_right[: int(b_right.sum())].all()  # the pairs B gets right are listed first


def test_one_subject_gives_no_subject_interval_and_no_zero_width_one():
    """Items of one folder give every pair one subject: every replicate would be the same draw."""
    from explorer.analysis.comparison import comparison_rows

    d_a, d_b, same, _ = _pairs(300)
    one = (np.array(["folder"] * 300), np.array(["folder"] * 300))
    c = compare({"A": d_a, "B": d_b}, same, subjects=one, replicates=40)
    assert c.over.startswith("pairs") and "1 subject" in c.subjects_note
    lo, hi = c.difference_interval["AUC"]
    assert lo < hi  # drawn over pairs: a real spread
    for row in comparison_rows(c):
        for f, text in row.items():
            if f != "system" and "[" in text:
                a, b = text.split("[")[1].rstrip("]").split(", ")
                assert a != b, (f, text)


def test_a_zero_width_interval_is_not_printed_as_one():
    from explorer.analysis.comparison import interval_text

    assert interval_text(0.25, 0.25, 0.25) == "0.2500 (no interval: every replicate gave this value)"
    assert interval_text(0.25, 0.2, 0.3) == "0.2500 [0.2000, 0.3000]"
    assert interval_text(float("nan"), 0.2, 0.3) == "not measurable"
