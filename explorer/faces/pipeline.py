"""One photo -> one face: detect (dlib's HOG detector, the CNN one as an optional fallback), find
5 landmarks, cut dlib's aligned 150 px chip from the full-resolution photo.

Large photos are scaled down for detection only (the landmarks and the chip come from the full
photo); small ones are upsampled once, since the HOG detector finds faces of about 80 px and up.
With several faces ``acquire`` uses the largest and keeps the count; ``acquire_all`` cuts every one. A photo without a face is a
failure to acquire (FTA), returned as its reason; with ``crops`` (the images are face crops
already, as AT&T's or dlib's chips are) such a photo takes the whole image as the face's box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.data.images import resize, to_channels
from explorer.faces import models

CHIP_SIZE = 150  # what dlib's descriptor takes
CHIP_PADDING = 0.25  # dlib's default around the face


@dataclass(frozen=True)
class FaceSettings:
    detect_max_side: int = 1024  # photos larger than this (longer side, px) are scaled down to it for detection
    upsample_below: int = 400  # photos whose shorter side is below this are upsampled once for detection
    crops: bool = False  # the images are face crops: where no face is found, the whole image is the box
    cnn: bool = False  # where HOG finds none, try dlib's CNN detector (slower, finds more poses)
    # a detection counts as a face when the detector scores it at least this share of the photo's best:
    # beside a clear face, a marginal one is mostly not a face (on the astronaut photo a patch of her
    # suit scores 0.10 against her face's 1.59); real faces alone can score low (AT&T: a tenth below 0.5)
    relative_score: float = 0.5

    def key(self) -> str:
        return (
            f"max{self.detect_max_side}|up{self.upsample_below}|crops{int(self.crops)}|cnn{int(self.cnn)}"
            f"|rel{self.relative_score:g}"
        )


DEFAULT_SETTINGS = FaceSettings()


@dataclass(frozen=True)
class Face:
    """The face that was used: box (left, top, right, bottom) and 5 landmarks (x, y) in the
    photo's pixels, the aligned chip (150, 150, 3) uint8, how many faces the photo held, and
    how it was found ("hog", "cnn" or "whole image")."""

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    chip: np.ndarray
    faces_found: int
    found_by: str


def rgb(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(to_channels(np.asarray(image, np.uint8), 3))


def detect(image: np.ndarray, settings: FaceSettings = DEFAULT_SETTINGS) -> tuple[list[tuple[int, int, int, int]], str]:
    """Face boxes in the photo's pixels, largest first, and the detector that found them."""
    img = rgb(image)
    h, w = img.shape[:2]
    scale = min(1.0, settings.detect_max_side / max(h, w))
    small = img if scale == 1.0 else resize(img, max(1, round(h * scale)), max(1, round(w * scale)))
    upsample = 1 if min(small.shape[:2]) < settings.upsample_below else 0
    with models.LOCK:
        rects, scores, _ = models.hog_detector().run(small, upsample, 0.0)
        found_by = "hog"
        if not rects and settings.cnn:
            found = models.cnn_detector()(small, upsample)
            rects, scores, found_by = [d.rect for d in found], [d.confidence for d in found], "cnn"
    if len(rects):
        best = max(scores)
        rects = [r for r, s in zip(rects, scores, strict=True) if s >= settings.relative_score * best]
    boxes = [(r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale) for r in rects]
    boxes = [(max(0, round(a)), max(0, round(b)), min(w, round(c)), min(h, round(d))) for a, b, c, d in boxes]
    boxes.sort(key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    return boxes, found_by


def acquire(image: np.ndarray, settings: FaceSettings = DEFAULT_SETTINGS) -> Face | str:
    """The photo's (largest) face, aligned; or, when there is none, the reason (an FTA)."""
    got = acquire_all(image, settings, most=1)
    return got if isinstance(got, str) else got[0]


def acquire_all(
    image: np.ndarray, settings: FaceSettings = DEFAULT_SETTINGS, *, most: int | None = None
) -> list[Face] | str:
    """Every face of the photo (or the ``most`` largest), aligned, largest first; or, when there is
    none, the reason (an FTA). Each Face counts all the faces found."""
    img = rgb(image)
    h, w = img.shape[:2]
    boxes, found_by = detect(img, settings)
    if not boxes:
        if not settings.crops:
            return f"no face found ({w} x {h} px)"
        boxes, found_by = [(0, 0, w, h)], "whole image"
    count = len(boxes) if found_by != "whole image" else 0
    return [cut(img, box, count, found_by) for box in boxes[:most]]


def cut(image: np.ndarray, box: tuple[int, int, int, int], count: int = 1, found_by: str = "hog") -> Face:
    """The face in ``box`` of an RGB photo: its 5 landmarks and the aligned chip."""
    import dlib

    with models.LOCK:
        shape = models.landmarks()(image, dlib.rectangle(*box))
        chip = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
    points = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
    return Face(box, points, np.asarray(chip, np.uint8), count, found_by)


def describe(chips: list[np.ndarray]) -> np.ndarray:
    """The 128-d descriptors of aligned chips: (n, 128) float32; same person below ~0.6
    euclidean. dlib's network and weights, run by torch (:mod:`explorer.faces.descriptor`)."""
    from explorer.faces.descriptor import descriptor

    if not chips:
        return np.zeros((0, 128), np.float32)
    return descriptor()(np.stack([np.asarray(c, np.uint8) for c in chips]))


def describe_dlib(chips: list[np.ndarray]) -> np.ndarray:
    """dlib's own call on the same chips: the oracle of :func:`describe` (tests, benchmarks)."""
    if not chips:
        return np.zeros((0, 128), np.float32)
    with models.LOCK:
        out = models.descriptor().compute_face_descriptor([np.ascontiguousarray(c, np.uint8) for c in chips])
    return np.asarray([np.asarray(v) for v in out], np.float32)


def looks_like_faces(images: list[np.ndarray], *, sample: int = 8) -> bool:
    """Whether photos hold faces: a face is found in at least half of (up to) ``sample`` of them,
    spread over the set."""
    if not images:
        return False
    pick = np.linspace(0, len(images) - 1, min(sample, len(images))).round().astype(int)
    found = sum(bool(detect(images[i])[0]) for i in pick)
    return found >= max(1, len(pick) / 2)
