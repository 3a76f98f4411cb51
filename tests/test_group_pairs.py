"""False matches between groups against hand loops over every pair: counts, rates, and the
bootstrap over subjects replayed pair by pair with the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.group_pairs import MIN_CELL_PAIRS, group_pairs


def people(seed=0, subjects=60):
    rng = np.random.default_rng(seed)
    items = rng.integers(3, 7, subjects)
    group = np.array(["A", "B", "C"])[np.arange(subjects) % 3]
    subject = np.repeat(np.arange(subjects), items)
    # group C's people look alike: their impostor pairs come closer
    centre = rng.normal(size=(subjects, 4)) * np.where(group == "C", 0.5, 1.0)[:, None]
    x = centre[subject] + 0.35 * rng.normal(size=(len(subject), 4))
    return x, subject, group, items


def every_pair(x, subject):
    iu = np.triu_indices(len(x), 1)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))[iu]
    return d, subject[iu[0]], subject[iu[1]]


def hand(d, sa, sb, group, t, c):
    """Cell FMR and group FNMR with subject weights c, by a loop over the pairs."""
    names = sorted(set(group))
    num, den = {}, {}
    gnum, gden = {}, {}
    for di, a, b in zip(d, sa, sb, strict=True):
        w = c[a] * c[b] if a != b else c[a]
        if a == b:
            gden[group[a]] = gden.get(group[a], 0) + w
            gnum[group[a]] = gnum.get(group[a], 0) + w * (di > t)
        else:
            key = tuple(sorted((group[a], group[b])))
            den[key] = den.get(key, 0) + w
            num[key] = num.get(key, 0) + w * (di <= t)
    fmr = {k: num[k] / den[k] for k in den if den[k]}
    fnmr = {g: gnum[g] / gden[g] for g in names if gden.get(g)}
    return fmr, fnmr


def test_counts_rates_and_intervals_equal_a_loop_over_every_pair():
    x, subject, group, items = people()
    d, sa, sb = every_pair(x, subject)
    t = np.quantile(d[sa != sb], 0.02)
    fm = (sa != sb) & (d <= t)
    fr = (sa == sb) & (d > t)
    got = group_pairs(group, items, (sa[fm], sb[fm]), sa[fr], replicates=60)
    ones = np.ones(len(items))
    fmr, fnmr = hand(d, sa, sb, group, t, ones)
    names = got.groups
    for (a, b), v in fmr.items():
        i, j = names.index(a), names.index(b)
        assert got.fmr[i, j] == pytest.approx(v) and got.fmr[j, i] == pytest.approx(v)
        assert got.non_mated[i, j] == ((sa != sb) & (np.isin(group[sa], [a, b]) & np.isin(group[sb], [a, b]))
                                       & ((group[sa] != group[sb]) | (a == b))).sum()  # fmt: skip
    for g, v in fnmr.items():
        assert got.fnmr[names.index(g)] == pytest.approx(v)
    c_idx = names.index("C")
    assert got.fmr[c_idx, c_idx] > got.fmr[names.index("A"), names.index("B")]  # alike people match more
    # the intervals: the same draws replayed pair by pair
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(60):
        c = rng.multinomial(len(items), np.full(len(items), 1.0 / len(items))).astype(float)
        draws.append(hand(d, sa, sb, group, t, c)[0].get(("C", "C"), np.nan))
    lo, hi = np.nanpercentile(draws, [2.5, 97.5])
    assert got.fmr_interval[c_idx, c_idx] == pytest.approx([lo, hi])
    ratio, (rlo, rhi) = got.fmr_ratio
    diag = got.fmr.diagonal()
    assert ratio == pytest.approx(diag.max() / diag.min()) and rlo <= ratio <= rhi


def test_listed_pairs_give_the_same_as_every_pair_listed():
    x, subject, group, items = people(seed=1)
    d, sa, sb = every_pair(x, subject)
    t = np.quantile(d[sa != sb], 0.05)
    fm, fr = (sa != sb) & (d <= t), (sa == sb) & (d > t)
    every = group_pairs(group, items, (sa[fm], sb[fm]), sa[fr], replicates=40)
    listed = group_pairs(group, None, (sa[fm], sb[fm]), sa[fr], listed=(sa, sb, sa == sb), replicates=40)
    np.testing.assert_allclose(listed.fmr, every.fmr)
    np.testing.assert_allclose(listed.fmr_interval, every.fmr_interval)
    np.testing.assert_allclose(listed.fnmr, every.fnmr)


def test_a_cell_with_too_few_pairs_is_not_measurable():
    group = np.array(["A"] * 30 + ["B"])  # one subject of group B: it has no impostor pair of its own
    items = np.full(31, 3)
    got = group_pairs(group, items, (np.array([0]), np.array([1])), np.array([], np.int64), replicates=20)
    b = got.groups.index("B")
    assert np.isnan(got.fmr[b, b]) and got.non_mated[b, b] == 0 < MIN_CELL_PAIRS
    assert got.fmr_ratio == (None, None)  # one measured diagonal: no ratio
    cells = {(c["a"], c["b"]): c for c in got.as_dict()["cells"]}
    assert cells[("B", "B")]["fmr"] is None and cells[("A", "A")]["fmr"] == pytest.approx(1 / (30 * 29 / 2 * 9))


def test_listed_pairs_of_a_scores_file_equal_the_same_pairs_by_codes():
    from explorer.analysis.group_pairs import group_pairs_listed

    x, subject, group, items = people(seed=2)
    d, sa, sb = every_pair(x, subject)
    t = np.quantile(d[sa != sb], 0.03)
    names = np.array([f"s{k}" for k in range(len(items))])
    mapping = {f"s{k}": g for k, g in enumerate(group)}
    got = group_pairs_listed(d, sa == sb, (names[sa], names[sb]), mapping, t, replicates=30)
    fm, fr = (sa != sb) & (d <= t), (sa == sb) & (d > t)
    want = group_pairs(group, items, (sa[fm], sb[fm]), sa[fr], replicates=30)
    np.testing.assert_allclose(got.fmr, want.fmr)
    np.testing.assert_allclose(got.fnmr, want.fnmr)
    assert "one group" in group_pairs_listed(d, sa == sb, (names[sa], names[sb]), {}, t)
