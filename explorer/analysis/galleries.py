"""The pairs behind the errors at a threshold: the closest impostor pairs accepted and the
farthest genuine pairs rejected, from the exact tails (for the error galleries)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.analysis.scores import PairScores


@dataclass(frozen=True)
class Pair:
    """One pair for a gallery: item indices, distance, and whether it shares a label."""

    a: int
    b: int
    distance: float


def false_accepts(scores: PairScores, threshold: float, limit: int = 12) -> list[Pair]:
    """The closest impostor pairs accepted at ``threshold`` (closest first), from the exact tail."""
    t = scores.impostor
    k = int(np.searchsorted(t.values, threshold, side="right"))
    return [Pair(int(t.a[j]), int(t.b[j]), float(t.values[j])) for j in range(min(k, limit)) if t.a[j] >= 0]


def false_rejects(scores: PairScores, threshold: float, limit: int = 12) -> list[Pair]:
    """The farthest genuine pairs rejected at ``threshold`` (farthest first), from the exact tail."""
    t = scores.genuine
    k = int(np.searchsorted(t.values, threshold, side="right"))
    idx = range(len(t.values) - 1, max(k, len(t.values) - limit) - 1, -1)
    return [Pair(int(t.a[j]), int(t.b[j]), float(t.values[j])) for j in idx if t.a[j] >= 0]
