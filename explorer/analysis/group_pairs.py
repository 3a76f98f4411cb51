"""False matches between groups, as the NIST FRTE demographic cards show them: the FMR of the
impostor pairs of every pair of groups (A with A, A with B, ...) at the one global threshold, and
each group's FNMR, with intervals over subjects and the max / min ratio across groups.

Impostor pairs of one group usually match more often than pairs across groups (people of one
group look more alike to a model), so the diagonal of the matrix is where an FMR promise breaks.
A cell with fewer than ``MIN_CELL_PAIRS`` impostor pairs is "not measurable".

Intervals: subjects drawn with replacement (as :mod:`explorer.analysis.rates`), every cell from the
same draws: a subject drawn c times weighs its pairs c, a pair of subjects drawn c_s and c_t times
c_s c_t. Only the erring pairs and the pairs' totals per subject pair are needed, so every pair of
a large set qualifies through its exact tails.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

MIN_CELL_PAIRS = 100
REPLICATES = 1000
SEED = 0


@dataclass(frozen=True)
class GroupPairs:
    groups: list[str]
    non_mated: np.ndarray  # (G, G) impostor pairs of each pair of groups (symmetric)
    false_matches: np.ndarray  # (G, G)
    fmr: np.ndarray  # (G, G), NaN where not measurable
    fmr_interval: np.ndarray  # (G, G, 2)
    mated: np.ndarray  # (G,) genuine pairs of each group
    false_non_matches: np.ndarray  # (G,)
    fnmr: np.ndarray  # (G,), NaN where not measurable
    fnmr_interval: np.ndarray  # (G, 2)
    fmr_ratio: tuple[float | None, tuple[float, float] | None]  # max / min over the groups' own FMR (diagonal)
    fnmr_ratio: tuple[float | None, tuple[float, float] | None]
    subjects: int
    replicates: int

    def as_dict(self) -> dict:
        g = self.groups
        cell = lambda i, j: {  # noqa: E731
            "a": g[i],
            "b": g[j],
            "non_mated": int(self.non_mated[i, j]),
            "false_matches": int(self.false_matches[i, j]),
            "fmr": None if np.isnan(self.fmr[i, j]) else float(self.fmr[i, j]),
            "fmr_interval": None if np.isnan(self.fmr[i, j]) else [float(x) for x in self.fmr_interval[i, j]],
        }
        ratio = lambda r: {"value": r[0], "interval": None if r[1] is None else list(r[1])}  # noqa: E731
        return {
            "cells": [cell(i, j) for i in range(len(g)) for j in range(i, len(g))],
            "fnmr": [
                {
                    "group": g[i],
                    "mated": int(self.mated[i]),
                    "false_non_matches": int(self.false_non_matches[i]),
                    "fnmr": None if np.isnan(self.fnmr[i]) else float(self.fnmr[i]),
                    "fnmr_interval": None if np.isnan(self.fnmr[i]) else [float(x) for x in self.fnmr_interval[i]],
                }
                for i in range(len(g))
            ],
            "fmr_max_min_ratio": ratio(self.fmr_ratio),
            "fnmr_max_min_ratio": ratio(self.fnmr_ratio),
            "subjects": self.subjects,
            "note": f"at the one threshold above; a cell with fewer than {MIN_CELL_PAIRS} impostor pairs is not "
            f"measurable; 95% intervals over subjects ({self.replicates:,} replicates); the ratios compare each "
            "group's impostors among themselves (the diagonal) and each group's genuine pairs",
        }


def _ratio(values: np.ndarray) -> np.ndarray:
    """max / min over the last axis of the measured values (NaN left out); NaN when fewer than two
    are measured or the smallest is 0 (an unbounded ratio)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with nothing measured: NaN, said below
        lo, hi = np.nanmin(values, axis=-1), np.nanmax(values, axis=-1)
    n = np.sum(~np.isnan(values), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((n >= 2) & (lo > 0), hi / lo, np.nan)


def group_pairs(
    subject_group: np.ndarray,
    subject_items: np.ndarray | None,
    false_matches: tuple[np.ndarray, np.ndarray],
    false_non_matches: np.ndarray,
    *,
    listed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    replicates: int = REPLICATES,
    seed: int = SEED,
) -> GroupPairs:
    """subject_group: (S,) each subject's group; subject_items: (S,) items per subject when every
    pair of the items was compared; listed: instead, the (a, b, mated) subject codes of the pairs
    compared (a protocol, a scores file); false_matches: subject codes (a, b) of the impostor pairs
    accepted; false_non_matches: the subject of each genuine pair rejected."""
    names, grp = np.unique(np.asarray(subject_group).astype(str), return_inverse=True)
    G, S = len(names), len(grp)
    onehot = np.zeros((S, G))
    onehot[np.arange(S), grp] = 1.0
    n = None if subject_items is None else np.asarray(subject_items, np.float64)
    if listed is not None:
        listed = (np.asarray(listed[0], np.int64), np.asarray(listed[1], np.int64), np.asarray(listed[2], bool))

    def all_non_mated(c):
        w = (c * n) @ onehot  # weighted items per group
        cross = np.outer(w, w)
        own = ((c * n) ** 2) @ onehot  # a subject with itself is not an impostor pair
        cross[np.diag_indices(G)] = (w * w - own) / 2
        return cross

    def all_mated(c):
        return (c * n * (n - 1) / 2) @ onehot

    def listed_non_mated(c):
        la, lb, y = listed
        out = np.zeros((G, G))
        i = ~y
        np.add.at(out, (np.minimum(grp[la[i]], grp[lb[i]]), np.maximum(grp[la[i]], grp[lb[i]])), c[la[i]] * c[lb[i]])
        return out + np.triu(out, 1).T

    def listed_mated(c):
        la, _, y = listed
        return np.bincount(grp[la[y]], c[la[y]], G)

    non_mated_of, mated_of = (all_non_mated, all_mated) if listed is None else (listed_non_mated, listed_mated)
    fa, fb = (np.asarray(v, np.int64) for v in false_matches)
    fr = np.asarray(false_non_matches, np.int64)
    ga, gb = np.minimum(grp[fa], grp[fb]), np.maximum(grp[fa], grp[fb])

    def counts(c):
        fm = np.zeros((G, G))
        np.add.at(fm, (ga, gb), c[fa] * c[fb])
        fm = fm + np.triu(fm, 1).T
        fnm = np.bincount(grp[fr], c[fr], G)
        nm, m = non_mated_of(c), mated_of(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            return fm / nm, fnm / m

    ones = np.ones(S)
    nm0, m0 = non_mated_of(ones), mated_of(ones)
    fm0 = np.zeros((G, G), np.int64)
    np.add.at(fm0, (ga, gb), 1)
    fm0 = fm0 + np.triu(fm0, 1).T
    fnm0 = np.bincount(grp[fr], minlength=G)
    fmr, fnmr = counts(ones)
    fmr = np.where(nm0 >= MIN_CELL_PAIRS, fmr, np.nan)
    fnmr = np.where(m0 >= MIN_CELL_PAIRS, fnmr, np.nan)
    rng = np.random.default_rng(seed)
    bf, bn = np.empty((replicates, G, G)), np.empty((replicates, G))
    for r in range(replicates):
        c = rng.multinomial(S, np.full(S, 1.0 / S)).astype(np.float64)
        bf[r], bn[r] = counts(c)
    pct = lambda v: np.moveaxis(np.nanpercentile(v, [2.5, 97.5], axis=0), 0, -1)  # noqa: E731
    diag = np.where(np.isnan(fmr.diagonal()), np.nan, bf[:, np.arange(G), np.arange(G)])
    bn_kept = np.where(np.isnan(fnmr), np.nan, bn)

    def ratio(point, draws):
        v = _ratio(point[None])[0]
        if np.isnan(v):
            return None, None
        lo, hi = np.nanpercentile(_ratio(draws), [2.5, 97.5])
        return float(v), (float(lo), float(hi))

    return GroupPairs(
        [str(x) for x in names],
        nm0,
        fm0,
        fmr,
        pct(bf),
        m0,
        fnm0,
        fnmr,
        pct(bn),
        ratio(fmr.diagonal(), diag),
        ratio(fnmr, bn_kept),
        S,
        replicates,
    )


def group_pairs_of_scores(
    scores, labels: np.ndarray, group_of: dict[str, str], threshold: float, *, listed=None, **kw
) -> GroupPairs | str:
    """:func:`group_pairs` of a PairScores at ``threshold``: its exact tails name the erring pairs,
    ``labels`` their identities (subjects), ``group_of`` each identity's group (identities it does
    not name form the group "(no group)"); listed: the (a, b) items of listed pairs, else every pair
    of the items was compared. Returns the figures, or why they cannot be counted."""
    if scores.sampled:
        return "the impostor pairs are a sample, not every pair of the subjects"
    imp, gen = scores.impostor, scores.genuine
    if not (threshold < imp.cover and threshold >= gen.cover):
        return "at this threshold some errors lie in the binned middle, not in the exact tails"
    fa, fr = imp.values <= threshold, gen.values > threshold
    if (imp.a[fa] < 0).any() or (gen.a[fr] < 0).any():
        return "the erring pairs' items are not known"
    names, y = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    groups = np.array([group_of.get(n, "(no group)") for n in names])
    if len(set(groups)) < 2:
        return "every identity is in one group"
    if listed is not None:
        la, lb = y[listed[0]], y[listed[1]]
        kw["listed"] = (la, lb, la == lb)
        items = None
    else:
        items = np.bincount(y, minlength=len(names))
    return group_pairs(groups, items, (y[imp.a[fa]], y[imp.b[fa]]), y[gen.a[fr]], **kw)


def group_pairs_listed(
    d: np.ndarray,
    same: np.ndarray,
    subjects: tuple[np.ndarray, np.ndarray],
    group_of: dict[str, str],
    threshold: float,
    **kw,
) -> GroupPairs | str:
    """:func:`group_pairs` of listed pairs (a scores file): distances ``d`` (accept d <= threshold),
    truth, each side's subject; subjects ``group_of`` does not name form the group "(no group)"."""
    d, same = np.asarray(d, np.float64), np.asarray(same, bool)
    ok = np.isfinite(d)
    names, codes = np.unique(np.r_[subjects[0][ok], subjects[1][ok]].astype(str), return_inverse=True)
    sa, sb, y, dd = codes[: ok.sum()], codes[ok.sum() :], same[ok], d[ok]
    groups = np.array([group_of.get(n, "(no group)") for n in names])
    if len(set(groups)) < 2:
        return "every subject is in one group"
    fm, fr = ~y & (dd <= threshold), y & (dd > threshold)
    return group_pairs(groups, None, (sa[fm], sb[fm]), sa[fr], listed=(sa, sb, y), **kw)
