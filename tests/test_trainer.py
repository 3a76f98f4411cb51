"""The trainer: runs that learn, the schedule, weight averaging, stripe embeddings."""

import numpy as np
import pytest
import torch
from training_fixtures import SPEC, STRIPED, image_data, vector_data

from explorer.models.spec import InputSpec, ModelSpec
from explorer.training.config import TrainConfig, TrainData
from explorer.training.evaluation import evaluate
from explorer.training.losses import triplet_loss
from explorer.training.negatives import NoNegatives
from explorer.training.trainer import Trainer


def test_a_proxy_anchor_run_learns_and_resumes_with_its_proxies(tmp_path):
    data = vector_data()
    before = evaluate(data.x_val, data.y_val)["map_at_r"]
    cfg = TrainConfig(loss="proxy-anchor", miner="hnsw", margin=0.1, steps=150, lr=3e-3, augment=False)
    tr = Trainer(cfg, data, SPEC)
    assert isinstance(tr.negatives, NoNegatives) and tr.negatives.miner is None  # proxies need no miner
    assert tr.opt.param_groups[1]["lr"] == pytest.approx(3 * 3e-3)  # the proxies learn faster
    for _ in range(150):
        row = tr.step()
    assert row["triplets"] > 0 and "staleness" not in row
    assert tr.validate()["map_at_r"] > before + 0.1
    again = Trainer(cfg, data, SPEC)
    again.load_state(tr.state())
    assert torch.equal(again.objective.module.proxies, tr.objective.module.proxies) and again.step_no == 150
    x = torch.from_numpy(data.x_train[:32])
    y = torch.from_numpy(data.y_train[:32])
    with torch.no_grad():
        assert float(again.objective.module(again._embed_tensor(x), again.objective.proxy_label[y])) == pytest.approx(
            float(tr.objective.module(tr._embed_tensor(x), tr.objective.proxy_label[y]))
        )


def test_trainer_passes_its_erasing_share_and_zoom_to_the_augmentation(monkeypatch):
    import explorer.training.trainer as trainer_mod

    seen = []
    real = trainer_mod.augment
    monkeypatch.setattr(trainer_mod, "augment", lambda x, g, **kw: seen.append(kw) or real(x, g, **kw))
    spec = ModelSpec(
        "convnet",
        {"in_channels": 1, "widths": [4, 8]},
        InputSpec(kind="image", height=8, width=8, channels=1, mean=(0.5,), std=(0.25,)),
        out_dim=8,
    )
    rng = np.random.default_rng(0)
    data = TrainData(
        rng.normal(size=(24, 1, 8, 8)).astype(np.float32),
        np.repeat(np.arange(6), 4),
        rng.normal(size=(8, 1, 8, 8)).astype(np.float32),
        np.repeat(np.arange(6, 8), 4),
    )
    for erase, zoom in ((0.0, 0.1), (0.5, 0.25)):
        Trainer(TrainConfig(miner="semihard", P=3, K=2, erase=erase, zoom=zoom), data, spec).step()
        assert seen[-1] == {"erase": erase, "scale": zoom}
    assert TrainConfig().erase == 0.0  # off unless asked for (it hurt triplet runs on faces)
    with pytest.raises(ValueError, match="probability"):
        TrainConfig(erase=1.5).check()
    with pytest.raises(ValueError, match="zoom"):
        TrainConfig(zoom=1.0).check()


def test_cosine_schedule_falls_from_lr_to_zero():
    tr = Trainer(TrainConfig(miner="semihard", steps=100, lr=0.01, schedule="cosine"), vector_data(), SPEC)
    assert tr.learning_rate(0) == pytest.approx(0.01)
    assert tr.learning_rate(50) == pytest.approx(0.005)
    assert tr.learning_rate(100) == pytest.approx(0.0, abs=1e-12)
    assert tr.learning_rate(25) == pytest.approx(0.005 * (1 + np.cos(np.pi / 4)))
    tr.step()
    assert tr.opt.param_groups[0]["lr"] == pytest.approx(0.01)  # step 1 ran at the step-0 rate
    assert Trainer(TrainConfig(miner="semihard", lr=0.01), vector_data(), SPEC).learning_rate(99) == 0.01
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear").check()


