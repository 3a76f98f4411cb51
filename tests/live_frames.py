"""Camera frames for the live tests and benchmark: real faces (the public-domain test photo, AT&T
people) laid out on a 640 x 480 frame, each face about 120 px, as a webcam sees people at a desk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "tests" / "data" / "astronaut.jpg"
ATT = REPO.parent / "shared" / "data" / "att_faces"
SIZE = (640, 480)


def people(n: int) -> list[tuple[str, Image.Image]]:
    """Up to 4 named faces, each a head-and-shoulders crop: Eileen (the test photo), then AT&T s1, s2, s3."""
    out = [("Eileen", Image.open(PHOTO).convert("RGB").crop((147, 36, 297, 216)))]
    out += [(f"s{k}", Image.open(ATT / f"s{k}" / "1.pgm").convert("RGB")) for k in range(1, n)]
    return out[:n]


def scene(faces: list[Image.Image], size: tuple[int, int] = SIZE, shift: int = 0) -> np.ndarray:
    """The faces on a grey frame: one in the middle, two side by side, up to four in a 2 x 2 grid
    (``shift`` moves them right by that many px, as a person moving)."""
    w, h = size
    canvas = Image.new("RGB", size, (96, 96, 96))
    cols = 1 if len(faces) == 1 else 2
    rows = 1 if len(faces) <= 2 else 2
    cw, ch = w // cols, h // rows
    for k, face in enumerate(faces):
        s = min(cw / face.size[0], ch / face.size[1], 320 / face.size[1])
        im = face.resize((round(face.size[0] * s), round(face.size[1] * s)), Image.Resampling.BICUBIC)
        x, y = (k % cols) * cw + (cw - im.size[0]) // 2 + shift, (k // cols) * ch + (ch - im.size[1]) // 2
        canvas.paste(im, (x, y))
    return np.asarray(canvas)
