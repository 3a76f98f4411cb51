"""Subject-bootstrap intervals of FMR / FNMR against a plain loop over drawn subject copies."""

import numpy as np
import pytest

from explorer.analysis.rates import all_pairs_totals, listed_totals, max_min_ratio, subject_intervals


def _loop(sa, sb, mated, err, n_subjects, replicates, seed):
    rng = np.random.default_rng(seed)
    fmr, fnmr = [], []
    for _ in range(replicates):
        c = rng.multinomial(n_subjects, np.full(n_subjects, 1 / n_subjects))
        fm = nm = fr = m = 0
        for k in range(len(sa)):  # every listed pair, once per combination of drawn copies
            times = c[sa[k]] if mated[k] else c[sa[k]] * c[sb[k]]
            if mated[k]:
                m, fr = m + times, fr + times * err[k]
            else:
                nm, fm = nm + times, fm + times * err[k]
        fmr.append(fm / nm)
        fnmr.append(fr / m)
    return tuple(np.percentile(fmr, [2.5, 97.5])), tuple(np.percentile(fnmr, [2.5, 97.5]))


def test_listed_pairs_against_a_plain_loop():
    rng = np.random.default_rng(0)
    n_s, n = 15, 400
    sa = rng.integers(0, n_s, n)
    mated = rng.random(n) < 0.4
    sb = np.where(mated, sa, (sa + rng.integers(1, n_s, n)) % n_s)
    err = rng.random(n) < 0.15
    fm, fr = ~mated & err, mated & err
    got = subject_intervals((sa[fm], sb[fm]), sa[fr], listed_totals(sa, sb, mated), n_s, replicates=80, seed=3)
    ref_fmr, ref_fnmr = _loop(sa, sb, mated, err, n_s, 80, 3)
    assert got.fmr == pytest.approx(ref_fmr, abs=1e-12) and got.fnmr == pytest.approx(ref_fnmr, abs=1e-12)


def test_all_pairs_totals_are_the_listed_totals_of_every_pair():
    sizes = np.array([3, 1, 4, 2])
    y = np.repeat(np.arange(4), sizes)
    i, j = np.triu_indices(len(y), 1)
    listed = listed_totals(y[i], y[j], y[i] == y[j])
    closed = all_pairs_totals(sizes)
    for c in (np.ones(4), np.array([2.0, 0, 1, 1]), np.array([0.0, 3, 0, 1])):
        assert closed[0](c) == pytest.approx(listed[0](c)) and closed[1](c) == pytest.approx(listed[1](c))


def test_max_min_ratio_is_not_printed_as_infinity():
    assert max_min_ratio([0.02, 0.01, None]) == pytest.approx(2.0)
    assert max_min_ratio([0.02, 0.0]) is None and max_min_ratio([0.3]) is None


def test_all_pairs_scores_give_the_intervals_of_every_listed_pair():
    """The closed-form totals from the class sizes equal listing every pair of the items."""
    from explorer.analysis.pairs import all_pairs
    from explorer.analysis.rates import scores_subject_intervals

    rng = np.random.default_rng(1)
    y = rng.integers(10, 22, 120)  # 12 subjects whose names sort as their numbers
    x = rng.normal(size=(120, 3)) + y[:, None] * 0.4
    s = all_pairs(x, y, metric="euclidean", k_tail=7000)
    t = float(np.quantile(s.impostor.values, 0.05))
    got, why = scores_subject_intervals(s, y, t, replicates=40)
    assert why is None
    i, j = np.triu_indices(120, 1)
    d = np.linalg.norm(x[i] - x[j], axis=1)
    mated = y[i] == y[j]
    err = np.where(mated, d > t, d <= t)
    ref_fmr, ref_fnmr = _loop(y[i] - 10, y[j] - 10, mated, err, 12, 40, 0)
    assert got.fmr == pytest.approx(ref_fmr, abs=1e-9) and got.fnmr == pytest.approx(ref_fnmr, abs=1e-9)
    none, why = scores_subject_intervals(s, y, float(s.impostor.cover) + 1.0)
    assert none is None and "tails" in why


@pytest.mark.parametrize(
    "sa, sb, mated, says",
    [
        (["x"] * 40, ["x"] * 40, [True, False] * 20, "1 subject,"),  # items of one folder: one subject
        ([str(k % 9) for k in range(40)], [str(k % 9) for k in range(40)], [True] * 40, "9 subjects, fewer than 10"),
        ([str(k % 12) for k in range(40)], [str(k % 12) for k in range(40)], [True] * 39 + [False], "1 non-mated"),
        ([str(k % 12) for k in range(40)], [str((k + 1) % 12) for k in range(40)], [True] + [False] * 39, "1 mated"),
    ],
)
def test_subjects_that_cannot_carry_a_bootstrap_are_named(sa, sb, mated, says):
    from explorer.analysis.rates import subjects_unusable

    assert says in subjects_unusable(np.array(sa), np.array(sb), np.array(mated))


def test_ten_consistent_subjects_carry_a_bootstrap():
    from explorer.analysis.rates import subjects_unusable

    s = np.array([str(k % 10) for k in range(40)])
    assert subjects_unusable(s, s, np.ones(40, bool)) is None
    other = np.array([str((k + 1) % 10) for k in range(40)])
    assert subjects_unusable(s, other, np.zeros(40, bool)) is None
