"""The Dataset every source produces: ids, labels, items, thumbnails and what failed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from explorer.data.order import natural_key


def count_labels(labels: np.ndarray) -> dict[str, int]:
    """Items per label, labels in natural order."""
    values, counts = np.unique(np.asarray(labels), return_counts=True)
    return {str(v): int(c) for v, c in sorted(zip(values, counts), key=lambda vc: natural_key(vc[0]))}


@dataclass(frozen=True)
class LoadFailure:
    """An item that could not be loaded, and why (shown to the user, never fatal)."""

    path: str
    reason: str


@dataclass
class Dataset:
    """A labelled collection of items.

    Attributes
    ----------
    name : human-readable source name.
    kind : ``"image"`` (items are uint8 arrays, (H, W) grey or (H, W, 3) RGB) or ``"vector"``
        (items is one float32 array of shape (N, D)).
    ids : (N,) str, unique per item.
    labels : (N,) str, the identity or class of each item.
    items : list of N images, or an (N, D) float32 array.
    thumbnails : list of N small uint8 images (image data only).
    failures : items that were skipped, with the reason.
    content_hash : sha256 over labels, ids and item bytes (the embedding cache key).
    origin : ``"bundled"``, ``"server"`` (a path on the server's disk) or ``"upload"``.
    is_embedding : vectors that are embeddings already (no checkpoint needed).
    faces : for face chips cut from photos, the face each item came from (box, landmarks, count).
    """

    name: str
    kind: Literal["image", "vector"]
    ids: np.ndarray
    labels: np.ndarray
    items: list | np.ndarray
    content_hash: str
    origin: Literal["bundled", "server", "upload"]
    thumbnails: list | None = None
    failures: list[LoadFailure] = field(default_factory=list)
    is_embedding: bool = False
    faces: list | None = None  # photos -> face chips: per item the face that was used (explorer.faces.Face)

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=str)
        self.labels = np.asarray(self.labels, dtype=str)
        n = len(self.ids)
        assert len(self.labels) == n and len(self.items) == n, "ids, labels, items differ in length"

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def classes(self) -> list[str]:
        """Distinct labels in natural order."""
        return sorted({str(v) for v in self.labels}, key=natural_key)

    def class_counts(self) -> dict[str, int]:
        return count_labels(self.labels)

    def warnings(self) -> list[str]:
        """Conditions that limit what can be analysed (shown next to the summary)."""
        out = []
        counts = self.class_counts()
        if len(self) and len(counts) == 1:
            out.append("Only one identity: there are no negative (impostor) pairs to compare.")
        singles = [c for c, k in counts.items() if k == 1]
        if singles and len(counts) > 1:
            out.append(
                f"{len(singles)} identities have a single item, so no positive (genuine) pair: "
                + ", ".join(singles[:10])
                + (" ..." if len(singles) > 10 else "")
            )
        several = sum(1 for f in self.faces or [] if f.faces_found > 1)
        if several:
            out.append(f"{several} photos held several faces: the largest face of each was used.")
        return out


def hash_parts(parts) -> str:
    """sha256 over an iterable of bytes chunks, each length-prefixed (no ambiguity)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()
