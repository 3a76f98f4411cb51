"""The bundled default data: scikit-learn's digits (1797 8x8 grey images, 10 classes)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits as _sk_load_digits

from explorer.data.dataset import Dataset, hash_parts
from explorer.data.images import thumbnail


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 8, 8) uint8 images scaled from 0..16 to 0..255, and (1797,) int labels."""
    bunch = _sk_load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    return images, bunch.target.astype(np.int64)


def load_digits() -> Dataset:
    """scikit-learn's digits as an image Dataset (ships inside sklearn; nothing downloaded)."""
    images, target = digits_images()
    labels = target.astype(str)
    ids = [f"digit_{i:04d}" for i in range(len(images))]
    return Dataset(
        name="digits (scikit-learn)",
        kind="image",
        ids=ids,
        labels=labels,
        items=list(images),
        thumbnails=[thumbnail(img) for img in images],
        content_hash=hash_parts([images.tobytes(), labels.astype("U").tobytes()]),
        origin="bundled",
    )
