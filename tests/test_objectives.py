"""Losses as objects: the registry, their own parameters in the optimiser and the checkpoint, the
Siamese verifier's validation scores by hand."""

import numpy as np
import pytest
import torch
from training_fixtures import SPEC, vector_data

from explorer.training.config import TrainConfig
from explorer.training.evaluation import evaluate_matrix
from explorer.training.objectives import OBJECTIVES, ProxyAnchor, Siamese
from explorer.training.trainer import Trainer


def test_each_loss_name_builds_its_objective_and_its_parameters_are_trained_and_saved():
    data = vector_data()
    model_params = sum(1 for _ in Trainer(TrainConfig(loss="triplet"), data, SPEC).model.parameters())
    for name, cls in OBJECTIVES.items():
        tr = Trainer(TrainConfig(loss=name, margin=0.1), data, SPEC)
        assert type(tr.objective) is cls and cls.title and cls.help
        groups = tr.opt.param_groups
        own = list(tr.objective.module.parameters()) if tr.objective.module is not None else []
        if cls is ProxyAnchor:  # its own group, at its own rate
            assert len(groups) == 2 and groups[1]["params"] == own and groups[1]["lr_factor"] == cls.lr_factor
        else:  # with the model's (the Siamese head) or none
            assert len(groups) == 1 and len(groups[0]["params"]) == model_params + len(own)
        state = tr.state()
        assert all(f"{cls.prefix}{k}" in state for k in (tr.objective.module.state_dict() if own else {}))
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig(loss="arcface").check()


def test_the_siamese_verifier_is_validated_by_its_own_scores():
    data = vector_data()
    tr = Trainer(TrainConfig(loss="siamese", miner="semihard", augment=False), data, SPEC)
    for _ in range(3):
        tr.step()
    assert isinstance(tr.objective, Siamese)
    e = tr.embed(data.x_val)
    head = tr.objective.module
    with torch.no_grad():  # by hand: row i holds -logit(same) of item i against every item
        want = np.array([[-float(head(torch.from_numpy(e[i : i + 1]), torch.from_numpy(e[j : j + 1]))) for j in range(len(e))]
                         for i in range(len(e))])  # fmt: skip
    np.testing.assert_allclose(tr.objective.dissimilarity(e), want, rtol=1e-5, atol=1e-6)
    got = tr.validate()
    figures = evaluate_matrix(want, data.y_val)
    assert got["auc"] == pytest.approx(figures["auc"], abs=1e-6) and got["map_at_r"] == pytest.approx(
        figures["map_at_r"]
    )
    assert Trainer(TrainConfig(loss="triplet"), data, SPEC).objective.dissimilarity(e) is None  # by distance
