"""P x K batches: seeded by the run, the same after a resume."""

import numpy as np
from training_fixtures import SPEC, vector_data

from explorer.training.config import TrainConfig
from explorer.training.trainer import Trainer


def test_batches_are_drawn_by_the_runs_seed_and_a_resume_draws_the_same_ones():
    """P x K batches come from PML's MPerClassSampler, which draws from numpy's global state: a run
    seeds its own draws, so that reseeding numpy elsewhere changes nothing and a resume mid-pass
    goes on with the batches the uninterrupted run would have drawn."""
    data = vector_data()
    cfg = TrainConfig(miner="semihard", P=4, K=3, seed=5)

    def batches(tr, n):
        out = []
        for _ in range(n):
            np.random.seed(len(out))  # someone else's use of numpy's global state
            out.append(tr.next_batch())
            tr.step_no += 1
        return out

    first = batches(Trainer(cfg, data, SPEC), 70)
    per = len(Trainer(cfg, data, SPEC).batches) // 12
    assert 17 < per < 35  # a resume in the middle of the first pass; the run goes on into a third
    assert [b.tolist() for b in batches(Trainer(cfg, data, SPEC), 70)] == [b.tolist() for b in first]
    for b in first:  # P identities x K items each
        _, counts = np.unique(data.y_train[b], return_counts=True)
        assert len(b) == 12 and counts.tolist() == [3] * 4
    resumed = Trainer(cfg, data, SPEC)
    resumed.step_no = 17  # as load_state leaves it
    assert [b.tolist() for b in batches(resumed, 53)] == [b.tolist() for b in first[17:]]
    other = batches(Trainer(TrainConfig(miner="semihard", P=4, K=3, seed=6), data, SPEC), 70)
    assert [b.tolist() for b in other] != [b.tolist() for b in first]
