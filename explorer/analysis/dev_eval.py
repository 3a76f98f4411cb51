"""A threshold proven on people it was not picked on (bob.measure's dev / eval, over splits).

The identities are split at random into two halves, A and B; the threshold is picked by the
card's own rule on the pairs within one half (dev) and its FMR and FNMR are counted on the pairs
within the other (eval), both ways (A -> B, B -> A), for ``partitions`` random splits. The spread
of the eval rates is what a team can expect where the threshold meets new people; the in-sample
figure (picked and counted on the same pairs) is beside it on the card. Pairs across the halves
serve neither side. Each split costs half the all-pairs pass (the pairs within each half).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from explorer.analysis.calibration import Logistic, Pairs, cllr, min_cllr
from explorer.analysis.scores import PairScores
from explorer.analysis.thresholds import at_threshold
from explorer.analysis.verification import RocCurve, roc_curve, scores_curve

PARTITIONS = 3  # random splits of the identities; each gives two dev -> eval estimates
SEED = 0

Pick = Callable[[RocCurve], float]  # the card's rule: a curve -> its threshold


@dataclass(frozen=True)
class DevEvalRow:
    split: int
    dev: str  # "A" or "B"
    threshold: float
    dev_fmr: float
    dev_fnmr: float
    eval_fmr: float
    eval_fnmr: float
    eval_mated: int
    eval_non_mated: int
    eval_cllr: float  # the logistic calibration fitted on dev, measured on eval (bits)
    eval_min_cllr: float


@dataclass(frozen=True)
class DevEval:
    rows: list[DevEvalRow]
    identities: int
    skipped: list[str]  # splits that could not be counted, and why

    def spread(self, key: str) -> dict:
        v = np.array([getattr(r, key) for r in self.rows], np.float64)
        return {
            "mean": float(v.mean()),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()),
            "max": float(v.max()),
        }

    def as_dict(self, shown: Callable[[float], float] = float) -> dict:
        return {
            "method": f"identities split at random into halves ({self.identities:,} identities), the threshold picked "
            "by the card's rule on the pairs within one half and counted on the pairs within the other, both ways",
            "estimates": len(self.rows),
            "eval_fmr": self.spread("eval_fmr"),
            "eval_fnmr": self.spread("eval_fnmr"),
            "dev_fmr": self.spread("dev_fmr"),
            "dev_fnmr": self.spread("dev_fnmr"),
            "eval_cllr_bits": self.spread("eval_cllr"),
            "eval_min_cllr_bits": self.spread("eval_min_cllr"),
            "thresholds": [shown(r.threshold) for r in self.rows],
            "skipped": self.skipped,
            "note": "eval: the rates the threshold met on people it was not picked on; expect these in deployment. "
            "Cllr: the logistic calibration fitted on dev, measured on eval",
        }


def _halves(identities: np.ndarray, partitions: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(partitions):
        a = np.zeros(len(identities), bool)
        a[rng.permutation(len(identities))[: len(identities) // 2]] = True
        out.append(a)
    return out


def _row(split: int, dev: str, pick: Pick, dev_half: tuple, eval_half: tuple) -> DevEvalRow:
    (dev_curve, dev_pairs), (eval_curve, eval_pairs) = dev_half, eval_half
    t = float(pick(dev_curve))
    d, e = at_threshold(dev_curve, t), at_threshold(eval_curve, t)
    fitted = Logistic().fit(dev_pairs)
    return DevEvalRow(
        split,
        dev,
        t,
        d.far,
        1 - d.tar,
        e.far,
        1 - e.tar,
        eval_curve.n_genuine,
        eval_curve.n_impostor,
        cllr(fitted.llr(eval_pairs.d), eval_pairs),
        min_cllr(eval_pairs),
    )


def _both_ways(split: int, pick: Pick, halves: dict, skipped: list[str]) -> list[DevEvalRow]:
    """``halves``: side -> (its curve, its Pairs)."""
    rows = []
    for dev, ev in (("A", "B"), ("B", "A")):
        try:
            rows.append(_row(split, dev, pick, halves[dev], halves[ev]))
        except (ValueError, KeyError) as exc:
            skipped.append(f"split {split + 1}, dev {dev}: {exc}")
    return rows


def dev_eval_listed(
    d: np.ndarray,
    same: np.ndarray,
    subjects: tuple[np.ndarray, np.ndarray],
    pick: Pick,
    *,
    partitions: int = PARTITIONS,
    seed: int = SEED,
) -> DevEval:
    """Listed pairs (a protocol or a scores file) whose two sides carry subjects."""
    d, same = np.asarray(d, np.float64), np.asarray(same, bool)
    names, codes = np.unique(np.r_[subjects[0], subjects[1]].astype(str), return_inverse=True)
    ca, cb = codes[: len(d)], codes[len(d) :]
    rows, skipped = [], []
    for s, half in enumerate(_halves(names, partitions, seed)):
        halves = {}
        for side, members in (("A", half), ("B", ~half)):
            inside = members[ca] & members[cb] & np.isfinite(d)
            g, i = d[inside & same], d[inside & ~same]
            if len(g) and len(i):
                halves[side] = (roc_curve(g, i), Pairs.of(g, i))
            else:
                skipped.append(f"split {s + 1}: half {side} has {len(g):,} mated and {len(i):,} non-mated pairs")
        rows += _both_ways(s, pick, halves, skipped)
    if not rows:
        raise ValueError("no split of the identities leaves mated and non-mated pairs on both sides")
    return DevEval(rows, len(names), skipped)


def dev_eval_all_pairs(
    vectors: np.ndarray,
    labels: np.ndarray,
    pairs: Callable[[np.ndarray, np.ndarray], PairScores],
    pick: Pick,
    *,
    partitions: int = PARTITIONS,
    seed: int = SEED,
    progress: Callable[[float, str], None] | None = None,
) -> DevEval:
    """Every pair of the items: ``pairs(vectors, labels)`` gives the PairScores of a subset (the
    operator's all-pairs pass)."""
    labels = np.asarray(labels).astype(str)
    names, y = np.unique(labels, return_inverse=True)
    rows, skipped = [], []
    for s, half in enumerate(_halves(names, partitions, seed)):
        halves = {}
        for side, members in (("A", half), ("B", ~half)):
            keep = members[y]
            if progress:
                progress((2 * s + (side == "B")) / (2 * partitions), f"held-out people: split {s + 1}, half {side}")
            scores = pairs(vectors[keep], labels[keep])
            if scores.n_genuine and scores.n_impostor:
                halves[side] = (scores_curve(scores), Pairs.binned(scores))
            else:
                skipped.append(
                    f"split {s + 1}: half {side} has {scores.n_genuine:,} mated and {scores.n_impostor:,} non-mated pairs"
                )
        rows += _both_ways(s, pick, halves, skipped)
    if not rows:
        raise ValueError("no split of the identities leaves mated and non-mated pairs on both sides")
    return DevEval(rows, len(names), skipped)
