"""1:N beyond one measurement: the CMC against a loop over every probe, templates against a hand
mean, the N curve growing as distractors join (nested galleries) and its power-law fit."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.one_to_many import cmc, fnir_by_gallery_size, template_comparison, templates


def faces(people=60, per=6, noise=0.9, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 16))
    labels = np.repeat([f"p{k:02d}" for k in range(people)], per)
    x = centres[np.repeat(np.arange(people), per)] + noise * rng.normal(size=(people * per, 16))
    return x.astype(np.float32), labels


def test_cmc_is_a_loop_over_every_probe():
    x, labels = faces()
    enrolled = np.arange(0, len(x), 6)
    probes = np.setdiff1d(np.arange(len(x)), enrolled)
    got = cmc(x, labels, enrolled, probes, metric="euclidean")
    ranks = []
    for p in probes:
        d = np.linalg.norm(x[enrolled] - x[p], axis=1)
        mate = d[labels[enrolled] == labels[p]][0]
        ranks.append(int((d < mate).sum()) + 1)  # 1 = first
    ranks = np.array(ranks)
    assert len(got) == 50
    for r in (1, 5, 20, 50):
        assert got[r - 1] == pytest.approx((ranks <= r).mean())
    assert np.all(np.diff(got) >= 0) and 0 < got[0] < got[-1] <= 1


def test_templates_are_the_mean_of_the_first_k_items():
    x, labels = faces(people=5)
    t, names, probes = templates(x, labels, 3)
    np.testing.assert_allclose(t[2], x[12:15].mean(axis=0), rtol=1e-6)
    assert list(names) == [f"p{k:02d}" for k in range(5)] and len(probes) == 5 * 3
    with pytest.raises(ValueError, match="more than 6"):
        templates(x, labels, 6)


def test_templates_of_more_images_find_more_on_the_same_probes():
    x, labels = faces(noise=1.2, seed=1)
    one, three = template_comparison(x, labels, (1, 3), metric="euclidean")
    assert one.probes == three.probes == 60 * 3  # the same probes: items after the first three
    assert three.rank1 > one.rank1
    enrolled = np.arange(0, len(x), 6)
    probes = np.concatenate([np.arange(k * 6 + 3, k * 6 + 6) for k in range(60)])
    assert one.rank1 == pytest.approx(cmc(x, labels, enrolled, probes, metric="euclidean")[0])


def test_the_miss_rate_grows_with_the_gallery_and_its_fit_extrapolates():
    x, labels = faces(people=120, per=4, noise=1.1, seed=2)
    curve = fnir_by_gallery_size(x, labels, metric="euclidean", probed=20, draws=4)
    assert curve.sizes[0] == 20 and curve.sizes[-1] == 120
    assert np.all(np.diff(curve.fnir) >= 0)  # nested galleries: a distractor can only take a rank
    a, b = curve.fit
    assert b > 0 and curve.extrapolate(1000) == pytest.approx(min(a * 1000**b, 1.0))
    assert curve.extrapolate(1000) >= curve.fnir[-1] * 0.8
