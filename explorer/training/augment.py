"""Image augmentation on training batches: a random affine warp (shift, scale, small rotation),
horizontal flip, brightness and contrast, random erasing.

Hand-written in a few torch lines because torchvision cannot be installed beside the pinned torch
build here (PyPI's torchvision fails to import against it); ``affine_grid`` + ``grid_sample`` do
the geometry in one resampling.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    shift: float = 0.1,
    scale: float = 0.1,
    rotate: float = 10.0,
    flip: bool = True,
    brightness: float = 0.2,
    contrast: float = 0.2,
    erase: float = 0.0,
) -> torch.Tensor:
    """A randomly warped, flipped and re-lit copy of a (B, C, H, W) batch (vectors pass through).

    shift: up to this fraction of the size in each direction; scale: zoom by up to +- this
    fraction; rotate: up to +- this many degrees (edge pixels repeat outside the image);
    brightness: an offset of up to this many standard deviations (inputs are normalised) per image;
    contrast: a gain of 1 +- this around the image's mean; erase: the probability that an image gets
    one rectangle (20-50 % of its height and of its width, anywhere inside) replaced by noise (random
    erasing, Zhong et al. 2020, as torchvision's RandomErasing: standard-normal values, the inputs'
    own scale); off by default (measured on AT&T faces: see ``TrainConfig.erase``).
    """
    if x.ndim != 4:
        return x
    b = x.shape[0]

    def uniform(span: float) -> torch.Tensor:
        return (torch.rand(b, generator=generator) * 2 - 1) * span

    out = x
    if shift > 0 or scale > 0 or rotate > 0:
        angle, zoom = uniform(math.radians(rotate)), 1 + uniform(scale)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack(
            [torch.stack([cos, -sin, uniform(2 * shift)], 1), torch.stack([sin, cos, uniform(2 * shift)], 1)], 1
        )  # grid units: 2 = full size
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        out = torch.where(mask[:, None, None, None], out.flip(3), out)
    if contrast > 0:
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = (out - mean) * (1 + uniform(contrast))[:, None, None, None] + mean
    if brightness > 0:
        out = out + uniform(brightness)[:, None, None, None]
    if erase > 0:
        out = random_erase(out, generator, erase)
    return out


def random_erase(x: torch.Tensor, generator: torch.Generator, p: float) -> torch.Tensor:
    """Each image of a (B, C, H, W) batch, with probability ``p``: one rectangle of 20-50 % of the
    height by 20-50 % of the width, at a uniform position inside, filled with standard-normal noise
    (the same rectangle in every channel)."""
    b, c, h, w = x.shape
    rand = lambda: torch.rand(b, generator=generator)  # noqa: E731
    hit = rand() < p
    eh, ew = (h * (0.2 + 0.3 * rand())).long().clamp(min=1), (w * (0.2 + 0.3 * rand())).long().clamp(min=1)
    y0, x0 = (rand() * (h - eh + 1)).long(), (rand() * (w - ew + 1)).long()
    rows = torch.arange(h)[None, :]
    cols = torch.arange(w)[None, :]
    inside = (
        ((rows >= y0[:, None]) & (rows < (y0 + eh)[:, None]))[:, :, None]
        & ((cols >= x0[:, None]) & (cols < (x0 + ew)[:, None]))[:, None, :]
        & hit[:, None, None]
    )
    noise = torch.randn(x.shape, generator=generator)
    return torch.where(inside[:, None], noise, x)
