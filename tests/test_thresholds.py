import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from explorer.analysis.thresholds import at_threshold, kfold_accuracy, pick_threshold, proportion_ci
from explorer.analysis.verification import roc_curve

RNG = np.random.default_rng(0)
gen, imp = RNG.normal(1.0, 0.3, 150), RNG.normal(1.8, 0.4, 600)
same = np.r_[np.ones(150, bool), np.zeros(600, bool)]
dist = np.r_[gen, imp]
cands = np.unique(dist)


def _scan(score):
    return max(cands, key=score)


def test_picks_against_scans():
    c = roc_curve(gen, imp)
    assert pick_threshold(c, "max accuracy") == _scan(lambda t: (accuracy_score(same, dist <= t), -t))
    assert pick_threshold(c, "max F1") == _scan(lambda t: (f1_score(same, dist <= t), -t))
    t = pick_threshold(c, "target FAR", target=0.01)
    assert (imp <= t).mean() <= 0.01 and (imp <= cands[cands > t][0]).mean() > 0.01
    t = pick_threshold(c, "target TAR", target=0.9)
    assert (gen <= t).mean() >= 0.9 and (gen <= cands[cands < t][-1]).mean() < 0.9
    cost = lambda t: -(5 * (imp <= t).mean() * 0.5 + 1 * (gen > t).mean() * 0.5)  # noqa: E731
    assert pick_threshold(c, "min cost", cost_fa=5, cost_fr=1, prior_genuine=0.5) == _scan(lambda t: (cost(t), -t))


def test_at_threshold_counts_and_intervals():
    r = at_threshold(roc_curve(gen, imp), 1.3, ci_method="exact")
    assert r.tp == (gen <= 1.3).sum() and r.fp == (imp <= 1.3).sum() and r.tp + r.fn == 150
    assert r.threshold == dist[dist <= 1.3].max()  # the nearest distinct distance at or below
    assert r.far_ci[0] <= r.far <= r.far_ci[1] and r.tar_ci[0] <= r.tar <= r.tar_ci[1]
    assert at_threshold(roc_curve(gen, imp), -5.0).tp == 0  # below every distance: nothing accepted
    lo, hi = proportion_ci(0, 1000, method="exact")  # Clopper-Pearson upper bound for 0/1000
    assert lo == 0 and hi == pytest.approx(1 - 0.025 ** (1 / 1000), rel=1e-6)


def _plain_kfold(d, s, f):
    accs = []
    for k in sorted(set(f)):
        tr = [j for j in range(len(d)) if f[j] != k]
        best = max(sorted(set(d[tr])), key=lambda t: (sum((d[j] <= t) == s[j] for j in tr), -t))
        te = [j for j in range(len(d)) if f[j] == k]
        accs.append(sum((d[j] <= best) == s[j] for j in te) / len(te))
    return np.mean(accs), np.std(accs)


def test_kfold_against_plain_loop():
    d, y = dist[::3], same[::3]
    fold = np.arange(len(d)) % 10
    res = kfold_accuracy(d, y, fold)
    mean, std = _plain_kfold(d, y, fold)
    assert res["accuracy_mean"] == pytest.approx(mean) and res["accuracy_std"] == pytest.approx(std)
    assert res["folds"] == 10


@pytest.mark.parametrize("by", ["target FAR", "target TAR"])
@pytest.mark.parametrize("target", [None, -0.1, 1.5])
def test_bad_targets_are_refused(by, target):
    with pytest.raises(ValueError, match="between 0 and 1"):
        pick_threshold(roc_curve(gen, imp), by, target=target)


def test_unknown_pick_is_refused():
    with pytest.raises(ValueError, match="unknown pick"):
        pick_threshold(roc_curve(gen, imp), "median")