@pytest.mark.parametrize(
    "miner,loss",
    [
        ("hnsw", "triplet"),
        ("semihard", "triplet"),
        ("batch-hard", "contrastive"),
        ("hnsw", "siamese"),
        ("hnsw-batches", "triplet"),
    ],
)
def test_short_run_improves_validation_map(miner, loss):
    data = vector_data()
    before = evaluate(data.x_val, data.y_val)["map_at_r"]
    tr = Trainer(
        TrainConfig(miner=miner, loss=loss, steps=150, lr=3e-3, augment=False, refresh_every=20, margin=0.3), data, SPEC
    )
    for _ in range(150):
        row = tr.step()
    after = tr.validate()
    assert after["map_at_r"] > before + 0.1, (before, after)
    if miner == "hnsw":
        from explorer.training.negatives import REFRESH_LAG

        # rebuilt every 20 steps in the background, taken 10 steps later: an index is 10 to 30 steps old
        assert row["refreshes"] >= 7 and REFRESH_LAG <= row["staleness"] <= 20 + REFRESH_LAG


def test_weight_averaging_equals_a_hand_loop_and_is_what_validation_sees():
    from explorer.models.architectures import build_model

    data = vector_data()
    cfg = TrainConfig(loss="proxy-anchor", margin=0.1, steps=12, lr=3e-3, ema=0.5, augment=False)
    tr = Trainer(cfg, data, SPEC)
    avg = None
    for n in range(12):  # n: the updates before this one
        tr.step()
        now = {k: v.detach().double().clone() for k, v in tr.model.state_dict().items() if v.is_floating_point()}
        if avg is None:
            avg = now  # the first update copies the weights
        else:
            d = min(0.5, (1 + n) / (10 + n))  # the decay ramps up: 2/11, 3/12, ..., then 0.5
            avg = {k: d * avg[k] + (1 - d) * now[k] for k in avg}
    got = tr.usable_model.state_dict()
    for k, v in avg.items():
        assert torch.allclose(got[k].double(), v, atol=1e-6), k
    assert not torch.allclose(got["net.0.weight"], tr.model.state_dict()["net.0.weight"])
    by_hand = build_model(SPEC)
    by_hand.load_state_dict({k: v.float() for k, v in avg.items()}, strict=False)
    by_hand.eval()
    with torch.no_grad():
        e = torch.nn.functional.normalize(by_hand(torch.from_numpy(data.x_val)), dim=1).numpy()
    assert np.allclose(tr.embed(data.x_val), e, atol=1e-5)
    assert not np.allclose(tr.embed(data.x_val, usable=False), e, atol=1e-3)  # the weights in training
    assert tr.validate()["auc"] == pytest.approx(evaluate(e, data.y_val)["auc"], abs=1e-6)
    again = Trainer(cfg, data, SPEC)  # a resume restores the average too
    again.load_state(tr.state())
    assert np.array_equal(again.embed(data.x_val), tr.embed(data.x_val))
    assert int(again.average.n_averaged) == 12
    with pytest.raises(ValueError, match="ema"):
        TrainConfig(ema=1.0).check()
    assert TrainConfig().ema == 0.0 and Trainer(TrainConfig(miner="semihard"), data, SPEC).average is None


def test_stripe_embeddings_are_pooled_rows_of_the_feature_map_by_hand():
    from explorer.models.architectures import build_model

    torch.manual_seed(0)
    model = build_model(STRIPED).eval()
    x = torch.from_numpy(image_data().x_train[:5])
    with torch.no_grad():
        f = model.features(x)  # (5, 16, 12, 8): 12 rows, 4 per stripe
        by_hand = [model.heads[i](f[:, :, 4 * i : 4 * i + 4].mean(dim=(2, 3))) for i in range(3)]
        parts = model.stripe_embeddings(x)
        out = model(x)
    assert f.shape[2] == 12 and [p.shape for p in parts] == [(5, 4)] * 3
    for got, want in zip(parts, by_hand, strict=True):
        torch.testing.assert_close(got, want)
    want = torch.cat([p / p.norm(dim=1, keepdim=True) for p in by_hand], dim=1) / 3**0.5
    torch.testing.assert_close(out, want)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(5))
    # the feature map must have a row per stripe
    with pytest.raises(ValueError, match="equal stripes"):
        build_model(ModelSpec("convnet", {"stripes": 5}, InputSpec(height=24, width=16), out_dim=12))


