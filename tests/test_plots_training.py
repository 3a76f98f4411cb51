"""The Train page's curves: moving averages, rebuilds as one trace."""

import numpy as np
import pytest


def test_training_curves_are_moving_averages_and_rebuilds_one_trace():
    from explorer import plots

    steps = [{"step": i, "loss": float(i % 7), "active": 0.5, "d_ap": 0.1, "d_an": 0.3} for i in range(1, 5001)]
    fig = plots.training_curves(steps, refreshes=list(range(50, 5001, 50)))
    loss = fig.data[0]
    assert len(loss.x) <= plots.CURVE_POINTS and loss.x[-1] == 5000
    window = 10  # 5000 steps in 1000 points: every 5th, each the mean of the last 10 steps
    for x, v in zip(loss.x, loss.y, strict=True):
        assert v == pytest.approx(np.mean([s % 7 for s in range(x - window + 1, x + 1)]))
    assert not fig.layout.shapes  # no vline per rebuild
    rebuilt = fig.data[-1]
    assert rebuilt.name == "index rebuilt" and set(rebuilt.x[::3]) == set(range(50, 5001, 50))
    long = [{"step": i, "loss": float(i % 7)} for i in range(1, 50_001)]
    x, v = plots.smoothed_curve(np.array([r["step"] for r in long]), np.array([r["loss"] for r in long]))
    assert len(x) == 1000 and x[-1] == 50_000  # 50 steps a point: each the mean of those 50
    assert v[-1] == pytest.approx(np.mean([s % 7 for s in range(49_951, 50_001)]))
