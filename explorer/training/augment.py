"""Image augmentation on training batches: random shift (pad + crop), horizontal flip, brightness.

Hand-written in a few torch lines because torchvision cannot be installed beside the pinned torch
build here (PyPI's torchvision fails to import against it), and these three need nothing more.
"""

from __future__ import annotations

import torch


def augment(x: torch.Tensor, generator: torch.Generator, *, shift: float = 0.1, flip: bool = True,
            brightness: float = 0.2) -> torch.Tensor:
    """A randomly shifted, flipped and brightened copy of a (B, C, H, W) batch (vectors pass through).

    shift: up to this fraction of the size in each direction (edge pixels repeat); brightness: an
    offset of up to this many standard deviations (inputs are normalised) per image.
    """
    if x.ndim != 4:
        return x
    b, _, h, w = x.shape
    out = x
    if shift > 0:
        ph, pw = max(1, round(h * shift)), max(1, round(w * shift))
        padded = torch.nn.functional.pad(x, (pw, pw, ph, ph), mode="replicate")
        dy = torch.randint(0, 2 * ph + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * pw + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(b, x.shape[1], h, w + 2 * pw)
        out = torch.gather(padded, 2, rows)
        cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(b, x.shape[1], h, w)
        out = torch.gather(out, 3, cols)
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        out = torch.where(mask[:, None, None, None], out.flip(3), out)
    if brightness > 0:
        out = out + (torch.rand(b, 1, 1, 1, generator=generator) * 2 - 1) * brightness
    return out
