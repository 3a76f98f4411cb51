"""The collapse warning, on hand-made logs and on a real collapsing run."""

from explorer.training.config import TrainConfig
from explorer.training.setup import split_identities
from explorer.training.trainer import Trainer


def test_collapse_is_told_when_hardest_negatives_shrink_everything_to_a_point():
    from explorer.training.collapse import collapse_warning

    collapsed = [{"loss": 0.2005, "triplets": 32, "d_ap": 0.006, "d_an": 0.007}] * 20
    assert "collapsing" in collapse_warning(collapsed, 0.2)
    assert collapse_warning(collapsed[:19], 0.2) is None  # too few steps to say
    learning = [{"loss": 0.09, "triplets": 32, "d_ap": 0.9, "d_an": 1.3}] * 20
    assert collapse_warning(learning, 0.2) is None
    done = [{"loss": 0.0, "triplets": 32, "d_ap": 0.01, "d_an": 0.9}] * 20  # solved, not collapsed
    assert collapse_warning(done, 0.2) is None
    # and a real one: batch-hard from scratch on the bundled digits collapses within 300 steps
    from explorer.data.digits import load_digits
    from explorer.training.setup import prepare, spec_from_scratch

    ds = load_digits()
    train, val = split_identities(ds.labels, val_fraction=0.25, seed=0)
    spec = spec_from_scratch(ds)
    tr = Trainer(TrainConfig(miner="batch-hard", steps=300, lr=3e-3), prepare(ds, spec, train, val), spec)
    rows = [tr.step() for _ in range(300)]
    assert collapse_warning(rows, 0.2) and rows[-1]["d_an"] < 0.02
