"""P x K batches (P identities, K items each) drawn by pytorch-metric-learning's MPerClassSampler,
seeded by the run so that a step always gets the same batch, resumed or not."""

from __future__ import annotations

import threading

import numpy as np
from pytorch_metric_learning import samplers
from pytorch_metric_learning.utils import common_functions as pml_common

_SAMPLER_LOCK = threading.Lock()


class PKBatches:
    """The batch of each step: item ids (P * K,) into the training set.

    PML's sampler draws from its module-level ``NUMPY_RANDOM`` (numpy's global state unless
    replaced) and shuffles its own identity list in place, so each pass of it is drawn under a
    generator seeded by (seed, pass), with the list reset first, under a lock (runs and tests
    share the module).
    """

    def __init__(self, labels: np.ndarray, *, P: int, K: int, seed: int = 0):
        self.P, self.K, self.seed = P, K, seed
        self.size = P * K
        self.sampler = samplers.MPerClassSampler(
            labels, m=K, batch_size=self.size, length_before_new_iter=max(len(labels), self.size * 10)
        )
        self._block: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        """Items in one pass of the sampler (a multiple of the batch size)."""
        return len(self.sampler)

    def batch(self, step: int) -> np.ndarray:
        per = len(self.sampler) // self.size  # batches in one pass
        block, offset = divmod(step, per)
        if self._block is None or self._block[0] != block:
            self._block = (block, self._sample_pass(block).reshape(per, self.size))
        return self._block[1][offset]

    def _sample_pass(self, block: int) -> np.ndarray:
        with _SAMPLER_LOCK:
            saved = pml_common.NUMPY_RANDOM
            pml_common.NUMPY_RANDOM = np.random.RandomState([self.seed, block])
            try:
                self.sampler.labels = sorted(self.sampler.labels_to_indices)
                return np.fromiter(iter(self.sampler), np.int64)
            finally:
                pml_common.NUMPY_RANDOM = saved
