"""A dataset of photos -> a dataset of aligned face chips (what the descriptor embeds).

Photos without a face are failures to acquire: listed with their reason and left out. Each chip
keeps the face it came from (box, landmarks, how many faces the photo held), and the chips are
their own thumbnails, so every page shows the face that was used. Results are cached by content
hash (photos + settings + the landmark model): in memory, and on disk for server-side data.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from explorer import config
from explorer.data.dataset import Dataset, LoadFailure
from explorer.data.images import thumbnail
from explorer.errors import InputError
from explorer.faces import models
from explorer.faces.pipeline import DEFAULT_SETTINGS, Face, FaceSettings, acquire
from explorer.fileio import cache_write, touch

Progress = Callable[[float, str], None] | None


def acquisition_key(dataset: Dataset, settings: FaceSettings) -> str:
    parts = f"{dataset.content_hash}|{settings.key()}|{models.file_hash('landmarks')}"
    return hashlib.sha256(parts.encode()).hexdigest()


def acquire_dataset(
    dataset: Dataset, settings: FaceSettings = DEFAULT_SETTINGS, *, progress: Progress = None
) -> Dataset:
    """The faces of a dataset's photos as a dataset of chips (FTAs listed in ``failures``)."""
    if dataset.kind != "image":
        raise InputError("the face descriptor takes photos; these items are vectors")
    n = len(dataset)
    keep, faces, failures = [], [], list(dataset.failures)
    for i, image in enumerate(dataset.items):
        got = acquire(image, settings)
        if isinstance(got, Face):
            keep.append(i)
            faces.append(got)
        else:
            failures.append(LoadFailure(str(dataset.ids[i]), f"failure to acquire: {got}"))
        if progress and (i % 10 == 9 or i == n - 1):
            progress((i + 1) / n, f"faces found in {len(keep):,} of {i + 1:,} photos")
    if not keep:
        hint = "" if settings.crops else "; if these images are face crops already, say so and they are used whole"
        raise InputError(f"no face found in any of the {n:,} photos{hint}")
    return chips_dataset(dataset, keep, faces, failures, acquisition_key(dataset, settings))


def chips_dataset(dataset: Dataset, keep: list[int], faces: list[Face], failures: list, key: str) -> Dataset:
    chips = [f.chip for f in faces]
    return Dataset(
        f"{dataset.name} (faces)", "image", dataset.ids[keep], dataset.labels[keep], chips,
        content_hash=key, origin=dataset.origin, thumbnails=[thumbnail(c) for c in chips], failures=failures,
        faces=faces,
    )  # fmt: skip


class AcquisitionCache:
    """Chip datasets by acquisition key: memory always (bounded), disk when given a directory."""

    def __init__(self, directory: str | Path | None = None, max_memory_entries: int = 4):
        self.directory = Path(directory) / "faces" if directory else None
        self.max_memory_entries = max_memory_entries
        self.disk_note: str | None = None  # why the last entry is not on disk (a full disk), if it is not
        self._memory: OrderedDict[str, Dataset] = OrderedDict()

    def get_or_acquire(self, dataset: Dataset, settings: FaceSettings, *, progress: Progress = None) -> Dataset:
        key = acquisition_key(dataset, settings)
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        path = self.directory / f"{key}.npz" if self.directory else None
        chips = _read(path, dataset, key) if path and path.is_file() else None
        if chips is not None:
            touch(path)
        else:
            chips = acquire_dataset(dataset, settings, progress=progress)
            if path:
                self.disk_note = cache_write(path, _write(chips, dataset), config.settings().max_cache_bytes)
        self._memory[key] = chips
        while len(self._memory) > self.max_memory_entries:
            self._memory.popitem(last=False)
        return chips


def _write(chips: Dataset, source: Dataset) -> bytes:
    where = {str(i): k for k, i in enumerate(source.ids)}
    faces = chips.faces
    buf = io.BytesIO()
    np.savez(
        buf,
        keep=np.array([where[str(i)] for i in chips.ids], np.int64),
        chips=np.stack([f.chip for f in faces]),
        boxes=np.array([f.box for f in faces], np.int64),
        landmarks=np.stack([f.landmarks for f in faces]),
        found=np.array([f.faces_found for f in faces], np.int64),
        found_by=np.array([f.found_by for f in faces]),
        failures=np.array(json.dumps([[f.path, f.reason] for f in chips.failures])),
    )
    return buf.getvalue()


def _read(path: Path, source: Dataset, key: str) -> Dataset | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            faces = [Face(tuple(int(v) for v in b), lm, c, int(n), str(by))
                     for b, lm, c, n, by in zip(z["boxes"], z["landmarks"], z["chips"], z["found"], z["found_by"], strict=True)]  # fmt: skip
            failures = [LoadFailure(p, r) for p, r in json.loads(str(z["failures"]))]
            keep = z["keep"].tolist()
    except (OSError, ValueError, KeyError):
        return None  # a damaged entry is recomputed, never trusted
    return chips_dataset(source, keep, faces, failures, key)
