"""EXPLORER_DEVICE: one device choice; CPU where there is no GPU, a clear error for a GPU asked for and absent."""

import numpy as np
import pytest
import torch

from explorer.device import torch_device
from explorer.errors import InputError


def test_auto_is_cuda_only_where_torch_sees_a_gpu(monkeypatch):
    monkeypatch.setenv("EXPLORER_DEVICE", "auto")
    assert torch_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("EXPLORER_DEVICE", "CPU")
    assert torch_device().type == "cpu"


def test_a_device_that_is_not_there_or_not_known_is_an_input_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="sees no CUDA GPU"):
        torch_device("cuda")
    with pytest.raises(InputError, match="choose one of auto, cpu, cuda"):
        torch_device("tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine (run where one is)")
def test_cuda_embeds_as_the_cpu_does(monkeypatch):
    from explorer.faces import descriptor as d
    from explorer.models.checkpoints import load_default_encoder

    items = [np.random.default_rng(k).integers(0, 16, (8, 8)).astype(np.uint8) for k in range(64)]
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    cpu = load_default_encoder().encode(items)
    monkeypatch.setenv("EXPLORER_DEVICE", "cuda")
    gpu = load_default_encoder()
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.encode(items), cpu, atol=1e-4)
    chips = np.random.default_rng(0).integers(0, 255, (8, 150, 150, 3), dtype=np.uint8)
    d.descriptor.cache_clear()
    on_gpu = d.descriptor()(chips)
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    d.descriptor.cache_clear()
    np.testing.assert_allclose(on_gpu, d.descriptor()(chips), atol=1e-4)
    d.descriptor.cache_clear()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine (run where one is)")
def test_a_training_step_on_cuda_is_the_cpus(monkeypatch):
    from training_fixtures import SPEC, vector_data

    from explorer.training.config import TrainConfig
    from explorer.training.trainer import Trainer

    cfg = TrainConfig(miner="semihard", steps=3, lr=1e-3)
    losses = {}
    for device in ("cpu", "cuda"):
        monkeypatch.setenv("EXPLORER_DEVICE", device)
        tr = Trainer(cfg, vector_data(), SPEC)
        assert next(tr.model.parameters()).device.type == device
        losses[device] = [tr.step()["loss"] for _ in range(3)]
        figures = tr.validate()
        assert np.isfinite(figures["auc"])
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-3)
