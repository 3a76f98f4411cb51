"""Error rates at one threshold beyond a binomial over pairs: intervals over subjects, rates per
group, and the rule of 30.

Pairs reuse subjects, so a false match rate's binomial interval over pairs is too narrow; the
subject bootstrap (see :mod:`explorer.analysis.comparison`) draws subjects with replacement: a
subject drawn c times weighs its mated pairs c, and a non-mated pair of subjects drawn c_a and
c_b times weighs c_a x c_b. Only the erring pairs and the totals per subject are needed, so the
all-pairs summaries (whose tails hold every erring pair, with its items) qualify too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RULE_OF_30 = 30  # Doddington: 30 errors for a 90% confidence that the rate is within +-30%
# fewer subjects than this and a bootstrap over them draws from too few to say anything: every
# replicate repeats a handful of people (and with one subject every replicate is the same draw)
MIN_SUBJECTS = 10
REPLICATES = 1000
SEED = 0

Totals = Callable[[np.ndarray], float]  # replicate's subject counts -> total weight of one kind


def listed_totals(sa: np.ndarray, sb: np.ndarray, mated: np.ndarray) -> tuple[Totals, Totals]:
    """(mated, non-mated) total weights of listed pairs (subject codes sa, sb)."""
    g, i = np.asarray(mated, bool), ~np.asarray(mated, bool)
    return (lambda c: float(c[sa[g]].sum())), (lambda c: float((c[sa[i]] * c[sb[i]]).sum()))


def all_pairs_totals(class_sizes: np.ndarray) -> tuple[Totals, Totals]:
    """(mated, non-mated) totals when every pair of items is compared: a subject of n items has
    n (n - 1) / 2 mated pairs; two subjects n_a x n_b non-mated ones."""
    n = np.asarray(class_sizes, np.float64)
    mated = n * (n - 1) / 2
    return (lambda c: float(c @ mated)), (lambda c: float(((c @ n) ** 2 - (c * c) @ (n * n)) / 2))


def subjects_unusable(subjects_a: np.ndarray, subjects_b: np.ndarray, mated: np.ndarray) -> str | None:
    """Why the pairs' subjects cannot carry a bootstrap over subjects, or None when they can:
    fewer than MIN_SUBJECTS subjects (one subject: every replicate is the same draw, a zero-width
    interval), a non-mated pair whose two items carry the same subject or a mated pair whose
    items carry two (then the subjects are not the identities the truth column speaks of)."""
    sa, sb = np.asarray(subjects_a).astype(str), np.asarray(subjects_b).astype(str)
    y = np.asarray(mated, bool)
    n = len(np.unique(np.r_[sa, sb]))
    if n < MIN_SUBJECTS:
        return (
            f"the pairs carry {n} subject{'s' if n != 1 else ''}, fewer than {MIN_SUBJECTS}: a bootstrap over so "
            "few subjects cannot tell how the rates vary between people"
        )
    same_subject = sa == sb
    if (bad := int((~y & same_subject).sum())) > 0:
        return (
            f"{bad:,} non-mated pair{'s' if bad != 1 else ''} carry the same subject on both sides: the subjects "
            "(read from the item names) are not the identities of the truth column"
        )
    if (bad := int((y & ~same_subject).sum())) > 0:
        return (
            f"{bad:,} mated pair{'s' if bad != 1 else ''} carry two different subjects: the subjects "
            "(read from the item names) are not the identities of the truth column"
        )
    return None


@dataclass(frozen=True)
class SubjectIntervals:
    fmr: tuple[float, float]
    fnmr: tuple[float, float]
    replicates: int
    subjects: int


def subject_intervals(
    false_matches: tuple[np.ndarray, np.ndarray],
    false_non_matches: np.ndarray,
    totals: tuple[Totals, Totals],
    n_subjects: int,
    *,
    replicates: int = REPLICATES,
    seed: int = SEED,
) -> SubjectIntervals:
    """95% percentile intervals of FMR and FNMR over subjects drawn with replacement.

    false_matches: subject codes (a, b) of the non-mated pairs accepted; false_non_matches: the
    subject code of each mated pair rejected; totals: see :func:`listed_totals`."""
    rng = np.random.default_rng(seed)
    fa, fb = (np.asarray(v, np.int64) for v in false_matches)
    fr = np.asarray(false_non_matches, np.int64)
    fmr, fnmr = np.empty(replicates), np.empty(replicates)
    for r in range(replicates):
        c = rng.multinomial(n_subjects, np.full(n_subjects, 1.0 / n_subjects)).astype(np.float64)
        mated, non_mated = totals[0](c), totals[1](c)
        fmr[r] = (c[fa] * c[fb]).sum() / non_mated if non_mated else np.nan
        fnmr[r] = c[fr].sum() / mated if mated else np.nan
    ci = lambda v: tuple(float(x) for x in np.nanpercentile(v, [2.5, 97.5]))  # noqa: E731
    return SubjectIntervals(ci(fmr), ci(fnmr), replicates, n_subjects)


def group_rates(distances: np.ndarray, mated: np.ndarray, group: np.ndarray, threshold: float) -> list[dict]:
    """FMR and FNMR of each group at one threshold (accept distance <= threshold); pairs without
    a finite distance are left out."""
    d, y, g = np.asarray(distances, np.float64), np.asarray(mated, bool), np.asarray(group).astype(str)
    ok = np.isfinite(d)
    rows = []
    for name in np.unique(g[ok]):
        m = ok & (g == name)
        n_m, n_n = int((m & y).sum()), int((m & ~y).sum())
        fm, fnm = int((m & ~y & (d <= threshold)).sum()), int((m & y & (d > threshold)).sum())
        rows.append(
            {
                "group": str(name),
                "mated": n_m,
                "non_mated": n_n,
                "false_matches": fm,
                "false_non_matches": fnm,
                "fmr": fm / n_n if n_n else None,
                "fnmr": fnm / n_m if n_m else None,
            }
        )
    return rows


def max_min_ratio(values: list[float | None]) -> float | None:
    """Largest over smallest of the measured rates; None when fewer than two are measured or
    the smallest is 0 (then the ratio is unbounded: say so, do not print infinity)."""
    v = [x for x in values if x is not None]
    if len(v) < 2 or min(v) == 0:
        return None
    return max(v) / min(v)


def scores_subject_intervals(
    scores, labels: np.ndarray, threshold: float, *, listed: tuple[np.ndarray, np.ndarray] | None = None, **kw
) -> tuple[SubjectIntervals | None, str | None]:
    """Subject intervals of a :class:`~explorer.analysis.scores.PairScores` at ``threshold``
    (accept distance <= threshold): its tails name the erring pairs' items, ``labels`` their
    subjects. listed: the (a, b) items of listed pairs (a protocol); None: every pair of the items
    with these labels was compared. Returns (intervals, None) or (None, why not)."""
    if scores.sampled:
        return None, "not computed: the non-mated pairs are a sample, not every pair of the subjects"
    imp, gen = scores.impostor, scores.genuine
    if not (threshold < imp.cover and threshold >= gen.cover):
        return None, "not computed: at this threshold some errors lie in the binned middle, not in the exact tails"
    fa = imp.values <= threshold
    fr = gen.values > threshold
    if (imp.a[fa] < 0).any() or (gen.a[fr] < 0).any():
        return None, "not computed: the erring pairs' items are not known"
    names, y = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    if len(names) < MIN_SUBJECTS:
        return None, "not computed: " + subjects_unusable(names, names, np.ones(len(names), bool))
    if listed is not None:
        la, lb = y[listed[0]], y[listed[1]]
        totals = listed_totals(la, lb, la == lb)
    else:
        totals = all_pairs_totals(np.bincount(y, minlength=len(names)))
    got = subject_intervals((y[imp.a[fa]], y[imp.b[fa]]), y[gen.a[fr]], totals, len(names), **kw)
    return got, None
