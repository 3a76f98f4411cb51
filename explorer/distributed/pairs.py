"""The all-pairs impostor pass as Ray tasks: the blocks of the pair matrix dealt into tasks that
each return a fixed-bin histogram, sums and candidate pairs (:mod:`explorer.analysis.pair_blocks`),
merged by addition here: the in-process counts and tails, bit for bit."""

from __future__ import annotations

from explorer.analysis.pair_blocks import merge, plan, run_blocks, split
from explorer.distributed.cluster import connected


class RayPairs:
    """``tasks`` tasks of one CPU each (default: twice the cluster's CPUs, so a slow task does
    not hold the rest up)."""

    def __init__(self, tasks: int | None = None, *, address: str | None = None, cpus: int | None = None):
        self.tasks, self.address, self.cpus = tasks, address, cpus

    def impostor_pass(self, x, y, base, n_imp, k, block, scale, bins, rng, progress):
        work, blocks = plan(x, y, base, n_imp, k, block, scale, bins, rng)
        with connected(self.address, cpus=self.cpus) as ray:
            task = ray.remote(num_cpus=1)(run_blocks)
            tasks = self.tasks or 2 * int(ray.cluster_resources().get("CPU", 1))
            shared = ray.put(work)
            pending = [task.remote(shared, part) for part in split(blocks, tasks)]
            results, total = [], len(pending)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                results.append(ray.get(ready[0]))
                if progress:
                    progress(len(results) / total, f"pairs: Ray task {len(results):,} of {total:,}")
        return merge(x, work, results)
