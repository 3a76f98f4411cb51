"""A photo with its faces boxed and named (what Identify shows): drawn with Pillow, a copy of the
photo, never written anywhere."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

KNOWN, UNKNOWN, PENDING = (46, 160, 67), (214, 39, 40), (127, 127, 127)  # a name green, "unknown" red, undecided grey


def boxed(
    image: np.ndarray, boxes: list[tuple[int, int, int, int]], labels: list[str], known: list[bool | None]
) -> np.ndarray:
    """``image`` (RGB) with each box drawn and its label above it (green for a name, red for
    unknown, grey where ``known`` is None: not decided yet); line width and text scale with the photo."""
    img = Image.fromarray(np.asarray(image, np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(img)
    width = max(2, round(max(img.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(img.size) / 40)))  # Pillow's own font: nothing to ship
    for (left, top, right, bottom), text, ok in zip(boxes, labels, known, strict=True):
        colour = PENDING if ok is None else KNOWN if ok else UNKNOWN
        draw.rectangle((left, top, right, bottom), outline=colour, width=width)
        x0, y0, x1, y1 = draw.textbbox((left, top), text, font=font)
        y = max(0, top - (y1 - y0) - 2 * width)
        draw.rectangle((left, y, left + (x1 - x0) + 2 * width, y + (y1 - y0) + 2 * width), fill=colour)
        draw.text((left + width, y + width - (y0 - top)), text, fill=(255, 255, 255), font=font)
    return np.asarray(img)
