"""dlib's face descriptor network (``dnn_face_recognition_ex.cpp``: a ResNet of 29 convolutions,
5.6 M parameters) as a torch module, with dlib's own weights (read by
:mod:`explorer.models.dlib_format`).

The layout, from the input: conv 32 7x7/2 -> affine -> relu -> max-pool 3x3/2; residual stages of
32 x3, 64 x4, 128 x3, 256 x3 and one more 256 down-sampling block; mean over space; a 128 x 256
linear map without bias. A block is conv 3x3 (stride 1, or 2 without padding where it
down-samples) -> affine -> relu -> conv 3x3 -> affine; a block's input is added to its output (a
down-sampling block adds the input average-pooled 2x2/2), then relu. dlib adds two tensors of
different sizes as if the smaller were padded with zeros at its ends (``tt::add``): channels where
a stage widens, and one row and column where an odd size is halved (8 -> 3 by the block, 4 by the
pooling). "affine" is dlib's batch norm folded into a per-channel scale and shift. Input: an
aligned 150 x 150 RGB chip, (pixel - channel mean) / 256.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.models.dlib_format import Layers

STAGES = (
    (32, 3, False),
    (64, 4, True),
    (128, 3, True),
    (256, 3, True),
    (256, 1, True),
)  # width, blocks, first down-samples


class Affine(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2 if down else 1, padding=0 if down else 1)
        self.aff1 = Affine(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.aff2 = Affine(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.aff2(self.conv2(F.relu(self.aff1(self.conv1(x)))))
        if not self.down:
            return F.relu(y + x)
        return F.relu(padded_sum(y, F.avg_pool2d(x, 2, 2)))


def padded_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b as dlib adds tensors of different sizes: the smaller is padded with zeros at its
    ends (channels, rows, columns)."""
    shape = [max(p, q) for p, q in zip(a.shape, b.shape, strict=True)]

    def pad(t: torch.Tensor) -> torch.Tensor:
        gaps = [shape[d] - t.shape[d] for d in (3, 2, 1)]  # F.pad lists the last dimension first
        return F.pad(t, (0, gaps[0], 0, gaps[1], 0, gaps[2])) if any(gaps) else t

    return pad(a) + pad(b)


class DlibResNet(nn.Module):
    """Aligned 150 px RGB chips (n, 3, 150, 150), float, already (pixel - mean) / 256 -> (n, 128).

    ``trained_blocks``: how many residual blocks at the end learn when fine-tuned (with the output
    map); 0: every layer learns. The others are frozen (no gradient), as dlib trained them."""

    def __init__(self, out_dim: int = 128, trained_blocks: int = 0):
        if out_dim != 128:
            raise ValueError("dlib's descriptor has 128 outputs")
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 7, stride=2)
        self.aff = Affine(32)
        blocks, cin = [], 32
        for width, count, down in STAGES:
            for k in range(count):
                blocks.append(Block(cin, width, down and k == 0))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(256, 128, bias=False)
        if not 0 <= trained_blocks <= len(blocks):
            raise ValueError(f"trained_blocks is 0 (all) to {len(blocks)}")
        self.trained_blocks = trained_blocks
        if trained_blocks:
            frozen = [self.conv, self.aff, *list(self.blocks)[: len(blocks) - trained_blocks]]
            for p in (p for m in frozen for p in m.parameters()):
                p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.aff(self.conv(x))), 3, 2)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))


def from_dlib(layers: Layers) -> DlibResNet:
    """The module with the file's weights, layer for layer in forward order."""
    net = DlibResNet()
    convs = [net.conv] + [c for b in net.blocks for c in (b.conv1, b.conv2)]
    affines = [net.aff] + [a for b in net.blocks for a in (b.aff1, b.aff2)]
    if len(convs) != len(layers.convs) or len(affines) != len(layers.affines):
        raise ValueError(f"the file has {len(layers.convs)} convolutions; this network has {len(convs)}")
    with torch.no_grad():
        for module, got in zip(convs, layers.convs, strict=True):
            if tuple(module.weight.shape) != got.weight.shape or module.stride[0] != got.stride:
                raise ValueError(f"a convolution of shape {got.weight.shape} where {tuple(module.weight.shape)} is")
            if module.padding[0] != got.padding:
                raise ValueError("a convolution's padding differs from dlib's")
            module.weight.copy_(torch.from_numpy(got.weight))
            module.bias.copy_(torch.from_numpy(got.bias))
        for module, got in zip(affines, layers.affines, strict=True):
            module.weight.copy_(torch.from_numpy(got.gamma))
            module.bias.copy_(torch.from_numpy(got.beta))
        net.fc.weight.copy_(torch.from_numpy(np.ascontiguousarray(layers.dense.weight.T)))
    return net.eval()


def chips_tensor(chips: np.ndarray, mean_rgb: tuple[float, float, float]) -> torch.Tensor:
    """(n, 150, 150, 3) uint8 RGB chips -> dlib's input: (pixel - channel mean) / 256, channels first."""
    x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float()
    return (x - torch.tensor(mean_rgb, dtype=torch.float32)[None, :, None, None]) / 256.0


TRAINED_BLOCKS = {0: "all of it", 4: "its last two stages (the 256-wide blocks) and the output map"}


def descriptor_spec(mean_rgb: tuple[float, float, float], faces: str, *, trained_blocks: int = 0, info=None):
    """The ModelSpec of dlib's network: the app's preprocessing ((x / 255 - mean) / std) made
    dlib's ((pixel - channel mean) / 256), raw (not unit-length) outputs compared by euclidean
    distance; ``faces``: how its chips are cut (the face pipeline's restore token)."""
    from explorer.models.spec import InputSpec, ModelSpec

    spec = InputSpec(kind="image", height=150, width=150, channels=3, mean=tuple(m / 255.0 for m in mean_rgb),
                     std=(256.0 / 255.0,) * 3)  # fmt: skip
    return ModelSpec("dlib_resnet", {"trained_blocks": trained_blocks}, spec, out_dim=128, normalize=False,
                     info={"faces": faces, **(info or {})})  # fmt: skip
