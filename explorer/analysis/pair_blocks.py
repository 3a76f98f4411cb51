"""The impostor pass as independent block tasks, for engines that run them elsewhere (Ray).

Each task runs its blocks of the pair matrix with the same float32 rows, strips and kernel as the
in-process pass and a running cut of its own, and returns its fixed-bin histogram, its sums and
its candidate pairs. Merged by addition, the histograms are the in-process counts bit for bit;
the candidates hold every pair below the global cut, so the exact float64 tail made from them is
the in-process tail too. (The sums are float sums: equal to rounding, in another order.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from explorer.analysis.pairs import _Blocks, _ImpostorTail, _run_block, block_setup
from explorer.analysis.scores import Tail


@dataclass(frozen=True)
class BlockWork:
    """What every task reads (put in an object store once): rows, norms, labels and the pass's settings."""

    x32: np.ndarray
    sq: np.ndarray
    y: np.ndarray
    form: int
    scale: np.float32
    cap: int
    k: int
    cut: float
    margin: float
    block: int
    base: str
    bins: int


@dataclass(frozen=True)
class BlockResult:
    hist: np.ndarray  # (bins,) int64 impostor counts of the task's blocks
    sums: np.ndarray  # (2,) sum and sum of squares of the task's pair distances (float32 kernel values)
    d: np.ndarray  # candidate pairs (float32 kernel distances) and their rows
    a: np.ndarray
    b: np.ndarray


def plan(x, y, base, n_imp, k, block, scale, bins, rng) -> tuple[BlockWork, list[tuple[int, int]]]:
    """The shared work and every block (i, j) to run, as the in-process pass sets them up."""
    blk, margin, cut, blocks = block_setup(x, y, base, n_imp, k, block, scale, bins, rng, workers=1)
    return BlockWork(blk.x32, blk.sq, blk.y, blk.form, blk.scale, blk.cap, k, cut, margin, block, base, bins), blocks


def run_blocks(work: BlockWork, blocks: list[tuple[int, int]]) -> BlockResult:
    """Blocks of the pair matrix, one after the other, on one BLAS thread (as each in-process worker)."""
    bins = work.bins
    blk = _Blocks(work.x32, work.sq, work.y, work.form, work.scale, np.zeros((1, 2 * bins), np.int64),
                  np.zeros((1, 2)), work.cap)  # fmt: skip
    tail = _ImpostorTail(work.k, work.cut, work.margin)
    with threadpool_limits(1, user_api="blas"):
        for i, j in blocks:
            _run_block(blk, tail, 0, i, j, work.block, work.base)
    if tail.parts:
        tail._merge()
        d, a, b = tail.parts[0]
    else:
        d, a, b = np.empty(0, np.float32), np.empty(0, np.int64), np.empty(0, np.int64)
    return BlockResult(blk.hist[0, :bins].copy(), blk.sums[0].copy(), d, a, b)


def merge(x: np.ndarray, work: BlockWork, results: list[BlockResult]) -> tuple[np.ndarray, Tail, tuple[float, float]]:
    """(impostor histogram, exact impostor tail, sums) of the whole pass from its tasks' results."""
    hist = np.zeros(work.bins, np.int64)
    sums = np.zeros(2)
    tail = _ImpostorTail(work.k, work.cut, work.margin)
    for r in results:
        hist += r.hist
        sums += r.sums
        if len(r.d):
            tail.add(r.d, r.a, r.b)
    return hist, tail.finish(x, work.base), (float(sums[0]), float(sums[1]))


def split(blocks: list[tuple[int, int]], tasks: int) -> list[list[tuple[int, int]]]:
    """Blocks dealt round-robin into ``tasks`` lists (diagonal blocks cost half: dealt evenly too)."""
    return [blocks[t::tasks] for t in range(max(1, min(tasks, len(blocks))))]


class InTasks:
    """The pass as ``tasks`` independent tasks run here one after another: what a cluster runs,
    without one (and the check that splitting the pass changes nothing)."""

    def __init__(self, tasks: int = 4):
        self.tasks = tasks

    def impostor_pass(self, x, y, base, n_imp, k, block, scale, bins, rng, progress):
        work, blocks = plan(x, y, base, n_imp, k, block, scale, bins, rng)
        parts = split(blocks, self.tasks)
        results = []
        for done, part in enumerate(parts, 1):
            results.append(run_blocks(work, part))
            if progress:
                progress(done / len(parts), f"pairs: task {done:,} of {len(parts):,}")
        return merge(x, work, results)
