"""Thumbnails packed into one image (a sprite atlas, as TF's Embedding Projector sends them), so a
map can show an item's image on hover without a request per point."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Atlas:
    """``jpeg``: the packed image; item i sits in cell (i // cols, i % cols), ``cell`` px square."""

    jpeg: bytes
    cols: int
    cell: int
    count: int


def _square(img: np.ndarray, cell: int) -> Image.Image:
    """The thumbnail scaled to fit a cell (aspect kept, centred on black); small ones scale up sharply."""
    im = Image.fromarray(np.asarray(img, np.uint8)).convert("RGB")
    scale = cell / max(im.size)
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    im = im.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
    out = Image.new("RGB", (cell, cell))
    out.paste(im, ((cell - size[0]) // 2, (cell - size[1]) // 2))
    return out


def build_atlas(thumbnails: Sequence[np.ndarray], *, cell: int = 48, quality: int = 85) -> Atlas:
    n = len(thumbnails)
    cols = max(1, int(np.ceil(np.sqrt(n))))
    rows = max(1, -(-n // cols))
    sheet = Image.new("RGB", (cols * cell, rows * cell))
    for i, t in enumerate(thumbnails):
        sheet.paste(_square(t, cell), ((i % cols) * cell, (i // cols) * cell))
    buf = io.BytesIO()
    sheet.save(buf, format="JPEG", quality=quality)
    return Atlas(buf.getvalue(), cols, cell, n)


def cell_of(atlas: Atlas, i: int) -> np.ndarray:
    """Item i's cell, decoded (what the browser shows on hover)."""
    sheet = np.asarray(Image.open(io.BytesIO(atlas.jpeg)).convert("RGB"))
    r, c = divmod(i, atlas.cols)
    return sheet[r * atlas.cell : (r + 1) * atlas.cell, c * atlas.cell : (c + 1) * atlas.cell]
