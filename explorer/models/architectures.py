"""Built-in architectures: a small ConvNet for small images and an MLP for vectors."""

from __future__ import annotations

import torch
from torch import nn

from explorer.errors import InputError
from explorer.models.spec import ModelSpec


class ConvNet(nn.Module):
    """Conv-BN-ReLU blocks (max-pool between) -> global average pool -> linear -> out_dim.

    Global pooling makes it work for any input size (8x8 digits to 112x92 faces).
    """

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (32, 64, 128), out_dim: int = 64):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            c = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.features(x)), 1))


class MLP(nn.Module):
    """Linear-ReLU layers for vector inputs."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...] = (256,), out_dim: int = 64):
        super().__init__()
        dims = [in_dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(dims[-1], out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


ARCHITECTURES = {"convnet": ConvNet, "mlp": MLP}


def build_model(spec: ModelSpec) -> nn.Module:
    """Instantiate the architecture a spec names (weights uninitialised)."""
    cls = ARCHITECTURES.get(spec.architecture)
    if cls is None:
        raise InputError(f"unknown architecture {spec.architecture!r}; built-in: {', '.join(ARCHITECTURES)}")
    params = dict(spec.params)
    for key in ("widths", "hidden"):
        if key in params:
            params[key] = tuple(params[key])
    try:
        return cls(**params, out_dim=spec.out_dim)
    except TypeError as exc:
        raise InputError(f"spec parameters do not fit {spec.architecture}: {exc}") from None
