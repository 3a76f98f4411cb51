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


def y4m(frames: list[np.ndarray], path: Path, fps: int = 20) -> Path:
    """The frames as a raw YUV 4:2:0 video, the format Chromium's fake camera plays (in a loop)."""
    out = [f"YUV4MPEG2 W{frames[0].shape[1]} H{frames[0].shape[0]} F{fps}:1 Ip A1:1 C420jpeg\n".encode()]
    for f in frames:
        y, u, v = (np.asarray(c) for c in Image.fromarray(f).convert("YCbCr").split())
        out += [b"FRAME\n", y.tobytes(), u[::2, ::2].tobytes(), v[::2, ::2].tobytes()]
    path.write_bytes(b"".join(out))
    return path