@pytest.mark.parametrize("loss", ["proxy-anchor", "triplet"])
def test_each_stripe_gets_its_own_loss(loss, monkeypatch):
    """The step's loss is the mean over stripes of the loss on each stripe's own embedding
    (computed here from the stripe heads, not from slices of the output)."""
    import copy

    data = image_data()
    cfg = TrainConfig(
        loss=loss, miner="semihard", margin=0.1 if loss == "proxy-anchor" else 0.3, augment=False, lr=3e-3
    )
    tr = Trainer(cfg, data, STRIPED)
    assert tr.stripes == 3
    if loss == "proxy-anchor":
        assert len(tr.objective.module) == 3 and tr.objective.module[0].proxies.shape == (
            12,
            4,
        )  # 12 training identities, 4 dims
    idx = np.arange(0, 96, 3)[:32]
    monkeypatch.setattr(tr, "next_batch", lambda: idx)
    before_model, before_proxies = copy.deepcopy(tr.model), copy.deepcopy(tr.objective.module)
    row = tr.step()
    x, y = tr.x[idx], tr.y[idx]
    before_model.train()
    parts = [torch.nn.functional.normalize(p, dim=1) for p in before_model.stripe_embeddings(x)]
    if loss == "proxy-anchor":
        want = np.mean(
            [float(pa(p, tr.objective.proxy_label[y]).detach()) for pa, p in zip(before_proxies, parts, strict=True)]
        )
    else:  # the triplets are mined once, on the whole embedding
        emb = torch.cat(parts, dim=1) / 3**0.5
        triplets = tr.negatives.pml(emb, y)
        want = np.mean([float(triplet_loss(0.3)(p, y, indices_tuple=triplets).detach()) for p in parts])
    assert row["loss"] == pytest.approx(want, rel=1e-4)


def test_a_striped_run_learns_and_resumes_with_its_proxies():
    data = image_data()
    cfg = TrainConfig(loss="proxy-anchor", margin=0.1, steps=150, lr=1e-2, augment=False)
    tr = Trainer(cfg, data, STRIPED)
    before = tr.validate()["map_at_r"]
    assert before < evaluate(data.x_val.reshape(len(data.x_val), -1), data.y_val)["map_at_r"] < 0.6
    for _ in range(150):
        tr.step()
    assert tr.validate()["map_at_r"] > before + 0.15  # 0.25 -> 0.42 (seeded; 0.40-0.64 over seeds 0-3)
    again = Trainer(cfg, data, STRIPED)
    again.load_state(tr.state())
    for a, b in zip(again.objective.module, tr.objective.module, strict=True):
        assert torch.equal(a.proxies, b.proxies)
    np.testing.assert_array_equal(again.embed(data.x_val), tr.embed(data.x_val))


def test_an_index_rebuilt_in_the_background_gives_the_same_run_however_long_it_takes(monkeypatch):
    """The rebuild starts at its step from a copy of the weights and is taken REFRESH_LAG steps
    later: a slow rebuild (the step would have waited) changes nothing in the run."""
    import time

    from explorer.training.miners import HnswMiner

    def run():
        tr = Trainer(
            TrainConfig(miner="hnsw", steps=40, refresh_every=8, lr=3e-3, augment=False), vector_data(), SPEC, threads=1
        )
        for _ in range(40):
            row = tr.step()
        return {k: v.clone() for k, v in tr.model.state_dict().items()}, row, tr.negatives.miner

    fast, row_fast, miner = run()
    build = HnswMiner.build
    monkeypatch.setattr(HnswMiner, "build", lambda self, v: (time.sleep(0.2), build(self, v))[1])
    slow, row_slow, _ = run()
    for k in fast:
        torch.testing.assert_close(fast[k], slow[k], rtol=0, atol=0)
    assert row_fast["refreshes"] == row_slow["refreshes"] == 5  # steps 0 (in the step), 8, 16, 24, 32
    assert miner.refreshed_at == 32
